import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { EgressService } from '../../src/egress/service.js';
import { spawnDetached } from '../../src/process/index.js';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { freePort } from '../support/free-port.js';
import { hostProcesses } from '../support/host-processes.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Host mode in its bubblewrap sandbox (issue 15), for real: bwrap from scripts/test-env.sh, the
 * upstreams podman containers this test starts, traffic only to them and to loopback.
 */
describe('host mode, sandboxed', () => {
  const run = randomUUID().slice(0, 8);
  const ws = `sbx-${run}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-sbx-'));
  const home = join(scratch, 'berth');
  const fakeHome = join(scratch, 'user');
  const root = join(scratch, 'project');
  const readOnly = join(scratch, 'reference');
  const outside = join(scratch, 'elsewhere');
  for (const dir of [home, root, readOnly, outside, join(fakeHome, '.ssh')]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(fakeHome, '.ssh', 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY----- test secret\n');
  writeFileSync(join(readOnly, 'notes.txt'), 'read me\n');
  const podman = new OciRuntime('podman', { env: engineEnv() });
  const targetName = (which: string): string => `berth-sbx-target-${run}-${which}`;
  const targets: Record<'allowed' | 'other', string> = { allowed: '', other: '' };
  let runtime: HostRuntime;
  let berth: Berth;
  let store: Store;
  let service: EgressService;
  let loopback: Server;
  let loopbackPort = 0;
  let env: NodeJS.ProcessEnv;

  const inside = (script: string) => runtime.exec(containerNameFor(ws), ['sh', '-c', script]);

  beforeAll(async () => {
    for (const which of ['allowed', 'other'] as const) {
      await podman.create({ name: targetName(which), image: TEST_IMAGE, command: ['python3', '-m', 'http.server', '8000'], init: true, labels: { 'dev.berth.test-run': run } }, { start: true });
      targets[which] = (await podman.inspect(targetName(which))).ip ?? '';
    }
    // Its own proxy port: other Berth homes on this machine may hold 3128.
    env = { BERTH_HOST_EGRESS_PORT: String(await freePort()) };
    runtime = new HostRuntime({ stateDir: join(home, 'host'), userHome: fakeHome, berthHome: home, sandbox: 'on' });
    store = Store.open(home);
    berth = new Berth(runtime, { kind: 'host', source: 'flag', reports: [] }, { home, owner: randomUUID(), env, userHome: fakeHome, store });
    service = new EgressService(store);
    await service.start();
    await berth.up(ws, { root, mounts: [`${readOnly}:ro`], egress: { allow: [`${targets.allowed}:8000`] } });
    await service.sync();
    loopback = createServer((_req, res) => res.end('host loopback\n'));
    await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
    loopbackPort = (loopback.address() as { port: number }).port;
    for (const which of ['allowed', 'other'] as const) {
      await waitFor(() => fetch(`http://${targets[which]}:8000/`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false), { timeout: 30_000, interval: 100, message: `the ${which} target to answer` });
    }
  }, 120_000);

  afterAll(async () => {
    loopback?.close();
    await service?.close();
    await berth?.remove(ws).catch(() => undefined);
    store?.close();
    for (const which of ['allowed', 'other']) await podman.remove(targetName(which), { force: true }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('says it is sandboxed', async () => {
    expect((await runtime.inspect(containerNameFor(ws))).labels['berth.isolation']).toBe('sandbox');
    expect((await berth.status(ws)).isolation).toBe('sandbox');
    expect(store.events.events({ workspace: ws, type: 'workspace.isolation' }).at(-1)).toMatchObject({ level: 'info', message: expect.stringMatching(/sandboxed \(bubblewrap\).*no network but the egress proxy/) as unknown });
  });

  it('says so, as a warning, when a sandboxed workspace has no egress rules (its network is the host network)', async () => {
    const open = `sbx-open-${run}`;
    try {
      await berth.up(open, { root });
      expect((await berth.status(open)).isolation).toBe('sandbox');
      expect(store.events.events({ workspace: open, type: 'workspace.isolation' }).at(-1)).toMatchObject({ level: 'warn', message: expect.stringMatching(/sandboxed \(bubblewrap\).*the host network \(no egress control: declare --allow to confine it\)/) as unknown });
    } finally {
      await berth.remove(open).catch(() => undefined);
    }
  });

  it("takes the library's sandbox: 'off' per workspace, and says so loudly", async () => {
    const loose = `sbx-off-${run}`;
    try {
      await berth.up(loose, { root, sandbox: 'off' });
      expect((await berth.status(loose)).isolation).toBe('none');
      expect(store.events.events({ workspace: loose, type: 'workspace.isolation' }).at(-1)).toMatchObject({ level: 'warn', message: expect.stringMatching(/UNCONFINED, as you chose/) as unknown });
      // Unconfined: the fake home's key is readable, which is what the sandbox takes away.
      expect((await runtime.exec(containerNameFor(loose), ['cat', join(fakeHome, '.ssh', 'id_ed25519')])).stdout).toContain('PRIVATE KEY');
    } finally {
      await berth.remove(loose).catch(() => undefined);
    }
  });

  it('writes its root, and nothing outside it', async () => {
    expect((await inside('echo made > made.txt && pwd')).stdout).toBe(`${root}\n`);
    expect(readFileSync(join(root, 'made.txt'), 'utf8')).toBe('made\n');
    const escaped = await inside(`echo x > ${outside}/escaped.txt`);
    expect(escaped.exitCode).not.toBe(0);
    expect(existsSync(join(outside, 'escaped.txt'))).toBe(false);
    expect((await inside('echo x > /etc/berth-escape')).stderr).toMatch(/Read-only file system/);
  });

  it("cannot read the home's SSH key: the home is empty", async () => {
    const read = await inside(`cat ${join(fakeHome, '.ssh', 'id_ed25519')}; ls -A ${fakeHome} | wc -l`);
    expect(read.stdout).not.toContain('PRIVATE KEY');
    expect(read.stderr).toMatch(/No such file/);
  });

  it('reads a :ro extra and cannot write it', async () => {
    expect((await inside(`cat ${readOnly}/notes.txt`)).stdout).toBe('read me\n');
    const write = await inside(`echo x > ${readOnly}/new.txt`);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect(existsSync(join(readOnly, 'new.txt'))).toBe(false);
  });

  it('has no route: neither the host loopback nor an upstream container answers without the proxy', async () => {
    expect((await fetch(`http://127.0.0.1:${String(loopbackPort)}/`)).status).toBe(200); // it does answer, from the host
    const host = await inside(`curl --noproxy '*' -sS -m 3 http://127.0.0.1:${String(loopbackPort)}/`);
    expect(host.exitCode).not.toBe(0);
    const upstream = await inside(`curl --noproxy '*' -sS -m 3 http://${targets.allowed}:8000/`);
    expect(upstream.exitCode).not.toBe(0);
  });

  it('reaches the allowed upstream through the proxy, and is denied another with an audit event', async () => {
    expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.allowed}:8000/`)).stdout).toBe('200');
    expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`)).stdout).toBe('403');
    await waitFor(() => store.events.events({ workspace: ws, type: 'egress.deny' }).some((e) => String(e.message).includes(`${targets.other}:8000`)), { timeout: 2000, message: 'an egress.deny event' });
  });

  it('takes a live egress allow without touching the workspace', async () => {
    await berth.changeEgress(ws, { allow: `${targets.other}:8000` });
    await service.apply(ws);
    expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`)).stdout).toBe('200');
  });

  it('gives a dev server bound to 127.0.0.1 inside a preview URL that answers from the host; restart and stop keep it honest', async () => {
    const get = (url: string): Promise<{ status: number; body: string }> =>
      fetch(url, { signal: AbortSignal.timeout(2000) }).then(async (r) => ({ status: r.status, body: await r.text() }), () => ({ status: 0, body: '' }));
    const relays = (): number =>
      readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(join(home, 'host'));
        } catch {
          return false;
        }
      }).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('/previews/')).length;
    const port = await freePort();
    const script = `require('http').createServer((q, s) => s.end('from the sandbox')).listen(${String(port)}, '127.0.0.1')`;
    await berth.dev.start(ws, 'web', { command: [process.execPath, '-e', script] });
    const ready = await berth.dev.waitUntilReady(ws, 'web');
    expect(ready).toMatchObject({ state: 'running', detectedPort: port });
    expect(await get(ready.url ?? '')).toEqual({ status: 200, body: 'from the sandbox' });
    // The same registry: a second Berth on this home sees it running at the same URL.
    const other = new Berth(runtime, { kind: 'host', source: 'flag', reports: [] }, { home, owner: randomUUID(), env, userHome: fakeHome, store: Store.open(home) });
    expect((await other.dev.list(ws)).find((s) => s.name === 'web')).toMatchObject({ state: 'running', url: ready.url });
    const restarted = await berth.dev.restart(ws, 'web').then(() => berth.dev.waitUntilReady(ws, 'web'));
    expect(await get(restarted.url ?? '')).toEqual({ status: 200, body: 'from the sandbox' });
    // Stopped through the other process: the URL stops answering and no relay is left.
    await other.dev.stop(ws, 'web');
    await other.close();
    expect((await get(restarted.url ?? '')).status).toBe(0);
    await waitFor(() => relays() === 0, { timeout: 5000, message: 'the preview relays to end' });
  });

  it('takes the preview URL down with a dev server that dies (liveness), and reports it crashed', async () => {
    const port = await freePort();
    const script = `require('http').createServer((q, s) => s.end('short-lived')).listen(${String(port)}, '127.0.0.1'); setTimeout(() => process.exit(3), 1500)`;
    await berth.dev.start(ws, 'brief', { command: [process.execPath, '-e', script] });
    const ready = await berth.dev.waitUntilReady(ws, 'brief');
    expect((await fetch(ready.url ?? '')).status).toBe(200);
    await waitFor(async () => (await berth.dev.confirm(ws)).find((s) => s.name === 'brief')?.state === 'crashed', { timeout: 10_000, interval: 200, message: 'the server to be seen crashed' });
    expect(berth.dev.get(ws, 'brief')).toMatchObject({ state: 'crashed', exitCode: 3, url: null });
    await expect(fetch(ready.url ?? '', { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it('stop ends every process in the sandbox, an exec in a process namespace of its own too; rm leaves no folder', async () => {
    const sandboxes = (): string[] => readdirSync(join(home, 'host')).filter((entry) => entry.endsWith('.sandbox'));
    const before = sandboxes();
    const other = `sbx-stop-${run}`;
    const otherRoot = join(scratch, 'stop-root');
    mkdirSync(otherRoot);
    await berth.up(other, { root: otherRoot });
    const marker = `${String(Math.floor(Math.random() * 1e6))}.7`;
    const sleeping = (): string[] => hostProcesses(`sleep ${marker}`);
    // An exec that outlives its caller's interest: a Berth stop must end it, as an engine's does.
    const exec = berth.exec(other, ['sh', '-c', `sleep ${marker}`]).catch((error: unknown) => error);
    await waitFor(() => sleeping().length > 0, { timeout: 15_000, message: 'the exec to start' });
    await berth.stop(other);
    expect(sleeping()).toEqual([]);
    await exec;
    await berth.remove(other);
    expect(sandboxes()).toEqual(before);
  });

  it('leaves no exec process behind when Berth is killed with -9, and the dev servers run on', async () => {
    // A dev server lives in the workspace's sandbox, tied to no Berth process (as in a container).
    const port = await freePort();
    const script = `require('http').createServer((q, s) => s.end('still here')).listen(${String(port)}, '127.0.0.1')`;
    await berth.dev.start(ws, 'survivor', { command: [process.execPath, '-e', script] });
    const survivor = await berth.dev.waitUntilReady(ws, 'survivor');
    const marker = `${String(Math.floor(Math.random() * 1e6))}.5`;
    const cli = join(import.meta.dirname, '../../dist/cli/main.js');
    const pid = await spawnDetached([process.execPath, cli, 'exec', ws, '--', 'sh', '-c', `sleep ${marker}; echo done`], {
      env: { ...process.env, ...env, BERTH_HOME: home, BERTH_RUNTIME: 'host', HOME: fakeHome },
      logFile: join(scratch, 'killed-cli.log'),
    });
    const sleepers = (): number[] =>
      readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\u0000${marker}\u0000`;
        } catch {
          return false;
        }
      }).map(Number);
    await waitFor(() => sleepers().length > 0, { timeout: 15_000, message: 'the sandboxed sleep to start' });
    process.kill(pid, 'SIGKILL');
    await waitFor(() => sleepers().length === 0, { timeout: 5000, message: 'the sandboxed sleep to die with Berth' });
    expect(await (await fetch(survivor.url ?? '')).text()).toBe('still here');
    expect((await berth.dev.list(ws)).find((s) => s.name === 'survivor')?.state).toBe('running');
    await berth.dev.stop(ws, 'survivor');
  });
});
