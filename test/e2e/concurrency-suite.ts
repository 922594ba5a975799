import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { lockPaths, readHolder } from '../../src/state/file-lock.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN, type CliResult } from './cli-suite.js';

type Engine = 'podman' | 'docker';

/** Lifecycle events of one container name between two moments, from the engine's own event stream. */
export async function engineEvents(engine: Engine, name: string, since: Date): Promise<string[]> {
  const env = engineEnv();
  const argv =
    engine === 'podman'
      ? ['podman', 'events', '--stream=false', '--since', since.toISOString(), '--filter', `container=${name}`, '--format', '{{.Status}}']
      : // docker's --until bounds the stream; one second ahead so events of this second are in.
        ['docker', 'events', '--since', String(Math.floor(since.getTime() / 1000) - 1), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `container=${name}`, '--format', '{{.Action}}'];
  const result = await run(argv, { env, timeoutMs: 30_000 });
  // docker says destroy where podman says remove.
  return result.stdout.split('\n').filter(Boolean).map((action) => (action === 'destroy' ? 'remove' : action));
}

async function containerState(engine: Engine, name: string): Promise<string | null> {
  const result = await run([engine, 'inspect', '--format', '{{.State.Status}}', name], { env: engineEnv(), okExitCodes: 'any' });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/**
 * Many `berth` processes on one $BERTH_HOME at once, as agent hosts run them (one CLI call per tool
 * call): single flight holds across processes, nothing is removed that the remover did not make,
 * a fresh state folder opens for all, and one reconciler runs at a time.
 */
export function concurrencySuite(engine: Engine): void {
  describe(`many berth processes on ${engine}`, () => {
    const run8 = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-many-'));
    const root = join(scratch, 'project');
    mkdirSync(root);
    const baseEnv = { ...engineEnv(), BERTH_RUNTIME: engine, BERTH_NO_DAEMON: '1' };
    const homes: string[] = [];
    const freshHome = (): string => {
      const home = join(scratch, `home-${String(homes.length)}`);
      homes.push(home);
      return home;
    };
    const berth = async (home: string, args: string[], env: NodeJS.ProcessEnv = baseEnv): Promise<CliResult> => {
      const result = await run([process.execPath, BERTH_BIN, ...args], { env: { ...env, BERTH_HOME: home }, okExitCodes: 'any', timeoutMs: 240_000 });
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    };
    const upArgs = (id: string): string[] => ['up', id, '--root', root, '--image', TEST_IMAGE, '--json'];

    beforeAll(() => {
      if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
    });

    afterAll(async () => {
      const names = await run([engine, 'ps', '-a', '--format', '{{.Names}}'], { env: engineEnv(), okExitCodes: 'any' });
      for (const name of names.stdout.split('\n').filter((n) => n.includes(run8))) await run([engine, 'rm', '-f', name], { env: engineEnv(), okExitCodes: 'any' });
      rmSync(scratch, { recursive: true, force: true });
    });

    /** n processes `berth up` one new workspace on a fresh home: one create, no remove, all succeed. */
    async function manyUps(n: number, env: NodeJS.ProcessEnv, home = freshHome()): Promise<void> {
      const id = `many${String(n)}-${String(homes.length)}-${run8}`;
      const name = `berth-${id}`;
      const since = new Date();
      const results = await Promise.all(Array.from({ length: n }, () => berth(home, upArgs(id), env)));
      for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
      // In-process each later caller reuses; through the daemon its callers share the one flight.
      const actions = results.map((r) => (JSON.parse(r.stdout) as { action: string }).action);
      expect(actions).toContain('created');
      expect(actions.every((a) => a === 'created' || a === 'reused')).toBe(true);
      const events = await engineEvents(engine, name, since);
      expect(events.filter((e) => e === 'create')).toHaveLength(1);
      expect(events).not.toContain('remove');
      expect(await containerState(engine, name)).toBe('running');
    }

    it('12 processes `berth up` one new workspace: one create, no remove, every one exits 0', async () => {
      await manyUps(12, baseEnv);
    }, 240_000);

    it('50 processes `berth up` one new workspace: the same', async () => {
      await manyUps(50, baseEnv);
    }, 400_000);

    it('12 processes `berth up` through a running daemon: the same', async () => {
      const home = freshHome();
      const daemon = await startDaemon(home, engineEnv(), ['--runtime', engine]);
      try {
        const env = { ...baseEnv, BERTH_NO_DAEMON: '' };
        await manyUps(12, env, home);
      } finally {
        await daemon.stop();
      }
    }, 240_000);

    it('12 processes, half through the daemon and half in-process: the same', async () => {
      const home = freshHome();
      const id = `mixed-${run8}`;
      const daemon: RunningDaemon = await startDaemon(home, engineEnv(), ['--runtime', engine]);
      try {
        const since = new Date();
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => berth(home, upArgs(id), { ...baseEnv, BERTH_NO_DAEMON: i % 2 === 0 ? '1' : '' })));
        for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
        const events = await engineEvents(engine, `berth-${id}`, since);
        expect(events.filter((e) => e === 'create')).toHaveLength(1);
        expect(events).not.toContain('remove');
      } finally {
        await daemon.stop();
      }
    }, 240_000);

    it('`up` and `rm` interleaved end consistent: the container exists iff the last operation was up', async () => {
      const home = freshHome();
      const id = `uprm-${run8}`;
      const name = `berth-${id}`;
      expect((await berth(home, upArgs(id))).exitCode).toBe(0);
      for (let round = 0; round < 3; round++) {
        const since = new Date();
        const ops = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 'up' : 'rm'));
        const results = await Promise.all(ops.map((op) => berth(home, op === 'up' ? upArgs(id) : ['rm', id])));
        for (const [i, result] of results.entries()) {
          // An rm that finds the workspace already gone says so; nothing else may fail.
          if (result.exitCode !== 0) expect(`${ops[i] ?? ''}: ${result.stderr}`).toMatch(/^rm: .*No workspace/s);
        }
        // The engine's last lifecycle event decides; the engine and Berth's own view must agree with it.
        const events = (await engineEvents(engine, name, since)).filter((e) => e === 'create' || e === 'remove' || e === 'start');
        const state = await containerState(engine, name);
        const listed = JSON.parse((await berth(home, ['ls', '--json'])).stdout) as { id: string; state: string }[];
        if (events.at(-1) === 'remove') {
          expect(state).toBeNull();
          expect(listed.filter((w) => w.id === id && w.state !== 'missing')).toEqual([]);
        } else if (events.length > 0) {
          expect(state).toBe('running');
          expect(listed).toEqual([expect.objectContaining({ id, state: 'running' })]);
        }
        // The last word: an up after the storm is up, an rm after it is gone.
        expect((await berth(home, upArgs(id))).exitCode).toBe(0);
        expect(await containerState(engine, name)).toBe('running');
      }
      expect((await berth(home, ['rm', id])).exitCode).toBe(0);
      expect(await containerState(engine, name)).toBeNull();
    }, 300_000);

    it('kill -9 of the process holding the lock: the next `up` goes ahead within seconds', async () => {
      const home = freshHome();
      const id = `kill-${run8}`;
      const holderFile = join(home, 'locks', `workspace-${id}.lock.holder`);
      // Killed by a signal, run() rejects: that is the expected end of this one.
      const first = berth(home, upArgs(id)).catch(() => null);
      // Wait until the first process holds the workspace's lock (it names itself), then kill it.
      const deadline = Date.now() + 60_000;
      let holder: { pid: number; role: string } | null = null;
      while (holder === null && Date.now() < deadline) {
        try {
          holder = JSON.parse(readFileSync(holderFile, 'utf8')) as { pid: number; role: string };
        } catch {
          await sleep(5);
        }
      }
      expect(holder?.role).toBe(`up ${id}`);
      process.kill(holder?.pid ?? 0, 'SIGKILL');
      expect((await first)?.exitCode ?? null).not.toBe(0);
      const started = Date.now();
      const second = await berth(home, upArgs(id));
      expect(second.exitCode, second.stderr).toBe(0);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await containerState(engine, `berth-${id}`)).toBe('running');
    }, 120_000);

    it('opens a fresh state folder from many processes at once: every one succeeds', async () => {
      const home = freshHome();
      // Each process loads the store first, then opens it at the same agreed moment: the race of first opens, made likely.
      const store = join(import.meta.dirname, '../../dist/state/store.js');
      const at = Date.now() + 1500;
      const script = `const { Store } = await import(${JSON.stringify(store)}); while (Date.now() < ${String(at)}); Store.open(${JSON.stringify(home)}).close();`;
      const opens = await Promise.all(Array.from({ length: 16 }, () => run([process.execPath, '--input-type=module', '-e', script], { okExitCodes: 'any', timeoutMs: 60_000 })));
      for (const result of opens) expect(result.exitCode, result.stderr).toBe(0);
      // And the CLI on it, many at once.
      const results = await Promise.all(Array.from({ length: 8 }, () => berth(home, ['events', '--json'])));
      for (const result of results) expect(result.exitCode, result.stderr).toBe(0);
    }, 120_000);

    it('`berth dev start` racing `berth rm`: the server starts, or a clear "was removed" error, never the engine\'s raw message', async () => {
      const home = freshHome();
      for (let round = 0; round < 4; round++) {
        const id = `devrm${String(round)}-${run8}`;
        const up = await berth(home, upArgs(id));
        expect(up.exitCode, up.stderr).toBe(0);
        const [start, rm] = await Promise.all([berth(home, ['dev', 'start', id, 'web', '--no-wait', '--', 'sleep', '300']), berth(home, ['rm', id])]);
        expect(rm.exitCode, rm.stderr).toBe(0);
        if (start.exitCode !== 0) {
          // rm won the workspace's lock: dev start observed after it, and says so at workspace level.
          expect(start.stderr).toMatch(new RegExp(`Workspace "${id}" was removed while|No workspace "${id}"`));
          expect(start.stderr).toContain(`berth up ${id}`);
        }
        expect(start.stderr).not.toMatch(/no container|no such container|Could not start dev server/i);
        expect(await containerState(engine, `berth-${id}`)).toBeNull();
      }
    }, 240_000);

    it("the daemon API's `POST /apply` queues behind a CLI `berth apply` holding the reconciler lock", async () => {
      const home = freshHome();
      const manifest = join(scratch, `queue-${run8}.yaml`);
      const ids = [1, 2, 3].map((n) => `queue${String(n)}-${run8}`);
      writeFileSync(manifest, `version: 1\nworkspaces:\n${ids.map((id) => `  ${id}:\n    root: project\n    image: ${TEST_IMAGE}\n`).join('')}`);
      const daemon = await startDaemon(home, engineEnv(), ['--runtime', engine]);
      try {
        const since = new Date();
        const cli = berth(home, ['apply', '-f', manifest, '--yes', '--json'], { ...baseEnv, BERTH_NO_DAEMON: '' });
        // Wait until the CLI holds the lock (its note names it), then apply the same manifest through the API.
        const deadline = Date.now() + 60_000;
        // (readHolder: null while the note is missing or half written.)
        while (readHolder(lockPaths.reconciler(home))?.role !== 'apply') {
          if (Date.now() > deadline) throw new Error(`the CLI apply never held the reconciler lock: ${JSON.stringify(await cli)}`);
          await sleep(5);
        }
        const viaApi = await daemon.client.apply(manifest, { yes: true });
        const byCli = await cli;
        expect(byCli.exitCode, byCli.stderr).toBe(0);
        expect((JSON.parse(byCli.stdout) as { outcomes: unknown[] }).outcomes).toHaveLength(ids.length);
        // The API planned only once the CLI had applied: nothing left to do.
        expect(viaApi.outcomes).toEqual([]);
        for (const id of ids) {
          const events = await engineEvents(engine, `berth-${id}`, since);
          expect(events.filter((e) => e === 'create'), id).toHaveLength(1);
          expect(events, id).not.toContain('remove');
        }
      } finally {
        await daemon.stop();
      }
    }, 180_000);

    it('`berth reconcile` and `berth apply` are refused while a manifest daemon reconciles, naming it', async () => {
      const home = freshHome();
      const manifest = join(scratch, 'berth.yaml');
      writeFileSync(manifest, `version: 1\nworkspaces:\n  recon-${run8}:\n    root: project\n    image: ${TEST_IMAGE}\n`);
      const daemon = await startDaemon(home, engineEnv(), ['--runtime', engine, '--manifest', manifest, '--reconcile-interval', '3600']);
      try {
        for (const args of [['reconcile', '-f', manifest], ['apply', '-f', manifest, '--yes']]) {
          const refused = await berth(home, args, { ...baseEnv, BERTH_NO_DAEMON: '' });
          expect(refused.exitCode).not.toBe(0);
          expect(refused.stderr).toContain(`daemon, pid ${String(daemon.pid)}`);
          expect(refused.stderr).toContain('berth daemon stop');
        }
        // Its own API's apply is refused the same way: the reconcile loop alone applies its manifest.
        const own = await daemon.client.apply(manifest, { yes: true }).then(
          () => null,
          (error: unknown) => error as { code?: string; message: string },
        );
        expect(own?.code).toBe('E_CONFLICT');
        expect(own?.message).toContain(`daemon, pid ${String(daemon.pid)}`);
      } finally {
        await daemon.stop();
      }
      // With the daemon gone, reconcile runs.
      const alone = await berth(home, ['reconcile', '-f', manifest]);
      expect(alone.exitCode, alone.stderr).toBe(0);
    }, 180_000);
  });
}
