import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BerthClient, StoredBerthEvent } from '../../src/client/index.js';
import { readDaemonInfo } from '../../src/daemon/daemon.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait-for.js';
import { LSP_ECHO, lspRequest } from '../support/lsp-echo.js';

/**
 * Issue 18 item 8 through the built berthd: ONE daemon (default runtime podman) serves a podman
 * workspace and a host-mode workspace side by side over its socket, with the typed client. Network
 * rule: traffic only to loopback and to the two podman web servers this test starts.
 */
describe('one berthd, every runtime: podman and host side by side', () => {
  const run = randomUUID().slice(0, 8);
  const onPodman = `dmr-pod-${run}`;
  const onHost = `dmr-host-${run}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-dmulti-'));
  const home = join(scratch, 'home');
  const roots = { podman: join(scratch, 'pod-project'), host: join(scratch, 'host-project') };
  for (const dir of [roots.podman, roots.host]) mkdirSync(dir, { recursive: true });
  const podman = new OciRuntime('podman', { env: engineEnv() });
  const targetName = (which: string): string => `berth-dmr-target-${run}-${which}`;
  const targets: Record<'allowed' | 'other', string> = { allowed: '', other: '' };
  const followed: StoredBerthEvent[] = [];
  const following = new AbortController();
  let daemon: RunningDaemon;
  let client: BerthClient;

  beforeAll(async () => {
    for (const which of ['allowed', 'other'] as const) {
      await podman.create({ name: targetName(which), image: TEST_IMAGE, command: ['python3', '-m', 'http.server', '8000'], init: true, labels: { 'dev.berth.test-run': run } }, { start: true });
      targets[which] = (await podman.inspect(targetName(which))).ip ?? '';
    }
    // Host mode's proxy gets its own loopback port: other Berth homes on this machine may hold 3128.
    daemon = await startDaemon(home, { ...engineEnv(), BERTH_HOST_EGRESS_PORT: String(await freePort()) }, ['--runtime', 'podman']);
    client = daemon.client;
    void (async () => {
      for await (const event of client.events.follow({}, { signal: following.signal })) followed.push(event);
    })().catch(() => undefined);
    await client.up(onPodman, { root: roots.podman, image: TEST_IMAGE, egress: { allow: [`${targets.allowed}:8000`] } });
    await client.up(onHost, { root: roots.host, runtime: 'host', egress: { allow: [`${targets.allowed}:8000`] } });
    for (const which of ['allowed', 'other'] as const) {
      await waitFor(() => fetch(`http://${targets[which]}:8000/`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false), { timeout: 30_000, interval: 100, message: `the ${which} target to answer` });
    }
  }, 180_000);

  afterAll(async () => {
    following.abort();
    for (const ws of [onPodman, onHost]) {
      for (const handle of (await client?.processes(ws).catch(() => [])) ?? []) await handle.kill('SIGKILL').catch(() => undefined);
      await client?.remove(ws).catch(() => undefined);
    }
    await client?.close();
    await daemon?.stop().catch(() => undefined);
    for (const which of ['allowed', 'other']) await podman.remove(targetName(which), { force: true }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }, 120_000);

  it('says it serves every runtime, podman by default, host connected once used', async () => {
    const info = readDaemonInfo(home);
    expect(info).toMatchObject({ runtime: 'podman', runtimes: ['apple', 'docker', 'podman', 'host'] });
    const health = await client.health();
    expect(health.runtime).toBe('podman');
    expect(Object.fromEntries(health.runtimeStates.map((r) => [r.kind, r.state]))).toMatchObject({ podman: 'connected', host: 'connected' });
    expect(health.runtimeStates.find((r) => r.default)?.kind).toBe('podman');
  });

  it('lists both, each on its own runtime', async () => {
    const listed = (await client.list()).filter((w) => w.id === onPodman || w.id === onHost);
    expect(Object.fromEntries(listed.map((w) => [w.id, [w.runtime, w.state]]))).toEqual({ [onPodman]: ['podman', 'running'], [onHost]: ['host', 'running'] });
    expect(await client.getWorkspace(onHost)).toMatchObject({ runtime: 'host', isolated: false });
    expect(await client.getWorkspace(onPodman)).toMatchObject({ runtime: 'podman', isolated: true });
  });

  it('execs on each runtime', async () => {
    expect((await client.exec(onPodman, ['sh', '-c', 'pwd; test -e /run/.containerenv && echo container'])).stdout).toBe('/workspace\ncontainer\n');
    expect((await client.exec(onHost, ['sh', '-c', 'pwd; echo made > made.txt'])).stdout).toBe(`${roots.host}\n`);
    expect(readFileSync(join(roots.host, 'made.txt'), 'utf8')).toBe('made\n');
  });

  it('opens a terminal on each, echoing and resizing', async () => {
    for (const [ws, where] of [
      [onPodman, '/workspace'],
      [onHost, roots.host],
    ] as const) {
      const pty = await client.pty(ws, { cols: 80, rows: 24 });
      let text = '';
      pty.onData((data) => (text += data.toString('utf8')));
      pty.write(`echo "at=$(pwd) n=$((6*7))"\r`);
      await waitFor(() => text.includes(`at=${where} n=42`), { timeout: 20_000, interval: 20, message: `${ws}: the echo` });
      await pty.resize(101, 33);
      pty.write('stty size; echo "size-$((1+2))"\r');
      await waitFor(() => /33 101\s+size-3/.test(text), { timeout: 20_000, interval: 20, message: `${ws}: stty size after resize` });
      pty.write('exit 0\r');
      expect((await pty.wait()).exitCode).toBe(0);
    }
  });

  it("serves each workspace's egress through the daemon's proxy, and a live change", async () => {
    const status = (ws: string, target: string) => client.exec(ws, ['sh', '-c', `curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${target}:8000/`]).then((r) => r.stdout);
    for (const ws of [onPodman, onHost]) {
      expect(await status(ws, targets.allowed)).toBe('200');
      expect(await status(ws, targets.other)).toBe('403');
    }
    await client.changeEgress(onHost, { allow: `${targets.other}:8000` });
    expect(await status(onHost, targets.other)).toBe('200');
    expect(await status(onPodman, targets.other)).toBe('403');
  });

  it('delivers the events of both on one stream', async () => {
    await waitFor(
      () => [onPodman, onHost].every((ws) => followed.some((e) => e.workspace === ws && e.type === 'workspace.created') && followed.some((e) => e.workspace === ws && e.type === 'egress.deny')),
      { timeout: 10_000, interval: 20, message: 'created and egress.deny of both workspaces on the SSE stream' },
    );
  });

  it('round-trips an LSP-style server over spawn stdio on each runtime', async () => {
    for (const ws of [onPodman, onHost]) {
      const handle = await client.spawn(ws, ['node', '-e', LSP_ECHO]);
      let out = '';
      handle.onStdout((chunk) => (out += chunk.toString('utf8')));
      await waitFor(() => out.includes('ready\n'), { timeout: 20_000, interval: 20, message: `${ws}: the server to start` });
      for (const [i, params] of [{ uri: 'file:///a.ts' }, { text: 'héllo ✓' }].entries()) {
        handle.stdin.write(lspRequest(i + 1, params));
        const answer = JSON.stringify({ jsonrpc: '2.0', id: i + 1, result: { echo: params } });
        await waitFor(() => out.includes(answer), { timeout: 20_000, interval: 20, message: `${ws}: answer ${String(i + 1)}` });
      }
      handle.stdin.end();
      expect((await handle.wait()).exitCode).toBe(0);
    }
  });
});
