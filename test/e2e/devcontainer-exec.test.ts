import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { berthCli } from './cli-suite.js';

/**
 * A workspace brought up from a devcontainer.json runs a plain `berth exec` as the hooks run:
 * as its remoteUser, in its workspaceFolder, with its remoteEnv (`${containerEnv:X}` resolved in the
 * container), unless the caller says otherwise. Through the CLI's fast path (the address card), the
 * CLI without it, and the library's exec, spawn and pty.
 */
const DOCKERFILE = `FROM ${TEST_IMAGE}\nRUN useradd -m dev\n`;
const CONFIG = JSON.stringify({
  build: { dockerfile: 'Dockerfile' },
  remoteUser: 'dev',
  containerEnv: { FOO: 'foo' },
  remoteEnv: { BAR: '${containerEnv:FOO}-bar', FROM_REMOTE: 'yes' },
});

for (const kind of ['podman', 'docker'] as const) {
  describe(`berth exec in a devcontainer workspace on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcexec-${kind}-`));
    const id = `dcexec-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, 'proj');
    const home = join(scratch, 'home');
    const cli = berthCli({ ...engineEnv(), BERTH_HOME: home, BERTH_NO_DAEMON: '1', BERTH_RUNTIME: kind });
    let berth: Berth | null = null;

    afterAll(async () => {
      await cli(['rm', id]);
      await berth?.close();
      // The image this test built (labelled with its config file), and only that.
      const engine = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any' });
      const images = (await engine(['images', '-q', '--filter', `label=berth.devcontainer=${join(root, '.devcontainer/devcontainer.json')}`])).stdout.split('\n').filter((line) => line !== '');
      if (images.length > 0) await engine(['rmi', '-f', ...new Set(images)]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('runs as remoteUser in workspaceFolder with remoteEnv; an explicit --user/--workdir/--env wins', async () => {
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), CONFIG);
      writeFileSync(join(root, '.devcontainer/Dockerfile'), DOCKERFILE);
      chmodSync(root, 0o777);
      const up = await cli(['up', id, '--root', root, '--devcontainer', '--json']);
      expect(up.exitCode, up.stderr).toBe(0);

      const script = 'echo "$(id -un) $(pwd) $BAR $FROM_REMOTE"';
      // The fast path: the address card carries the defaults.
      const fast = await cli(['exec', id, '--', 'sh', '-c', script]);
      expect(fast.stdout.trim(), fast.stderr).toBe('dev /workspaces/proj foo-bar yes');
      expect((await cli(['exec', id, '--', 'id', '-un'])).stdout.trim()).toBe('dev');
      expect((await cli(['exec', id, '--', 'pwd'])).stdout.trim()).toBe('/workspaces/proj');
      const explicit = await cli(['exec', id, '--user', 'root', '--workdir', '/tmp', '--env', 'BAR=mine', '--', 'sh', '-c', script]);
      expect(explicit.stdout.trim(), explicit.stderr).toBe('root /tmp mine yes');
      // The whole CLI (without a card: the ledger's spec) says the same.
      rmSync(join(home, 'workspaces', id, 'address.json'));
      const full = await cli(['exec', id, '--', 'sh', '-c', script]);
      expect(full.stdout.trim(), full.stderr).toBe('dev /workspaces/proj foo-bar yes');

      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home, runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });
      expect((await berth.exec(id, ['sh', '-c', script])).stdout.trim()).toBe('dev /workspaces/proj foo-bar yes');
      expect((await berth.exec(id, ['id', '-un'], { user: 'root' })).stdout.trim()).toBe('root');

      const spawned = await berth.spawn(id, ['sh', '-c', script]);
      const chunks: Buffer[] = [];
      spawned.onStdout((chunk) => chunks.push(chunk));
      expect((await spawned.wait()).exitCode).toBe(0);
      expect(Buffer.concat(chunks).toString().trim()).toBe('dev /workspaces/proj foo-bar yes');

      const pty = await berth.pty(id, { cols: 80, rows: 24, command: ['sh', '-c', script] });
      const seen: Buffer[] = [];
      pty.onData((data) => seen.push(data));
      expect((await pty.wait()).exitCode).toBe(0);
      expect(Buffer.concat(seen).toString()).toContain('dev /workspaces/proj foo-bar yes');
    }, 240_000);
  });
}
