import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DevServer } from '../../src/devserver/types.js';
import { stampEvent } from '../../src/events.js';
import { freshSupervision, Store } from '../../src/state/store.js';

/** One repository per table, over one connection: each is tested through a real (throwaway) state.db. */
const scratch = mkdtempSync(join(tmpdir(), 'berth-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let store: Store;
beforeEach(() => {
  store = Store.open(':memory:');
});
afterEach(() => store.close());

function server(workspace: string, name: string, env: Record<string, string> = {}): DevServer {
  return { workspace, name, command: ['npm', 'run', 'dev'], cwd: '/workspace', env, port: null, pgid: 42, state: 'running', url: 'http://127.0.0.1:3000', detectedPort: 3000, bridgePgid: null, bridgeSlot: null, exitCode: null, startedAt: '2026-01-01T00:00:00.000Z', restarts: 0 };
}

const egressRecord = (workspace: string, token = 'tok') => ({
  workspace,
  runtime: 'podman' as const,
  token,
  policy: { allow: ['example.com:443'], deny: [] },
  network: `berth-net-${workspace}`,
  bridge: 'br-1',
  proxyHost: '10.0.0.1',
  proxyPort: 3128,
});

describe('store.ledger', () => {
  it('records an intent, confirms it with the engine id, and closes it on removal without its env', () => {
    const id = store.ledger.recordIntent({ kind: 'container', runtime: 'podman', name: 'berth-a', workspace: 'a', specHash: 'h1', spec: { image: 'x', env: { KEY: 'secret' } } });
    expect(store.ledger.activeEntries('podman')).toMatchObject([{ id, name: 'berth-a', resourceId: null, workspace: 'a', specHash: 'h1', removedAt: null }]);
    store.ledger.confirmCreated(id, 'engine-1');
    expect(store.ledger.activeEntries()[0]?.resourceId).toBe('engine-1');
    expect(store.ledger.runtimeOf('berth-a')).toBe('podman');
    expect(store.ledger.activeEntries('docker')).toEqual([]);

    store.ledger.markRemoved('podman', 'container', 'berth-a');
    expect(store.ledger.activeEntries()).toEqual([]);
    expect(store.ledger.runtimeOf('berth-a')).toBeUndefined();
  });

  it('keeps the spec last asked for on the live container entry only', () => {
    store.ledger.recordIntent({ kind: 'container', runtime: 'docker', name: 'berth-b', workspace: 'b', spec: { image: 'old' } });
    store.ledger.recordIntent({ kind: 'network', runtime: 'docker', name: 'berth-b', workspace: 'b' });
    store.ledger.recordDesired('docker', 'berth-b', { image: 'new' });
    expect(store.ledger.activeEntries().map((e) => [e.kind, e.spec])).toEqual([
      ['container', { image: 'new' }],
      ['network', null],
    ]);
  });
});

describe('store.events', () => {
  it('appends in sequence and filters by seq, workspace, type (with sub-types) and limit', () => {
    expect(store.events.lastEventSeq()).toBe(0);
    const at = new Date('2026-01-01T00:00:00.000Z');
    const first = store.events.appendEvent(stampEvent({ type: 'workspace.created', workspace: 'a', message: 'one', data: { n: 1 } }, at));
    store.events.appendEvent(stampEvent({ type: 'workspaces', workspace: 'b', message: 'two' }, at));
    const third = store.events.appendEvent(stampEvent({ type: 'workspace', workspace: 'b', message: 'three' }, new Date('2026-01-02T00:00:00.000Z')));
    expect(store.events.lastEventSeq()).toBe(third);
    expect(store.events.events({ type: 'workspace' }).map((e) => e.message)).toEqual(['one', 'three']);
    expect(store.events.events({ workspace: 'b', afterSeq: first }).map((e) => e.message)).toEqual(['two', 'three']);
    expect(store.events.events({ since: '2026-01-02T00:00:00.000Z' }).map((e) => e.message)).toEqual(['three']);
    expect(store.events.events({ limit: 1 })).toEqual([{ seq: first, time: at.toISOString(), type: 'workspace.created', level: 'info', workspace: 'a', message: 'one', data: { n: 1 } }]);
  });
});

describe('store.devServers', () => {
  it('registers, updates in place (registration order kept) and deletes dev servers', () => {
    store.devServers.putDevServer(server('a', 'web'));
    store.devServers.putDevServer(server('a', 'api'));
    store.devServers.putDevServer(server('b', 'web'));
    store.devServers.putDevServer({ ...server('a', 'web'), state: 'crashed', exitCode: 3, restarts: 1 });
    expect(store.devServers.devServers('a').map((s) => [s.name, s.state, s.exitCode, s.restarts])).toEqual([
      ['web', 'crashed', 3, 1],
      ['api', 'running', null, 0],
    ]);
    expect(store.devServers.devServers()).toHaveLength(3);
    store.devServers.deleteDevServer('a', 'web');
    expect(store.devServers.devServers('a').map((s) => s.name)).toEqual(['api']);
    expect(store.devServers.devServers('b')[0]).toEqual(server('b', 'web'));
  });
});

describe('store.egress', () => {
  it('keeps one record per workspace, replaced on put, gone on delete', () => {
    store.egress.putEgress(egressRecord('b'));
    store.egress.putEgress(egressRecord('a'));
    store.egress.putEgress({ ...egressRecord('b', 'tok2'), policy: { allow: [], deny: ['*'] } });
    expect(store.egress.egress().map((r) => [r.workspace, r.token, r.policy])).toEqual([
      ['a', 'tok', { allow: ['example.com:443'], deny: [] }],
      ['b', 'tok2', { allow: [], deny: ['*'] }],
    ]);
    expect(store.egress.egress('a')[0]).toMatchObject({ ...egressRecord('a'), updatedAt: expect.any(String) as unknown });
    store.egress.deleteEgress('a');
    expect(store.egress.egress('a')).toEqual([]);
  });
});

describe('store.declared', () => {
  it('maps workspaces to the manifest that declared them; setDeclared replaces the manifest\'s whole set', () => {
    store.declared.setDeclared('/m1.yaml', ['b', 'a']);
    store.declared.setDeclared('/m2.yaml', ['c']);
    expect(store.declared.declaredBy('/m1.yaml')).toEqual(['a', 'b']);
    store.declared.setDeclared('/m1.yaml', ['a']);
    expect(store.declared.declaredBy('/m1.yaml')).toEqual(['a']);
    expect(store.declared.declaringManifest('c')).toBe('/m2.yaml');
    expect(store.declared.declaringManifest('b')).toBeUndefined();
    // A workspace belongs to one manifest: the last to declare it.
    store.declared.setDeclared('/m2.yaml', ['c', 'a']);
    expect(store.declared.declaringManifest('a')).toBe('/m2.yaml');
    store.declared.undeclare('c');
    expect(store.declared.declaredBy('/m2.yaml')).toEqual(['a']);
  });
});

describe('store.supervision', () => {
  it('answers a fresh record until one is put, and holds only when the hold changes', () => {
    expect(store.supervision.supervision('a')).toEqual(freshSupervision('a'));
    expect(store.supervision.supervision('a', 'web')).toEqual(freshSupervision('a', 'web'));
    const record = { ...freshSupervision('a', 'web'), failures: 2, nextAttemptAt: '2026-01-01T00:00:02.000Z', lastError: 'boom', restarts: 1, health: 'unhealthy' as const, probeFailures: 3, lastProbeAt: '2026-01-01T00:00:00.000Z' };
    store.supervision.putSupervision(record);
    expect(store.supervision.supervision('a', 'web')).toEqual(record);
    expect(store.supervision.supervision('a')).toEqual(freshSupervision('a'));
    store.supervision.setHeld('a', 'web', true);
    expect(store.supervision.supervision('a', 'web')).toEqual({ ...record, held: true });
    store.supervision.setHeld('a', '', false); // already released: nothing written
    expect(store.supervision.supervision('a')).toEqual(freshSupervision('a'));
  });
});

describe('Store', () => {
  function seed(s: Store, workspace: string): void {
    s.ledger.recordIntent({ kind: 'container', runtime: 'podman', name: `berth-${workspace}`, workspace, spec: { image: 'x', env: { KEY: 'secret' } } });
    s.ledger.recordIntent({ kind: 'container', runtime: 'podman', name: `berth-${workspace}-old`, workspace, spec: { image: 'x', env: { KEY: 'old-secret' } } });
    s.devServers.putDevServer(server(workspace, 'web', { KEY: 'secret' }));
    s.egress.putEgress(egressRecord(workspace));
  }

  it('forgetSecrets clears the env of removed ledger rows and dev servers and drops the egress row, of that workspace only', () => {
    seed(store, 'a');
    seed(store, 'b');
    store.ledger.markRemoved('podman', 'container', 'berth-a');
    store.forgetSecrets('a');
    expect(store.ledger.activeEntries().map((e) => [e.name, e.spec])).toEqual([
      ['berth-a-old', { image: 'x', env: { KEY: 'old-secret' } }], // live: kept as it is
      ['berth-b', { image: 'x', env: { KEY: 'secret' } }],
      ['berth-b-old', { image: 'x', env: { KEY: 'old-secret' } }],
    ]);
    expect(store.devServers.devServers().map((s) => [s.workspace, s.env])).toEqual([
      ['a', {}],
      ['b', { KEY: 'secret' }],
    ]);
    expect(store.egress.egress().map((r) => r.workspace)).toEqual(['b']);
  });

  it('forgetSecrets is one transaction across the three tables: a failure in the last leaves the first two as they were', () => {
    const home = join(scratch, 'atomic');
    const opened = Store.open(home);
    try {
      seed(opened, 'a');
      // Another connection to the same file: an old removed row that still holds its env, and a
      // trigger that makes the egress delete (forgetSecrets' last step) fail.
      const DatabaseConstructor = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
      const other = new DatabaseConstructor(join(home, 'state.db'));
      other.exec(`UPDATE ledger SET removed_at = '2026-01-01T00:00:00.000Z' WHERE name = 'berth-a-old'`);
      other.exec(`CREATE TRIGGER refuse BEFORE DELETE ON egress BEGIN SELECT RAISE(ABORT, 'refused'); END`);
      expect(() => opened.forgetSecrets('a')).toThrow('refused');
      const old = other.prepare(`SELECT spec_json FROM ledger WHERE name = 'berth-a-old'`).get() as { spec_json: string };
      expect(JSON.parse(old.spec_json)).toEqual({ image: 'x', env: { KEY: 'old-secret' } });
      expect(opened.devServers.devServers('a')[0]?.env).toEqual({ KEY: 'secret' });
      other.exec('DROP TRIGGER refuse');
      opened.forgetSecrets('a');
      const cleared = other.prepare(`SELECT spec_json FROM ledger WHERE name = 'berth-a-old'`).get() as { spec_json: string };
      other.close();
      expect(JSON.parse(cleared.spec_json)).toEqual({ image: 'x' });
      expect(opened.devServers.devServers('a')[0]?.env).toEqual({});
      expect(opened.egress.egress('a')).toEqual([]);
    } finally {
      opened.close();
    }
  });

  it('a store opened again reads what each repository wrote to state.db', () => {
    const home = join(scratch, 'shared');
    const first = Store.open(home);
    first.ledger.recordIntent({ kind: 'container', runtime: 'docker', name: 'berth-c', workspace: 'c' });
    first.events.appendEvent(stampEvent({ type: 'workspace.created', workspace: 'c', message: 'made' }));
    first.close();
    const second = Store.open(home);
    try {
      expect(second.ledger.runtimeOf('berth-c')).toBe('docker');
      expect(second.events.events({ workspace: 'c' }).map((e) => e.message)).toEqual(['made']);
    } finally {
      second.close();
    }
  });
});
