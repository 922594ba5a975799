import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDaemon, type BerthClient } from '../../src/client/index.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

/**
 * Issue 18's process, terminal and file checks through the daemon client on the container engines and
 * the Apple double (host mode's are test/e2e/app-api-example.test.ts): the built berthd serving each in turn,
 * one workspace each, everything through the typed client over its socket (WebSockets for exec,
 * terminals and spawned processes; JSON for files).
 */
const TARGETS = [
  { engine: 'podman', label: 'podman', env: () => engineEnv() },
  { engine: 'docker', label: 'docker', env: () => engineEnv() },
  // Apple's path differs where it matters: CLI exec (no engine socket), node-pty terminals.
  { engine: 'apple', label: 'apple 1.2.2 (double)', env: () => appleDoubleEnv('1.2.2') },
] as const;

for (const { engine, label, env } of TARGETS) {
  describe(`${label}: the daemon client`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-daemon-${engine}-`));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    const ws = `dc-${randomUUID().slice(0, 8)}`;
    let daemon: RunningDaemon;
    let client: BerthClient;

    /** Processes in the workspace whose command line holds `needle` (/proc, not ps). */
    const running = async (needle: string): Promise<string[]> => {
      const script = `for d in /proc/[0-9]*; do c=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null); case "$c" in *"$1"*) echo "\${d#/proc/} $c";; esac; done`;
      const { stdout } = await client.exec(ws, ['sh', '-c', script, 'sh', needle]);
      return stdout.split('\n').filter((line) => line !== '' && !line.includes('/proc/[0-9]'));
    };

    beforeAll(async () => {
      daemon = await startDaemon(home, { ...env(), BERTH_NO_DAEMON: undefined }, ['--runtime', engine]);
      client = daemon.client;
      await client.up(ws, { root, image: TEST_IMAGE });
    });

    afterAll(async () => {
      await client?.remove(ws).catch(() => undefined);
      await client?.close().catch(() => undefined);
      await daemon?.stop();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('streams exec output: the first chunk comes while the command still runs', async () => {
      const started = performance.now();
      let firstAt = 0;
      const result = await client.exec(ws, ['sh', '-c', 'echo first; sleep 2; echo second'], {
        onStdout: () => {
          firstAt ||= performance.now();
        },
      });
      const endedAt = performance.now();
      expect(result.exitCode).toBe(0);
      expect(firstAt).toBeGreaterThan(started);
      expect(endedAt - firstAt).toBeGreaterThan(1500);
    });

    it('keeps bytes as bytes (printf \\377\\376\\000A)', async () => {
      const result = await client.exec(ws, ['sh', '-c', "printf '\\377\\376\\000A'"], { encoding: 'buffer' });
      expect(result.stdout.toString('hex')).toBe('fffe0041');
    });

    it('a 500 ms timeout rejects with E_TIMEOUT and ends the process in the workspace', async () => {
      const marker = `5${String(Date.now() % 100_000).padStart(5, '0')}`;
      await expectCode(client.exec(ws, ['sh', '-c', `sleep ${marker}1 & sleep ${marker}2; wait`], { timeoutMs: 500 }), 'E_TIMEOUT');
      await expect.poll(() => running(`sleep ${marker}`), { timeout: 15_000, interval: 200 }).toEqual([]);
    });

    it('a spawned process is found again by a new client, replays its output and ends by kill()', async () => {
      const spawned = await client.spawn(ws, ['sh', '-c', 'echo started; exec sleep 600']);
      const other = await connectDaemon({ home });
      if (other === null) throw new Error('no daemon answered a second client');
      try {
        const found = (await other.processes(ws)).find((p) => p.id === spawned.id);
        expect(found?.argv).toEqual(['sh', '-c', 'echo started; exec sleep 600']);
        let out = '';
        const stop = found?.onStdout((chunk) => (out += chunk.toString('utf8')));
        await expect.poll(() => out, { timeout: 15_000, interval: 50 }).toBe('started\n');
        await found?.kill();
        expect(await found?.wait()).toEqual({ exitCode: null, signal: 'SIGTERM' });
        stop?.();
      } finally {
        await other.close();
      }
    });

    it('a terminal echoes what is typed and says its new size after a resize', async () => {
      const pty = await client.pty(ws, { cols: 80, rows: 24 });
      let screen = '';
      pty.onData((data) => (screen += data.toString('utf8')));
      try {
        pty.write('echo "sum-$((6*7))"\n');
        await expect.poll(() => screen, { timeout: 15_000, interval: 50 }).toContain('sum-42');
        await pty.resize(100, 30);
        // On Apple the new size reaches the workspace when `container exec -t` has forwarded its
        // SIGWINCH: a command typed at once may see the old one, so it is asked again until it shows.
        await expect
          .poll(
            () => {
              if (!screen.includes('30 100')) pty.write('stty size\n');
              return screen;
            },
            { timeout: 20_000, interval: 1_000 },
          )
          .toContain('30 100');
      } finally {
        await pty.kill();
      }
    });

    it('files outside the root round-trip bytes: write, list, read, remove', async () => {
      const folder = `/tmp/berth-files-${randomUUID().slice(0, 8)}`;
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe]);
      await client.files.write(ws, `${folder}/note.bin`, bytes);
      const listed = await client.files.list(ws, folder);
      expect(listed.map((entry) => [entry.name, entry.type, entry.size])).toEqual([['note.bin', 'file', 5]]);
      expect((await client.files.read(ws, `${folder}/note.bin`, { encoding: 'buffer' })).toString('hex')).toBe('000102fffe');
      await client.files.remove(ws, folder, { recursive: true });
      await expectCode(client.files.read(ws, `${folder}/note.bin`), 'E_NOT_FOUND');
    });
  });
}
