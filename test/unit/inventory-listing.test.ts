import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerBrief, ImageInfo, Runtime } from '../../src/runtime/types.js';
import type { LedgerEntry } from '../../src/state/ledger.js';
import { DRIFT_FRESH_MS, DRIFT_REUSE_MS, Inventory } from '../../src/workspace/inventory.js';
import { LABELS } from '../../src/workspace/labels.js';
import type { WorkspaceSpec } from '../../src/workspace/spec.js';

/**
 * What one listing costs, counted at the seams it crosses: engine calls (a fake runtime) and ledger
 * queries (a fake ledger). Issue 17: a listing of N workspaces is one ledger query and one engine
 * list, never a call per workspace, and a long-lived daemon does not redo the drift checks of every
 * workspace for every request.
 */
const OWNER = 'owner-1';
const IMAGE = 'berth-workspace:test';

const scratch = mkdtempSync(join(tmpdir(), 'berth-inventory-'));

function world(size: number, root = '/src/app') {
  const calls: string[] = [];
  let clock = 1_000_000;
  let hash = 'h1';
  const names = Array.from({ length: size }, (_, i) => `berth-ws-${String(i).padStart(3, '0')}`);
  const spec = { root, image: IMAGE, env: {}, mounts: [], labels: { team: 'a' } } as unknown as WorkspaceSpec;
  const entries: LedgerEntry[] = names.map((name, i) => ({
    id: i + 1, kind: 'container', runtime: 'docker', name, resourceId: `c${String(i)}`, workspace: name.slice('berth-'.length),
    specHash: 'h1', spec, createdAt: '2026-12-03T00:00:00.000Z', removedAt: null,
  }));
  const brief = (name: string): ContainerBrief => ({
    id: name, name, state: 'running', image: IMAGE, imageId: 'sha256:img', ip: '10.0.0.2', ports: [],
    labels: { [LABELS.managed]: 'true', [LABELS.owner]: OWNER, [LABELS.workspace]: name.slice('berth-'.length), [LABELS.specHash]: hash },
  });
  const runtime = {
    kind: 'docker',
    capabilities: { images: true, isolation: 'container' },
    listBrief: (): Promise<ContainerBrief[]> => {
      calls.push('engine:listBrief');
      return Promise.resolve(names.map(brief));
    },
    list: () => Promise.reject(new Error('list: the brief list should be used')),
    inspect: (name: string) => {
      calls.push(`engine:inspect ${name}`);
      return Promise.reject(new Error('not expected'));
    },
    imageInspect: (ref: string): Promise<ImageInfo> => {
      calls.push(`engine:imageInspect ${ref}`);
      return Promise.resolve({ id: 'sha256:img' } as ImageInfo);
    },
  } as unknown as Runtime;
  const ledger = {
    activeEntries: () => {
      calls.push('ledger:activeEntries');
      return entries;
    },
  };
  const workspaces = {
    hasDrifted: (_id: string, container: { labels: Record<string, string> }) => {
      calls.push('drift');
      return container.labels[LABELS.specHash] !== 'h1';
    },
  };
  const inventory = new Inventory({ runtime, ledger, owner: OWNER, workspaces, now: () => clock });
  return {
    inventory,
    calls,
    tick: (ms: number) => (clock += ms),
    relabel: (value: string) => (hash = value),
    take: (): string[] => calls.splice(0),
  };
}

const count = (calls: readonly string[], prefix: string): number => calls.filter((c) => c.startsWith(prefix)).length;

describe('a listing of N workspaces (issue 17)', () => {
  it.each([20, 200])('is one ledger query and one engine list at %i workspaces, the image asked while the engine lists', async (size) => {
    const w = world(size);
    const listed = await w.inventory.list();
    expect(listed).toHaveLength(size);
    expect(listed.every((s) => s.state === 'running' && s.labels['team'] === 'a')).toBe(true);
    const calls = w.take();
    expect(count(calls, 'ledger:')).toBe(1);
    expect(count(calls, 'engine:listBrief')).toBe(1);
    expect(count(calls, 'engine:inspect')).toBe(0);
    // One lookup for the one image all of them use, started before the list (in parallel with it).
    expect(calls.filter((c) => c.startsWith('engine:'))).toEqual([`engine:imageInspect ${IMAGE}`, 'engine:listBrief']);
    expect(count(calls, 'drift')).toBe(size);
  });

  it('answers a second listing within DRIFT_FRESH_MS from one engine list: no image lookup, no drift recomputed, and says how fresh', async () => {
    const w = world(200);
    const first = await w.inventory.list();
    w.take();
    w.tick(1_500);
    const second = await w.inventory.list();
    expect(w.take()).toEqual(['ledger:activeEntries', 'engine:listBrief']);
    // The drift verdicts are the first listing's: the summary is as old as they are.
    expect(second[0]?.observedAt).toBe(first[0]?.observedAt);
    expect(Date.parse(second[0]?.observedAt ?? '')).toBe(1_000_000);
  });

  it('asks the image again after DRIFT_FRESH_MS but reuses the verdicts made from the same inputs until DRIFT_REUSE_MS, and checks at once when the container changed', async () => {
    const w = world(20);
    await w.inventory.list();
    w.take();
    w.tick(DRIFT_FRESH_MS);
    const soon = await w.inventory.list();
    let calls = w.take();
    expect(count(calls, 'engine:imageInspect')).toBe(1);
    expect(count(calls, 'drift')).toBe(0);
    expect(Date.parse(soon[0]?.observedAt ?? '')).toBe(1_000_000);

    w.tick(DRIFT_REUSE_MS - DRIFT_FRESH_MS);
    const later = await w.inventory.list();
    calls = w.take();
    expect(count(calls, 'drift')).toBe(20);
    expect(Date.parse(later[0]?.observedAt ?? '')).toBe(1_000_000 + DRIFT_REUSE_MS);

    w.tick(10);
    w.relabel('h2'); // the containers were recreated from another spec: not the verdicts' inputs any more
    const changed = await w.inventory.list();
    expect(count(w.take(), 'drift')).toBe(20);
    expect(changed.every((s) => s.state === 'drifted')).toBe(true);
  });

  it('checks drift again at once when what the mount plan reads changed (the root now resolves elsewhere)', async () => {
    const real = join(scratch, 'real');
    const other = join(scratch, 'other');
    const root = join(scratch, 'root');
    mkdirSync(real);
    mkdirSync(other);
    symlinkSync(real, root);
    const w = world(20, root);
    await w.inventory.list();
    w.take();
    w.tick(1_000);
    await w.inventory.list();
    expect(count(w.take(), 'drift')).toBe(0);
    rmSync(root);
    symlinkSync(other, join(scratch, 'root.next'));
    renameSync(join(scratch, 'root.next'), root);
    await w.inventory.list();
    expect(count(w.take(), 'drift')).toBe(20);
  });
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));
