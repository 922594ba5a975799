import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth, type EgressServer } from '../../src/berth.js';
import type { StoredBerthEvent } from '../../src/events.js';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import type { RuntimeKind } from '../../src/runtime/kinds.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { Store } from '../../src/state/store.js';
import type { ProcessHandle } from '../../src/workspace/processes.js';
import type { PtyHandle } from '../../src/workspace/pty.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait-for.js';
import { LSP_ECHO, lspRequest } from '../support/lsp-echo.js';

function textOf(handle: ProcessHandle): () => string {
  let text = '';
  handle.onStdout((chunk) => (text += chunk.toString('utf8')));
  return () => text;
}

function screen(pty: PtyHandle): () => string {
  let text = '';
  pty.onData((data) => (text += data.toString('utf8')));
  return () => text;
}

/**
 * Issue 18 item 8: ONE Berth object serves a podman workspace and a host-mode workspace side by
 * side, each on its own runtime (podman is the default; host is named in the spec and connected
 * when first needed). Network rule: traffic only to loopback and to the two podman web servers
 * this test starts.
 */
describe('one Berth, every runtime: podman and host side by side', () => {
  const run = randomUUID().slice(0, 8);
  const onPodman = `mr-pod-${run}`;
  const onHost = `mr-host-${run}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-multi-'));
  const home = join(scratch, 'home');
  const userHome = join(scratch, 'user');
  const roots = { podman: join(scratch, 'pod-project'), host: join(scratch, 'host-project') };
  for (const dir of [home, userHome, roots.podman, roots.host]) mkdirSync(dir, { recursive: true });
  const podman = new OciRuntime('podman', { env: engineEnv() });
  const targetName = (which: string): string => `berth-mr-target-${run}-${which}`;
  const targets: Record<'allowed' | 'other', string> = { allowed: '', other: '' };
  const opened: RuntimeKind[] = [];
  const followed: StoredBerthEvent[] = [];
  const following = new AbortController();
  let berth: Berth;
  let egress: EgressServer;

  beforeAll(async () => {
    for (const which of ['allowed', 'other'] as const) {
      await podman.create({ name: targetName(which), image: TEST_IMAGE, command: ['python3', '-m', 'http.server', '8000'], init: true, labels: { 'dev.berth.test-run': run } }, { start: true });
      targets[which] = (await podman.inspect(targetName(which))).ip ?? '';
    }
    // Host mode's proxy gets its own loopback port: other Berth homes on this machine may hold 3128.
    const env = { BERTH_HOST_EGRESS_PORT: String(await freePort()) };
    berth = new Berth(podman, { kind: 'podman', source: 'flag', reports: [] }, {
      home,
      owner: randomUUID(),
      env,
      userHome,
      store: Store.open(home),
      openRuntime: (kind) => {
        opened.push(kind);
        if (kind === 'host') return Promise.resolve(new HostRuntime({ stateDir: join(home, 'host'), berthHome: home, userHome, sandbox: 'on' }));
        return Promise.reject(new Error(`${kind} is not installed on this test machine`));
      },
    });
    // One event stream for both workspaces, from before either exists.
    void (async () => {
      for await (const event of berth.events.follow({}, { signal: following.signal })) followed.push(event);
    })().catch(() => undefined);
    egress = await berth.serveEgress();
    await berth.up(onPodman, { root: roots.podman, image: TEST_IMAGE, egress: { allow: [`${targets.allowed}:8000`] } });
    // Host mode is connected only now, when a workspace names it.
    expect(opened).toEqual([]);
    await berth.up(onHost, { root: roots.host, runtime: 'host', egress: { allow: [`${targets.allowed}:8000`] } });
    expect(opened).toEqual(['host']);
    for (const which of ['allowed', 'other'] as const) {
      await waitFor(() => fetch(`http://${targets[which]}:8000/`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false), { timeout: 30_000, interval: 100, message: `the ${which} target to answer` });
    }
  }, 180_000);

  afterAll(async () => {
    following.abort();
    for (const ws of [onPodman, onHost]) {
      for (const handle of await berth?.processes(ws).catch(() => []) ?? []) await handle.kill('SIGKILL').catch(() => undefined);
      await berth?.remove(ws).catch(() => undefined);
    }
    await egress?.close();
    await berth?.close();
    for (const which of ['allowed', 'other']) await podman.remove(targetName(which), { force: true }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('lists both, each on its own runtime; status and runtimes() agree', async () => {
    const listed = (await berth.list()).filter((w) => w.id === onPodman || w.id === onHost);
    expect(listed.map((w) => [w.id, w.runtime, w.state, w.isolation])).toEqual(
      [
        [onHost, 'host', 'running', 'sandbox'],
        [onPodman, 'podman', 'running', 'container'],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    expect((await berth.status(onHost)).runtime).toBe('host');
    expect((await berth.status(onPodman)).runtime).toBe('podman');
    expect(berth.runtime.kind).toBe('podman');
    const states = Object.fromEntries(berth.runtimes().map((r) => [r.kind, r.state]));
    expect(states).toMatchObject({ podman: 'connected', host: 'connected', docker: 'idle' });
  });

  it('execs on each runtime: a container at /workspace, the host in its root', async () => {
    const inPod = await berth.exec(onPodman, ['sh', '-c', 'pwd; test -e /run/.containerenv && echo container']);
    expect(inPod.stdout).toBe('/workspace\ncontainer\n');
    const inHost = await berth.exec(onHost, ['sh', '-c', 'pwd; echo made > made.txt']);
    expect(inHost.stdout).toBe(`${roots.host}\n`);
    expect(readFileSync(join(roots.host, 'made.txt'), 'utf8')).toBe('made\n');
    // Files too, on each one's own runtime.
    await berth.files.write(onPodman, '/tmp/mr.bin', Buffer.from([0xff, 0xfe, 0, 0x41]));
    expect(await berth.files.read(onPodman, '/tmp/mr.bin', { encoding: 'buffer' })).toEqual(Buffer.from([0xff, 0xfe, 0, 0x41]));
    expect(await berth.files.read(onHost, 'made.txt')).toBe('made\n');
  });

  it('opens a terminal on each, echoing and resizing', async () => {
    for (const [ws, where] of [
      [onPodman, '/workspace'],
      [onHost, roots.host],
    ] as const) {
      const pty = await berth.pty(ws, { cols: 80, rows: 24 });
      const text = screen(pty);
      pty.write(`echo "at=$(pwd) n=$((6*7))"\r`);
      await waitFor(() => text().includes(`at=${where} n=42`), { timeout: 20_000, interval: 20, message: `${ws}: the echo` });
      await pty.resize(101, 33);
      pty.write('stty size; echo "size-$((1+2))"\r');
      await waitFor(() => /33 101\s+size-3/.test(text()), { timeout: 20_000, interval: 20, message: `${ws}: stty size after resize` });
      pty.write('exit 0\r');
      expect((await pty.wait()).exitCode).toBe(0);
    }
  });

  it("serves each workspace's egress through the one proxy: allowed through, the other denied, with events", async () => {
    for (const ws of [onPodman, onHost]) {
      expect((await berth.exec(ws, ['sh', '-c', `curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.allowed}:8000/`])).stdout).toBe('200');
      expect((await berth.exec(ws, ['sh', '-c', `curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`])).stdout).toBe('403');
    }
    await waitFor(() => [onPodman, onHost].every((ws) => berth.store.events.events({ workspace: ws, type: 'egress.deny' }).length > 0), { timeout: 5000, message: 'an egress.deny event of each' });
    // A live change on the host workspace: in force when it returns (the proxy is served here).
    await berth.changeEgress(onHost, { allow: `${targets.other}:8000` });
    expect((await berth.exec(onHost, ['sh', '-c', `curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`])).stdout).toBe('200');
    expect((await berth.exec(onPodman, ['sh', '-c', `curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`])).stdout).toBe('403');
  });

  it('delivers the events of both on one stream', async () => {
    await waitFor(
      () => [onPodman, onHost].every((ws) => followed.some((e) => e.workspace === ws && e.type === 'workspace.created') && followed.some((e) => e.workspace === ws && e.type === 'egress.deny')),
      { timeout: 5000, interval: 20, message: 'created and egress.deny of both workspaces on the followed stream' },
    );
    const created = followed.filter((e) => e.type === 'workspace.created' && (e.workspace === onPodman || e.workspace === onHost));
    expect(created.map((e) => (e.data as { runtime?: string }).runtime)).toEqual(['podman', 'host']);
  });

  it('round-trips an LSP-style server over spawn stdio on each runtime', async () => {
    for (const ws of [onPodman, onHost]) {
      const handle = await berth.spawn(ws, ['node', '-e', LSP_ECHO]);
      const out = textOf(handle);
      await waitFor(() => out().includes('ready\n'), { timeout: 20_000, interval: 20, message: `${ws}: the server to start` });
      for (const [i, params] of [{ uri: 'file:///a.ts' }, { text: 'héllo ✓' }].entries()) {
        handle.stdin.write(lspRequest(i + 1, params));
        const answer = JSON.stringify({ jsonrpc: '2.0', id: i + 1, result: { echo: params } });
        await waitFor(() => out().includes(answer), { timeout: 20_000, interval: 20, message: `${ws}: answer ${String(i + 1)}` });
      }
      expect((await berth.processes(ws)).map((p) => p.id)).toContain(handle.id);
      handle.stdin.end();
      expect((await handle.wait()).exitCode).toBe(0);
    }
  });

  it('a runtime that is not available fails only its own workspaces, and the list says so', async () => {
    const stranded = `mr-apple-${run}`;
    // As a workspace made on Apple's runtime earlier leaves it in the ledger.
    berth.store.ledger.recordIntent({ kind: 'container', runtime: 'apple', name: `berth-${stranded}`, workspace: stranded, specHash: 'x', spec: { root: roots.host, image: TEST_IMAGE, labels: { app: 'mr' } } });
    try {
      const listed = await berth.list();
      expect(listed.find((w) => w.id === stranded)).toMatchObject({ runtime: 'apple', state: 'unavailable', image: TEST_IMAGE, labels: { app: 'mr' } });
      expect(listed.find((w) => w.id === onPodman)?.state).toBe('running');
      expect(listed.find((w) => w.id === onHost)?.state).toBe('running');
      const error = await expectCode(berth.exec(stranded, ['true']), 'E_RUNTIME_UNAVAILABLE');
      expect(error.message).toMatch(new RegExp(`Workspace "${stranded}" lives on apple, which is not available: .*not installed`));
      expect(error.details).toMatchObject({ workspace: stranded, runtime: 'apple' });
      await expectCode(berth.status(stranded), 'E_RUNTIME_UNAVAILABLE');
      expect(berth.runtimes().find((r) => r.kind === 'apple')).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/not installed/) as unknown });
      // Naming another runtime for an existing workspace is a conflict, not a silent move.
      await expectCode(berth.up(onHost, { runtime: 'podman' }), 'E_CONFLICT');
      expect((await berth.exec(onPodman, ['true'])).exitCode).toBe(0);
    } finally {
      berth.store.ledger.markRemoved('apple', 'container', `berth-${stranded}`);
    }
  });
});
