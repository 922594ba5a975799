import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBerth } from '../../src/berth.js';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { BERTH_BIN, berthCli, type CliResult } from './cli-suite.js';
import { waitFor } from '../support/wait-for.js';

type Engine = 'podman' | 'docker';

function readFileSafe(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Polls until `check` holds, or fails after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  await waitFor(check, { timeout: ms, message: what });
}

/**
 * No daemon started by hand: the CLI starts one when a command needs it (egress), every change is
 * in force when the command returns (no polling window: no sleep between a change and the request
 * that proves it), and the library can serve egress in its own process. Network rule: the only
 * targets are two web servers this test starts on the engine's default network.
 */
export function onDemandSuite(engine: Engine): void {
  describe(`the daemon on demand, on ${engine}`, () => {
    const run8 = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-ondemand-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: engine, BERTH_NO_DAEMON: '' };
    const berth = berthCli(env);
    const engineCli = (args: string[]) => run([engine, ...args], { env: engineEnv(), okExitCodes: 'any' });
    const ws = `od-${run8}`;
    const targets = { allowed: '', other: '' };
    const targetName = (which: string): string => `berth-od-target-${run8}-${which}`;
    const curl = (ip: string): Promise<CliResult> => berth(['exec', ws, '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', `http://${ip}:8000/`]);

    beforeAll(async () => {
      if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
      for (const which of ['allowed', 'other'] as const) {
        const started = await engineCli(['run', '-d', '--name', targetName(which), '--label', `dev.berth.test-run=${run8}`, TEST_IMAGE, 'python3', '-m', 'http.server', '8000']);
        expect(started.exitCode, started.stderr).toBe(0);
        targets[which] = (await engineCli(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', targetName(which)])).stdout.trim();
        await until(`${which} target`, async () => (await engineCli(['exec', targetName(which), 'curl', '-s', '-o', '/dev/null', 'http://127.0.0.1:8000/'])).exitCode === 0);
      }
    }, 60_000);

    afterAll(async () => {
      await berth(['daemon', 'stop']);
      const names = await engineCli(['ps', '-a', '--format', '{{.Names}}']);
      for (const name of names.stdout.split('\n').filter((n) => n.includes(run8))) await engineCli(['rm', '-f', name]);
      await engineCli(['network', 'rm', `berth-net-${ws}`, `berth-net-${ws}-off`]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('`berth up --allow` with no daemon starts one, and the first request is served: allowed 200, other 403', async () => {
      expect((await berth(['daemon', 'status'])).exitCode).not.toBe(0);
      const up = await berth(['up', ws, '--root', root, '--image', TEST_IMAGE, '--allow', targets.allowed]);
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stderr).toContain('started the daemon in the background');
      // Immediately: no wait between up returning and the first request.
      expect((await curl(targets.allowed)).stdout).toBe('200');
      expect((await curl(targets.other)).stdout).toBe('403');
      const status = await berth(['daemon', 'status', '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ running: true, onDemand: true, runtime: engine });
    }, 120_000);

    it('`egress deny` is in force when it returns, and so is `allow` (no sleep in between)', async () => {
      for (let round = 0; round < 3; round++) {
        expect((await berth(['egress', 'deny', ws, targets.allowed])).exitCode).toBe(0);
        expect((await curl(targets.allowed)).stdout).toBe('403');
        expect((await berth(['egress', 'allow', ws, targets.allowed])).exitCode).toBe(0);
        expect((await curl(targets.allowed)).stdout).toBe('200');
      }
    }, 120_000);

    it('`berth daemon stop` ends it; `egress allow` then starts it again and is in force', async () => {
      const pid = (JSON.parse((await berth(['daemon', 'status', '--json'])).stdout) as { pid: number }).pid;
      const stopped = await berth(['daemon', 'stop']);
      expect(stopped.stdout).toContain(`Stopped the daemon (pid ${String(pid)})`);
      expect((await berth(['daemon', 'status'])).exitCode).not.toBe(0);
      // Ended: gone, or a zombie nobody reaped yet (its parent was the CLI that started it).
      expect(readFileSafe(`/proc/${String(pid)}/stat`) ?? `${String(pid)} (node) Z`).toMatch(/^\d+ \(.*\) Z/s);
      expect((await berth(['egress', 'deny', ws, targets.allowed])).stderr).toContain('started the daemon');
      expect((await curl(targets.allowed)).stdout).toBe('403');
      expect((await berth(['egress', 'allow', ws, targets.allowed])).exitCode).toBe(0);
      expect((await curl(targets.allowed)).stdout).toBe('200');
      expect((await berth(['daemon', 'stop'])).exitCode).toBe(0);
    }, 120_000);

    it('the library serves egress in its own process: changes are in force when changeEgress resolves', async () => {
      const lib = await createBerth({ home, runtime: engine, env });
      const proxy = await lib.serveEgress();
      try {
        const code = async (ip: string): Promise<string> => (await lib.exec(ws, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', `http://${ip}:8000/`])).stdout;
        for (let round = 0; round < 3; round++) {
          await lib.changeEgress(ws, { deny: targets.allowed });
          expect(await code(targets.allowed)).toBe('403');
          await lib.changeEgress(ws, { allow: targets.allowed });
          expect(await code(targets.allowed)).toBe('200');
        }
      } finally {
        await proxy.close();
        await lib.close();
      }
    }, 120_000);

    it('with BERTH_NO_DAEMON=1, `up` starts nothing and says egress is closed until the proxy is served', async () => {
      const off = `${ws}-off`;
      const optedOut = berthCli({ ...env, BERTH_NO_DAEMON: '1' });
      expect((await berth(['daemon', 'status'])).exitCode).not.toBe(0);
      const again = await optedOut(['up', off, '--root', root, '--image', TEST_IMAGE, '--allow', targets.other]);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stderr).toContain('egress: closed until the proxy is served');
      expect((await berth(['daemon', 'status'])).exitCode).not.toBe(0);
      expect((await optedOut(['rm', off])).exitCode).toBe(0);
    }, 120_000);

    it('`dev start` in an egress workspace starts the daemon, which then owns the dev server', async () => {
      expect((await berth(['daemon', 'status'])).exitCode).not.toBe(0);
      const started = await berth(['dev', 'start', ws, 'web', '--no-wait', '--', 'python3', '-m', 'http.server', '8001']);
      expect(started.exitCode, started.stderr).toBe(0);
      expect(started.stderr).toContain('started the daemon');
      const listed = JSON.parse((await berth(['dev', 'ls', ws, '--json'])).stdout) as { name: string }[];
      expect(listed.map((s) => s.name)).toEqual(['web']);
      expect((await berth(['dev', 'stop', ws, 'web'])).exitCode).toBe(0);
      expect((await berth(['daemon', 'stop'])).exitCode).toBe(0);
    }, 120_000);

    it('an on-demand daemon exits by itself once it has nothing to serve', async () => {
      const idleEnv = { ...env, BERTH_DAEMON_IDLE: '1' };
      const cli = berthCli(idleEnv);
      expect((await cli(['egress', 'deny', ws, targets.other])).stderr).toContain('started the daemon');
      // Still serving the egress workspace: it stays. Deliberate: 2.5 idle periods pass to prove it does not exit.
      await sleep(2500);
      expect((await berth(['daemon', 'status'])).exitCode).toBe(0);
      expect((await cli(['rm', ws])).exitCode).toBe(0);
      await until('the idle daemon to exit', async () => (await berth(['daemon', 'status'])).exitCode !== 0, 20_000);
    }, 120_000);
  });
}
