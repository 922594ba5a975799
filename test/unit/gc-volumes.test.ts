import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectGarbage, type GcTarget } from '../../src/orchestrator/gc.js';
import type { ContainerInfo, VolumeInfo } from '../../src/runtime/types.js';
import type { LedgerEntry } from '../../src/state/store.js';

/**
 * Which named volumes gc takes, against a fake engine and ledger: only this installation's, with a
 * workspace label, whose workspace has no live ledger row (of any kind), no container of ours and no
 * manifest still declaring it. A volume the engine refuses to remove is kept and said; the others go.
 */
const scratch = mkdtempSync(join(tmpdir(), 'berth-gc-volumes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const OWNER = 'me';
const vol = (name: string, labels: Record<string, string>, createdAt: string | null = null): VolumeInfo => ({ name, labels, createdAt });
const mine = (name: string, workspace: string) => vol(name, { 'dev.berth.volume-workspace': workspace, 'dev.berth.owner': OWNER });

function target(volumes: VolumeInfo[], options: { ledger?: Partial<LedgerEntry>[]; containers?: Partial<ContainerInfo>[]; declared?: Record<string, string>; refuse?: string[] } = {}) {
  const removed: string[] = [];
  const events: string[] = [];
  const t: GcTarget = {
    runtime: {
      kind: 'podman',
      list: () => Promise.resolve((options.containers ?? []) as ContainerInfo[]),
      inspect: () => Promise.reject(new Error('absent')),
      remove: () => Promise.resolve(),
      // The engine's filter: every label given must match.
      listVolumes: (labels) => Promise.resolve(volumes.filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))),
      removeVolume: (name) => (options.refuse?.includes(name) ? Promise.reject(new Error(`volume ${name} is in use`)) : (removed.push(name), Promise.resolve())),
    },
    owner: OWNER,
    ledger: { activeEntries: () => (options.ledger ?? []) as LedgerEntry[], markRemoved: () => undefined },
    desired: { declaringManifest: (w) => options.declared?.[w], undeclare: () => undefined },
    record: (event) => events.push(event.message),
  };
  return { t, removed, events };
}

describe('gc of named volumes', () => {
  it('takes only this installation\'s volumes of workspaces that are gone', async () => {
    const manifest = join(scratch, 'berth.yaml');
    writeFileSync(manifest, 'version: 1\nworkspaces:\n  declared:\n    image: x\n');
    const { t, removed, events } = target(
      [
        mine('v-gone', 'gone'),
        mine('v-ledger', 'in-ledger'),
        mine('v-network', 'network-only'),
        mine('v-container', 'has-container'),
        mine('v-declared', 'declared'),
        mine('v-dropped', 'dropped'),
        vol('v-other', { 'dev.berth.volume-workspace': 'gone', 'dev.berth.owner': 'someone-else' }),
        vol('v-no-owner', { 'dev.berth.volume-workspace': 'gone' }),
        vol('v-owner-only', { 'dev.berth.owner': OWNER }),
        vol('v-plain', {}),
      ],
      {
        ledger: [{ kind: 'container', workspace: 'in-ledger', name: 'berth-in-ledger' }, { kind: 'network', workspace: 'network-only', name: 'berth-network-only' }],
        containers: [{ name: 'berth-has-container', id: 'c1', labels: { 'dev.berth.workspace': 'has-container', 'dev.berth.managed': 'true', 'dev.berth.owner': OWNER } }],
        declared: { declared: manifest, dropped: manifest },
      },
    );
    const dry = await collectGarbage(t);
    expect(dry.volumes.map((v) => v.name)).toEqual(['v-dropped', 'v-gone']);
    expect(removed).toEqual([]);
    const applied = await collectGarbage(t, { apply: true });
    expect(applied.volumes.map((v) => [v.name, v.error])).toEqual([
      ['v-dropped', undefined],
      ['v-gone', undefined],
    ]);
    expect(removed).toEqual(['v-dropped', 'v-gone']);
    expect(events.filter((e) => e.includes('volume'))).toEqual(['gc removed the volume v-dropped: its workspace dropped no longer exists.', 'gc removed the volume v-gone: its workspace gone no longer exists.']);
  });

  it('a volume the engine refuses to remove is kept with the reason; the others still go; no volumes where the runtime has none', async () => {
    const { t, removed } = target([mine('a', 'x'), mine('b', 'y')], { refuse: ['a'] });
    const report = await collectGarbage(t, { apply: true });
    expect(report.volumes).toEqual([
      { name: 'a', workspace: 'x', reason: 'its workspace x no longer exists', error: 'volume a is in use' },
      { name: 'b', workspace: 'y', reason: 'its workspace y no longer exists' },
    ]);
    expect(removed).toEqual(['b']);
    const { kind, list, inspect, remove } = t.runtime;
    expect((await collectGarbage({ ...t, runtime: { kind, list, inspect, remove } }, { apply: true })).volumes).toEqual([]);
  });
});

describe('gc: the grace of a first up, and compose services', () => {
  const ago = (minutes: number): string => new Date(Date.now() - minutes * 60_000).toISOString();

  it('keeps what a first up made moments ago (its ledger entry comes after): younger than the grace', async () => {
    const { t } = target([vol('young', { 'dev.berth.volume-workspace': 'w1', 'dev.berth.owner': OWNER }, ago(1)), vol('old', { 'dev.berth.volume-workspace': 'w2', 'dev.berth.owner': OWNER }, ago(11)), mine('undated', 'w3')]);
    expect((await collectGarbage(t)).volumes.map((v) => v.name)).toEqual(['old', 'undated']);
    expect((await collectGarbage(t, { graceMs: 0 })).volumes.map((v) => v.name)).toEqual(['old', 'undated', 'young']);
  });

  it("takes this installation's compose services of gone workspaces, never a live one's nor another's", async () => {
    const service = (name: string, workspace: string, owner: string, createdAt: string): Partial<ContainerInfo> => ({ name, id: name, createdAt, labels: { 'dev.berth.compose-workspace': workspace, 'dev.berth.compose-owner': owner } });
    const removedContainers: string[] = [];
    const { t, events } = target([], {
      ledger: [{ kind: 'container', workspace: 'alive', name: 'berth-alive' }],
      containers: [service('db-gone', 'gone', OWNER, ago(30)), service('db-alive', 'alive', OWNER, ago(30)), service('db-theirs', 'gone', 'someone-else', ago(30)), service('db-young', 'fresh', OWNER, ago(1))],
    });
    t.runtime.remove = (name) => (removedContainers.push(name), Promise.resolve());
    const report = await collectGarbage(t, { apply: true });
    expect(report.services).toEqual([{ name: 'db-gone', workspace: 'gone', reason: 'its workspace gone no longer exists' }]);
    expect(removedContainers).toEqual(['db-gone']);
    expect(events).toContain('gc removed the compose service db-gone: its workspace gone no longer exists.');
  });
});
