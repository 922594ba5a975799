import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../support/free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { tcpProbe } from '../../src/devserver/answering.js';
import { SCAN_SCRIPT, parseScan } from '../../src/devserver/scan.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { expectCode } from '../support/expect-code.js';
import { waitFor } from '../support/wait-for.js';

/** The host's Vite install, mounted read-only into workspaces at the same path. */
const NODE_MODULES = join(import.meta.dirname, '../../node_modules');
const VITE_BIN = join(NODE_MODULES, 'vite/bin/vite.js');


/** Where a test expects no answer, it waits this long for one. */
const NOT_SERVING_MS = 2000;

/**
 * GET with a bound: some port proxies hold a connection while nothing listens yet. 10 s, not less:
 * through a published port and an in-workspace bridge, a first request on a loaded 2-core CI machine
 * took over 2 s (status 0 after a restart, seen once in CI on the Apple double).
 */
async function get(url: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(
    async (r) => ({ status: r.status, body: await r.text() }),
    () => ({ status: 0, body: '' }),
  );
}

/**
 * Dev servers on a real runtime with real servers: python's http.server, a node server bound to
 * 127.0.0.1 only, two in one workspace, stop, restart, a crash, and a registry that outlives the
 * process that wrote it.
 */
export function devServerSuite(label: string, connect: () => Promise<{ runtime: Runtime; image: string }>): void {
  describe(`dev servers: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const ws = `dev-${run}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-dev-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<h1>served by berth</h1>\n');
    let runtime: Runtime;
    let berth: Berth;
    const open = (): Berth =>
      new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: 'f0e1d2c3-b4a5-4697-8899-aabbccddeeff', env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });

    beforeAll(async () => {
      const target = await connect();
      runtime = target.runtime;
      if (!(await runtime.ensureSystem({ start: true })).running) throw new Error(`${label} is not usable`);
      berth = open();
      await berth.up(ws, { root, image: target.image, mounts: [`${NODE_MODULES}:ro`] });
    });

    afterAll(async () => {
      if (!runtime) return;
      for (const server of await berth.dev.list(ws).catch(() => [])) await berth.dev.stop(ws, server.name).catch(() => undefined);
      await runtime.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    });

    let webPort = 0;
    it("serves python's http.server on a URL the host opens", async () => {
      webPort = await freePort();
      const started = await berth.dev.start(ws, 'web', { command: ['python3', '-m', 'http.server', String(webPort)] });
      expect(started).toMatchObject({ state: 'starting', pgid: expect.any(Number) as unknown });
      const ready = await berth.dev.waitUntilReady(ws, 'web');
      expect(ready).toMatchObject({ state: 'running', detectedPort: webPort });
      expect(await get(ready.url ?? '')).toMatchObject({ status: 200, body: expect.stringContaining('served by berth') as unknown });
    });

    let apiPort = 0;
    it('bridges a node server bound to 127.0.0.1 only, and gives two servers their own ports', async () => {
      apiPort = await freePort();
      const script = `require('http').createServer((q, s) => s.end('api ok')).listen(${String(apiPort)}, '127.0.0.1')`;
      await berth.dev.start(ws, 'api', { command: ['node', '-e', script] });
      const api = await berth.dev.waitUntilReady(ws, 'api');
      const web = berth.dev.get(ws, 'web');
      expect(api).toMatchObject({ state: 'running', detectedPort: apiPort });
      expect(api.url).not.toBe(web?.url);
      expect(await get(api.url ?? '')).toEqual({ status: 200, body: 'api ok' });
      expect((await get(web?.url ?? '')).status).toBe(200);
    });

    it('stops for real: the port is free and no process of the group is left', async () => {
      const before = berth.dev.get(ws, 'web');
      const stopped = await berth.dev.stop(ws, 'web');
      expect(stopped).toMatchObject({ state: 'stopped', url: null });
      const container = (await runtime.inspect(containerNameFor(ws))).id;
      const scan = parseScan((await runtime.exec(container, ['sh', '-c', SCAN_SCRIPT, 'sh', '/tmp'])).stdout);
      expect(scan.listeners.some((l) => l.port === webPort)).toBe(false);
      expect([...scan.groups.values()]).not.toContain(before?.pgid);
      expect((await get(before?.url ?? '', NOT_SERVING_MS)).status).not.toBe(200);
    });

    it('restarts the registered command and serves again', async () => {
      await berth.dev.restart(ws, 'web');
      const again = await berth.dev.waitUntilReady(ws, 'web');
      expect(again).toMatchObject({ state: 'running', restarts: 1 });
      expect((await get(again.url ?? '')).status).toBe(200);
    });

    it('runs a real Vite dev server bound to 127.0.0.1, from the host package mounted in', async () => {
      const port = await freePort();
      await berth.dev.start(ws, 'vite', { command: ['node', VITE_BIN, '--port', String(port), '--strictPort', '--host', '127.0.0.1'] });
      const ready = await berth.dev.waitUntilReady(ws, 'vite');
      expect(ready, JSON.stringify(ready)).toMatchObject({ state: 'running', detectedPort: port });
      const page = await get(ready.url ?? '');
      expect(page.status).toBe(200);
      expect(page.body).toContain('/@vite/client');
      await berth.dev.stop(ws, 'vite');
    });

    it('verifies an explicit --port instead of detecting (a listener outside the group still counts)', async () => {
      const port = await freePort();
      // The server detaches into a session of its own, so only the declared port can find it.
      const script = `setsid python3 -m http.server ${String(port)} >/dev/null 2>&1 & sleep 600`;
      await berth.dev.start(ws, 'detached', { command: ['sh', '-c', script], port });
      const ready = await berth.dev.waitUntilReady(ws, 'detached');
      expect(ready).toMatchObject({ state: 'running', detectedPort: port });
      expect((await get(ready.url ?? '')).status).toBe(200);
      // Stopping kills the group, then whatever still listens on the port: the escaped server too.
      await berth.dev.stop(ws, 'detached');
      expect((await get(ready.url ?? '', NOT_SERVING_MS)).status).not.toBe(200);
    });

    it('reports a server that dies on its own as crashed, with its exit code', async () => {
      await berth.dev.start(ws, 'flaky', { command: ['sh', '-c', 'echo starting; sleep 0.3; exit 3'] });
      const ended = await berth.dev.waitUntilReady(ws, 'flaky');
      expect(ended, JSON.stringify(ended)).toMatchObject({ state: 'crashed', exitCode: 3 });
      const path = await berth.dev.logPath(ws, 'flaky');
      expect((await runtime.exec(path.target, ['cat', path.path])).stdout).toBe('starting\n');
    });

    it('rebuilds the registry in a new process and reconciles it with the real processes', async () => {
      const reopened = open();
      expect((await reopened.dev.list(ws)).map((s) => [s.name, s.state]).sort()).toEqual([
        ['api', 'running'],
        ['detached', 'stopped'],
        ['flaky', 'crashed'],
        ['vite', 'stopped'],
        ['web', 'running'],
      ]);
      const api = reopened.dev.get(ws, 'api');
      // Killed behind Berth's back: the next scan marks it dead instead of dropping it.
      await runtime.exec((await runtime.inspect(containerNameFor(ws))).id, ['sh', '-c', 'kill -KILL -"$1"', 'sh', String(api?.pgid)], { workspaceProcesses: true });
      // The kill is sent, not yet done: until the server has exited, its port still answers, and
      // a listing that finds it answering rightly says running (seen on a loaded machine).
      const { hostname, port } = new URL(api?.url ?? '');
      await waitFor(async () => !(await tcpProbe(hostname.replace(/^\[|\]$/g, ''), Number(port), 500)).ok, { timeout: 10_000, interval: 50, message: 'the killed server to stop answering' });
      const after = await reopened.dev.list(ws);
      expect(after.find((s) => s.name === 'api')).toMatchObject({ state: 'crashed' });
      await reopened.close();
    });

    it('refuses a second start of a running server and bad names', async () => {
      await expectCode(berth.dev.start(ws, 'web', { command: ['true'] }), 'E_CONFLICT');
      await expectCode(berth.dev.start(ws, 'Bad Name', { command: ['true'] }), 'E_INVALID_INPUT');
      await expectCode(berth.dev.stop(ws, 'nobody'), 'E_NOT_FOUND');
    });
  });

  /**
   * Previews of dev servers in an egress workspace (issue 13, item 4): the host opens the URL and
   * gets the answer, while the workspace still cannot open a connection to the host. Plus one
   * bridge per server when two processes expose it at once (a CLI and the daemon), gone with it.
   */
  // Host mode has no network to enforce egress with, hence no previews behind it: not defined there
  // (a skipped test would fail the run: scripts/test.sh counts skips as failures).
  if (label !== 'host') describe(`dev servers in an egress workspace: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const ws = `deveg-${run}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-dev-egress-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<h1>egress preview</h1>\n');
    let runtime: Runtime;
    const opened: Berth[] = [];
    const open = (): Berth => {
      const berth = new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: '0a1b2c3d-b4a5-4697-8899-aabbccddeeff', env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
      opened.push(berth);
      return berth;
    };
    let berth: Berth;

    beforeAll(async () => {
      const target = await connect();
      runtime = target.runtime;
      berth = open();
      // With a preview pool asked for: on docker/podman an internal network cannot publish it.
      await berth.up(ws, { root, image: target.image, egress: { allow: ['registry.example.test'] }, previewPorts: 2 });
    });

    afterAll(async () => {
      if (!runtime) return;
      for (const server of await berth.dev.list(ws).catch(() => [])) await berth.dev.stop(ws, server.name).catch(() => undefined);
      await berth.remove(ws).catch(() => undefined);
      for (const b of opened) await b.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('answers the preview URL of a server on all addresses from the host', async () => {
      const port = await freePort();
      await berth.dev.start(ws, 'web', { command: ['python3', '-m', 'http.server', String(port)] });
      const ready = await berth.dev.waitUntilReady(ws, 'web');
      expect(ready).toMatchObject({ state: 'running', detectedPort: port });
      expect(await get(ready.url ?? '')).toMatchObject({ status: 200, body: expect.stringContaining('egress preview') as unknown });
    });

    it('answers the preview URL of a loopback-only server (bridged) from the host', async () => {
      const port = await freePort();
      const script = `require('http').createServer((q, s) => s.end('api behind egress')).listen(${String(port)}, '127.0.0.1')`;
      await berth.dev.start(ws, 'api', { command: ['node', '-e', script] });
      const ready = await berth.dev.waitUntilReady(ws, 'api');
      expect(await get(ready.url ?? '')).toEqual({ status: 200, body: 'api behind egress' });
    });

    it('still keeps the workspace from opening a connection to the host', async () => {
      const gateway = berth.store.egress.egress(ws)[0]?.proxyHost ?? '';
      let accepted = 0;
      const { createServer } = await import('node:net');
      const listener = createServer((socket) => {
        accepted++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => listener.listen(0, gateway, resolve));
      try {
        const port = (listener.address() as { port: number }).port;
        const attempt = await berth.exec(ws, ['curl', '-sS', '-m', '3', '--noproxy', '*', `http://${gateway}:${String(port)}/`]);
        expect(attempt.exitCode).not.toBe(0);
        expect(accepted).toBe(0);
      } finally {
        await new Promise<void>((resolve) => listener.close(() => resolve()));
      }
    });

    it('gives two processes exposing one server at once the same bridge, and ends it with the server', async () => {
      const port = await freePort();
      const script = `require('http').createServer((q, s) => s.end('one bridge')).listen(${String(port)}, '127.0.0.1')`;
      await berth.dev.start(ws, 'twice', { command: ['node', '-e', script] });
      const other = open();
      const [a, b] = await Promise.all([berth.dev.waitUntilReady(ws, 'twice'), other.dev.waitUntilReady(ws, 'twice')]);
      expect(a.url).toBe(b.url);
      expect(await get(a.url ?? '')).toEqual({ status: 200, body: 'one bridge' });
      const container = (await runtime.inspect(containerNameFor(ws))).id;
      // Bridge processes for this server: their argv ends with the target address, port and the server's group.
      const bridges = async (): Promise<number> => {
        const list = 'for p in /proc/[0-9]*; do tr "\\0" " " < "$p/cmdline" 2>/dev/null; echo; done';
        const lines = (await runtime.exec(container, ['sh', '-c', list])).stdout.split('\n');
        return lines.filter((l) => l.endsWith(` 127.0.0.1 ${String(port)} ${String(a.pgid)} `)).length;
      };
      expect(await bridges()).toBe(1);
      // Stopped through the process that may not have started the bridge: nothing of it is left.
      await other.dev.stop(ws, 'twice');
      expect(await bridges()).toBe(0);
      expect((await get(a.url ?? '', NOT_SERVING_MS)).status).not.toBe(200);
    });
  });
}
