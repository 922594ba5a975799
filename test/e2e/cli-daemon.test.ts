import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runStreaming } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN, berthCli, json } from './cli-suite.js';
import { waitFor } from '../support/wait-for.js';

const ENGINE = 'podman';

/**
 * The CLI talks to a running daemon for its core commands. Proof that it really goes through the
 * daemon: the CLI's own PATH has no engine at all, so in-process it could not do any of this
 * (BERTH_NO_DAEMON=1 shows that), while the daemon, started with the engine, does it all.
 */
describe(`berth CLI through the daemon on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'berth-clid-')));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), 'via the daemon\n');
  const env = engineEnv();
  // No engine on this PATH and no engine API socket for the CLI itself: only the daemon can reach podman.
  const cliEnv = { ...env, BERTH_HOME: home, BERTH_RUNTIME: ENGINE, PATH: join(scratch, 'empty-bin'), BERTH_PODMAN_API: 'off', BERTH_DOCKER_API: 'off' };
  const berth = berthCli(cliEnv);
  const ws = `clid-${run8}`;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    daemon = await startDaemon(home, env, ['--runtime', ENGINE]);
  });

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await run([ENGINE, 'rm', '-f', `berth-${ws}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('cannot work in-process here (no engine on PATH), so what follows is the daemon', async () => {
    const alone = await berthCli({ ...cliEnv, BERTH_NO_DAEMON: '1' })(['ls', '--json']);
    expect(alone.exitCode).toBe(1);
    expect(alone.stderr).toContain('podman');
    // Asked for another runtime than the daemon serves, the CLI does not use it (and fails alone here).
    const other = await berthCli({ ...cliEnv, BERTH_RUNTIME: 'docker' })(['ls', '--json']);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain('docker');
    expect((await berth(['ls', '--json'])).exitCode).toBe(0);
  });

  it('up (root relative to the CLI folder), ls, status, egress, dev, events, stop, rm', async () => {
    const up = json<Record<string, unknown>>(await berth(['up', ws, '--root', '.', '--image', TEST_IMAGE, '--mount', 'not-here:ro', '--json'], { cwd: root }));
    expect(up).toMatchObject({ id: ws, runtime: ENGINE, action: 'created', state: 'running', isolated: true });
    // The relative mount was resolved against the CLI's folder, and its warning came back from the daemon.
    expect(up['warnings']).toEqual([`Mount ${join(root, 'not-here')} does not exist (skipped, not created).`]);
    expect(json(await berth(['ls', '--json']))).toEqual([expect.objectContaining({ id: ws, state: 'running', root })]);
    expect(json(await berth(['status', ws, '--json']))).toMatchObject({ id: ws, state: 'running', root, isolated: true, egress: null });
    expect((await berth(['up', ws, '--json'])).stdout).toContain('"action": "reused"');
    const port = String(await freePort());
    const started = json<{ state: string; url: string }>(await berth(['dev', 'start', ws, 'web', '--json', '--', 'python3', '-m', 'http.server', port]));
    expect(started.state).toBe('running');
    expect(await (await fetch(started.url, { signal: AbortSignal.timeout(5000) })).text()).toContain('via the daemon');
    expect(json(await berth(['dev', 'ls', ws, '--json']))).toEqual([expect.objectContaining({ name: 'web', state: 'running' })]);
    expect((await berth(['dev', 'open', ws, 'web'])).stdout.trim()).toBe(started.url);
    expect(json(await berth(['dev', 'stop', ws, 'web', '--json']))).toMatchObject({ state: 'stopped' });
    const missing = await berth(['egress', 'allow', ws, 'example.com']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('has no egress control');
    const types = json<{ type: string }[]>(await berth(['events', '--json', '--workspace', ws])).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['workspace.created', 'devserver.running', 'devserver.stopped']));
    expect(json(await berth(['stop', ws, '--json']))).toEqual({ id: ws, ok: true });
    expect(json(await berth(['rm', ws, '--json']))).toEqual({ id: ws, ok: true });
    expect(json(await berth(['ls', '--json']))).toEqual([]);
  });

  it('keeps berth exec off the daemon: its hot path loads neither the client nor SQLite', async () => {
    json(await berth(['up', ws, '--root', root, '--image', TEST_IMAGE, '--json']));
    // exec itself runs the engine CLI, so it gets a PATH with the engine. The CLI is bundled
    // (tools/bundle-cli.ts): NODE_DEBUG=module names every file and package it loads. The fast path
    // is main.js alone; the rest of the CLI (with the client) is run-cli.js, SQLite is better-sqlite3.
    const exec = await run([process.execPath, BERTH_BIN, 'exec', ws, '--', 'cat', 'index.html'], { env: { ...env, BERTH_HOME: home, NODE_DEBUG: 'module' }, okExitCodes: 'any' });
    expect(exec.stdout).toBe('via the daemon\n');
    expect(exec.stderr).toContain('dist/cli/main.js');
    expect(exec.stderr).not.toContain('run-cli.js');
    expect(exec.stderr).not.toContain('better-sqlite3');
    expect(exec.stderr).not.toContain('/client/');
    json(await berth(['rm', ws, '--json']));
  });

  it('follows events through the daemon stream (--follow --json: one object per line, in order)', async () => {
    const before = (await daemon.client.events()).at(-1)?.seq ?? 0;
    json(await berth(['up', ws, '--root', root, '--image', TEST_IMAGE, '--json']));
    const lines: string[] = [];
    const controller = new AbortController();
    let buffer = '';
    const follow = runStreaming([process.execPath, BERTH_BIN, 'events', '--follow', '--json', '--workspace', ws], {
      env: cliEnv,
      signal: controller.signal,
      timeoutMs: 60_000,
      onStdout: (chunk) => {
        buffer += chunk.toString('utf8');
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        lines.push(...parts.filter(Boolean));
      },
    }).catch(() => undefined);
    const seen = (type: string) => (): boolean => lines.some((l) => ((e) => e.seq > before && e.type === type)(JSON.parse(l) as { seq: number; type: string }));
    // The backlog (up's events) is printed before the follow begins, so what comes after rm is live.
    await waitFor(seen('workspace.created'), { timeout: 10_000, interval: 50, message: 'the backlog with workspace.created' });
    json(await berth(['rm', ws, '--json']));
    await waitFor(seen('workspace.removed'), { timeout: 5000, interval: 100, message: 'workspace.removed through the stream' });
    controller.abort();
    await follow;
    const events = lines.map((l) => JSON.parse(l) as { seq: number; type: string });
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    const live = events.filter((e) => e.seq > before).map((e) => e.type);
    expect(live.indexOf('workspace.created'), live.join(', ')).toBeGreaterThanOrEqual(0);
    expect(live.indexOf('workspace.removed')).toBeGreaterThan(live.indexOf('workspace.created'));
  });

  it('refuses `berth egress serve` beside the daemon, which already serves the proxy', async () => {
    const serve = await berth(['egress', 'serve']);
    expect(serve.exitCode).toBe(1);
    expect(serve.stderr).toContain('already serves the egress proxy');
  });
});
