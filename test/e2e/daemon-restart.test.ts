import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { DevServer } from '../../src/client/index.js';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait-for.js';

const ENGINE = 'docker';

async function get(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(3000) }).then(
    (r) => r.status,
    () => 0,
  );
}

/**
 * kill -9 the daemon while workspaces, dev servers and an egress proxy run; start it again on the
 * same $BERTH_HOME. The lock is free (the kernel dropped it), and everything is reported as it
 * really is: what kept running as running, a server that died meanwhile as crashed, every event kept.
 */
describe(`berthd restart after kill -9 on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-restart-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), '<h1>still here</h1>\n');
  const env = engineEnv();
  const plain = `rs-${run8}`;
  const fenced = `rs-eg-${run8}`;
  const args = ['--runtime', ENGINE, '--liveness-interval', '1'];
  let daemon: RunningDaemon | undefined;

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    for (const ws of [plain, fenced]) await run([ENGINE, 'rm', '-f', `berth-${ws}`], { env, okExitCodes: 'any' });
    await run([ENGINE, 'network', 'rm', `berth-net-${fenced}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('recovers workspaces, dev servers, egress and events from SQLite and the engine', async () => {
    const first = await startDaemon(home, env, args);
    daemon = first;
    const c1 = first.client;
    await c1.up(plain, { root, image: TEST_IMAGE });
    await c1.up(fenced, { root, image: TEST_IMAGE, egress: { allow: ['registry.npmjs.org'] } });
    const [webPort, apiPort] = [await freePort(), await freePort()];
    const web = await c1.startDevServer(plain, 'web', { command: ['python3', '-m', 'http.server', String(webPort)] }, { wait: true });
    const api = await c1.startDevServer(plain, 'api', { command: ['python3', '-m', 'http.server', String(apiPort)] }, { wait: true });
    expect([web.state, api.state]).toEqual(['running', 'running']);
    expect(await get(web.url ?? '')).toBe(200);
    const proxies = (await c1.health()).egressListeners;
    expect(proxies).toHaveLength(1);
    const workspacesBefore = await c1.listWorkspaces();
    const lastSeqBefore = (await c1.events()).at(-1)?.seq ?? 0;

    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toBeNull();
    // A crash leaves its socket file and record behind; neither may block the next daemon.
    expect(existsSync(join(home, 'berth.sock'))).toBe(true);
    // While no daemon runs, one server dies behind everyone's back.
    await run([ENGINE, 'exec', `berth-${plain}`, 'sh', '-c', 'kill -KILL -"$1"', 'sh', String(api.pgid)], { env });

    const second = await startDaemon(home, env, args);
    daemon = second;
    const c2 = second.client;
    expect(second.pid).not.toBe(first.pid);
    // The same workspaces in the same states; only when they were observed differs.
    const withoutTime = (list: typeof workspacesBefore) => list.map(({ observedAt: _observedAt, ...record }) => record);
    expect(withoutTime(await c2.listWorkspaces())).toEqual(withoutTime(workspacesBefore));
    expect((await c2.health()).egressListeners).toEqual(proxies);
    // The liveness loop (every second here) finds the dead one without anyone asking.
    const servers: DevServer[] = await waitFor(
      async () => {
        const list = await c2.listDevServers({ workspace: plain });
        return list.find((s) => s.name === 'api')?.state === 'crashed' ? list : null;
      },
      { timeout: 10_000, interval: 200, message: 'the api server recorded crashed' },
    );
    expect(servers.find((s) => s.name === 'api')).toMatchObject({ state: 'crashed', url: null });
    expect(servers.find((s) => s.name === 'web')).toMatchObject({ state: 'running', pgid: web.pgid, url: web.url });
    expect(await get(web.url ?? '')).toBe(200);
    const events = await c2.events();
    expect(events.filter((e) => e.seq <= lastSeqBefore)).toHaveLength(lastSeqBefore);
    expect(events.filter((e) => e.type === 'daemon.started').map((e) => e.data?.['pid'])).toEqual([first.pid, second.pid]);
    expect(events.some((e) => e.type === 'devserver.crashed' && e.workspace === plain)).toBe(true);
    // And it still serves: the crashed server restarts through the new daemon.
    expect(await c2.restartDevServer(plain, 'api', { wait: true })).toMatchObject({ state: 'running', restarts: 1 });

    // The container stopped behind Berth's back took its servers along: recorded stopped once, no
    // failed scan every second after.
    const mark = (await c2.events()).at(-1)?.seq ?? 0;
    await run([ENGINE, 'stop', '-t', '1', `berth-${plain}`], { env });
    await waitFor(async () => !(await c2.listDevServers({ workspace: plain })).some((s) => s.state === 'running'), { timeout: 10_000, interval: 200, message: 'no server running' });
    expect((await c2.listDevServers({ workspace: plain })).map((s) => s.state)).toEqual(['stopped', 'stopped']);
    // Deliberate: two more liveness passes (1 s apart) to prove the stop is recorded once, no failed scans.
    await sleep(2500);
    const after = (await c2.events({ after: mark, workspace: plain })).map((e) => e.type);
    expect(after.filter((t) => t === 'devserver.stopped')).toHaveLength(2);
    expect(after).not.toContain('devserver.scan-failed');
  });
});
