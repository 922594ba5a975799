import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { BerthError } from '../../src/errors.js';
import { Reconciler } from '../../src/orchestrator/reconcile.js';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { countingRuntime } from '../support/counting-runtime.js';

/**
 * The reconciler in host mode, the reduced runtime: no images, no container addresses. One list per
 * cycle still, no image lookups, and a workspace whose record vanished is recreated; an exec probe
 * runs on the host in the workspace folder.
 */
describe('reconcile: host mode', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-reconcile-host-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'root');
  mkdirSync(root);
  const manifest = join(scratch, 'berth.yaml');
  const token = randomUUID().slice(0, 8);
  const ids = [`rh-${token}-a`, `rh-${token}-b`];
  const { runtime, calls } = countingRuntime(new HostRuntime({ stateDir: join(scratch, 'host-state') }));
  const berth = new Berth(runtime, { kind: 'host', source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
  let clock = Date.parse('2026-11-23T12:00:00Z');
  const reconciler = new Reconciler({ manifest, open: () => Promise.resolve(berth), now: () => clock, env: {} });
  writeFileSync(manifest, `version: 1\nworkspaces:\n${ids.map((id) => `  ${id}:\n    root: ${root}\n    health: { exec: [test, -f, ok], interval: 1s, retries: 1 }\n`).join('')}`);

  afterAll(async () => {
    await berth.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('creates, observes with one list and no image lookups, recreates a vanished workspace, probes on the host', async () => {
    const first = await reconciler.runOnce();
    expect(first.findings.map((f) => `${f.summary} ${f.outcome ?? f.verdict}`)).toEqual(ids.map((id) => `create ${id} fixed`));

    await runtime.remove(containerNameFor(ids[1] ?? ''), { force: true });
    writeFileSync(join(root, 'ok'), 'yes\n');
    calls.length = 0;
    clock += 1_000;
    const second = await reconciler.runOnce();
    expect(second.findings.map((f) => `${f.summary} ${f.outcome ?? f.verdict}`)).toEqual([`create ${ids[1] ?? ''} fixed`]);
    const before = calls.findIndex((c) => c.method === 'observe'); // ensure()'s own look, for the create
    expect(calls.slice(0, before).map((c) => c.method)).toEqual(['list', 'exec']);
    expect(berth.eventLog({ type: 'health.healthy' }).map((e) => e.workspace)).toEqual([ids[0]]);
  });

  it('reports the workspaces of a runtime that fails, and reconciles the others', async () => {
    // A runtime whose engine is down: every call fails as an unreachable engine does.
    const down = new Proxy(new HostRuntime({ stateDir: join(scratch, 'down-state') }), {
      get: (target, property, receiver): unknown =>
        property === 'kind' || property === 'capabilities'
          ? Reflect.get(target, property, receiver)
          : () => Promise.reject(new BerthError('E_RUNTIME_UNAVAILABLE', 'the engine does not answer')),
    });
    const other = new Berth(down, { kind: 'host', source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
    const elsewhere = `rh-${token}-elsewhere`;
    writeFileSync(manifest, `version: 1\nworkspaces:\n  ${ids[0] ?? ''}:\n    root: ${root}\n  ${elsewhere}:\n    root: ${root}\n    runtime: docker\n`);
    const split = new Reconciler({ manifest, open: (choice) => Promise.resolve(choice === 'docker' ? other : berth), now: () => clock, env: {} });
    try {
      const report = await split.runOnce();
      expect(report.error).toBeNull();
      expect(report.findings.map((f) => `${f.summary} ${f.outcome ?? f.verdict}: ${f.why}`)).toEqual([
        `remove ${ids[1] ?? ''} fixed: no longer declared in the manifest`,
        `cannot manage ${elsewhere} block: host failed: the engine does not answer`,
      ]);
    } finally {
      await other.close();
    }
  });
});
