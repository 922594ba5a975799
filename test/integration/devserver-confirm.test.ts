import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { OciRuntime, type OciKind } from '../../src/runtime/oci/oci-runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

const PORT = 8000;

/**
 * `dev.list` (GET /dev-servers?scan=true) over several workspaces on a real engine: one that still
 * answers costs no exec, and what has stopped is never confirmed: a server killed behind Berth's
 * back is crashed, a container stopped behind its back takes its server with it. What a connect
 * cannot see (another process took the dead server's port) a full scan does.
 */
describe.each<OciKind>(['podman', 'docker'])('%s: confirming dev servers across workspaces', (kind) => {
  const env = engineEnv();
  const inner = new OciRuntime(kind, { env });
  /** Which containers an exec went to, in order (the scans are execs). */
  const execs: string[] = [];
  const counted = new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      if (key === 'exec') return (container: string, ...rest: unknown[]) => (execs.push(container), (value as (...a: unknown[]) => unknown).call(target, container, ...rest));
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  }) as Runtime;
  const token = randomUUID().slice(0, 8);
  const [fine, killed, stopped, usurped] = ['fine', 'killed', 'stopped', 'usurped'].map((role) => `dc-${role}-${token}`) as [string, string, string, string];
  const all = [fine, killed, stopped, usurped];
  const scratch = mkdtempSync(join(tmpdir(), `berth-confirm-${kind}-`));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  let berth: Berth;
  const containerOf = new Map<string, string>();
  const states = async (options?: { full?: boolean }): Promise<Record<string, string>> =>
    Object.fromEntries((await berth.dev.list(undefined, options)).map((s) => [s.workspace, s.state]));

  beforeAll(async () => {
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), 'confirm\n');
    berth = new Berth(counted, { kind, source: 'flag', reports: [] }, { home, owner: randomUUID(), env, userHome: join(scratch, 'user'), store: Store.open(home) });
    await Promise.all(
      all.map(async (ws) => {
        await berth.up(ws, { root, image: TEST_IMAGE });
        containerOf.set(ws, (await inner.inspect(containerNameFor(ws))).id);
        const ready = await berth.dev.start(ws, 'web', { command: ['python3', '-m', 'http.server', String(PORT)], wait: true });
        if (ready.state !== 'running') throw new Error(`${ws}: ${JSON.stringify(ready)}`);
      }),
    );
  }, 180_000);

  afterAll(async () => {
    for (const ws of all) await inner.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
    await berth.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('confirms servers that answer on their running containers without an exec', async () => {
    execs.length = 0;
    expect(await states()).toEqual(Object.fromEntries(all.map((ws) => [ws, 'running'])));
    expect(execs).toEqual([]);
  });

  it('never confirms a server that stopped: killed behind its back it is crashed; its container stopped, it is stopped', async () => {
    const pgidOf = (ws: string): string => String(berth.dev.get(ws, 'web')?.pgid);
    await inner.exec(containerOf.get(killed) ?? '', ['sh', '-c', 'kill -KILL -"$1"', 'sh', pgidOf(killed)], { workspaceProcesses: true });
    await inner.stop(containerOf.get(stopped) ?? '');
    // Behind Berth's back: the server's group killed, another process serving on its port at once.
    await inner.exec(containerOf.get(usurped) ?? '', ['sh', '-c', `kill -KILL -"$1"; setsid python3 -m http.server ${String(PORT)} >/dev/null 2>&1 &`, 'sh', pgidOf(usurped)], { workspaceProcesses: true });
    await waitForAnswer(berth.dev.get(usurped, 'web')?.url ?? '');
    execs.length = 0;
    expect(await states()).toEqual({ [fine]: 'running', [killed]: 'crashed', [stopped]: 'stopped', [usurped]: 'running' });
    // The one that answers where its server was is vouched for by the connect (no exec in it or `fine`).
    expect(execs.filter((c) => c === containerOf.get(fine) || c === containerOf.get(usurped))).toEqual([]);
    expect(execs.filter((c) => c === containerOf.get(killed)).length).toBeGreaterThan(0);
  });

  it('a full scan sees what a connect cannot: the port answers, but not from the server', async () => {
    expect((await states({ full: true }))[usurped]).toBe('crashed');
    expect(berth.dev.get(fine, 'web')?.state).toBe('running');
  });
});

/** Polls until the URL answers (deadline 20 s). */
async function waitForAnswer(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error(`${url} never answered`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
