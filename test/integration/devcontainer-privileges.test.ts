import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';

/**
 * runArgs' privileges and a feature's contributions on real engines: a capability granted with
 * the opt-in is in the container's effective set (and refused without it, before any container
 * exists), --add-host reaches /etc/hosts, --init gives PID 1 an init; a local feature's
 * onCreateCommand runs before the config's own, its entrypoint at every start (again after stop +
 * up), before the keep-alive.
 */

/** The command line of PID 1's children (execs enter from outside: their parent is not PID 1). */
const MAIN_PROCESS = `for p in /proc/[0-9]*; do [ "$(sed -n 's/^PPid:[[:space:]]*//p' $p/status 2>/dev/null)" = 1 ] && tr '\\0' ' ' < $p/cmdline && echo; done | sed 's/ *$//'`;

/** CAP_SYS_PTRACE's bit (linux/capability.h): in neither engine's default set. */
const CAP_SYS_PTRACE = 19n;

for (const kind of ['podman', 'docker'] as const) {
  describe(`devcontainer privileges and feature contributions on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcpriv-${kind}-`));
    const ids: string[] = [];
    let berth: Berth | null = null;
    const cli = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any' });
    const open = async (): Promise<Berth> => {
      const { createBerth } = await import('../../src/berth.js');
      berth ??= await createBerth({ home: join(scratch, 'home'), runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });
      return berth;
    };
    const project = (name: string, config: object): string => {
      const root = join(scratch, name);
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify(config, null, 2));
      return root;
    };
    const sh = async (id: string, script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout.trim();
    };

    afterAll(async () => {
      for (const id of ids) await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      // The feature images this test built (labelled with its config files), and only those.
      for (const name of ['feature']) {
        const images = (await cli(['images', '-q', '--filter', `label=berth.devcontainer=${join(scratch, name, '.devcontainer/devcontainer.json')}`])).stdout.split('\n').filter((line) => line !== '');
        if (images.length > 0) await cli(['rmi', '-f', ...new Set(images)]);
      }
      rmSync(scratch, { recursive: true, force: true });
    });

    it('runArgs: SYS_PTRACE refused without the opt-in (no container made), in CapEff with it; --add-host in /etc/hosts; --init', async () => {
      const id = `dcp-${randomUUID().slice(0, 8)}`;
      ids.push(id);
      const root = project('runargs', { image: TEST_IMAGE, runArgs: ['--cap-add=SYS_PTRACE', '--add-host', 'berth-dc-db:10.11.12.13', '--init'] });
      const b = await open();

      await expect(b.upDevcontainer(id, { root })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining('--cap-add SYS_PTRACE') as string, hint: expect.stringContaining('--allow-privileged') as string });
      expect((await cli(['ps', '-a', '-q', '--filter', `name=^/?berth-${id}$`])).stdout.trim()).toBe('');

      const up = await b.upDevcontainer(id, { root, allowPrivileged: true });
      expect(up.action).toBe('created');
      expect(up.devcontainer.granted).toEqual(['--cap-add SYS_PTRACE']);
      const capEff = BigInt(`0x${await sh(id, "sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status")}`);
      expect((capEff >> CAP_SYS_PTRACE) & 1n).toBe(1n);
      expect(await sh(id, 'grep berth-dc-db /etc/hosts')).toMatch(/^10\.11\.12\.13\s+berth-dc-db$/);
      // --init: PID 1 is the engine's init (docker-init, podman-init), the keep-alive its child.
      expect(await sh(id, 'cat /proc/1/comm')).toMatch(/^(docker-init|podman-init|catatonit|tini)$/);
    }, 120_000);

    it('a local feature: its onCreateCommand before the config\'s, its entrypoint at start and again after stop + up', async () => {
      const id = `dcp-${randomUUID().slice(0, 8)}`;
      ids.push(id);
      const root = project('feature', {
        image: TEST_IMAGE,
        features: { './starter': {} },
        onCreateCommand: 'echo config-onCreate >> hooks.log',
      });
      const dir = join(root, '.devcontainer/starter');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'devcontainer-feature.json'),
        JSON.stringify({ id: 'starter', entrypoint: '/usr/local/share/berth-starter.sh', onCreateCommand: 'echo feature-onCreate >> hooks.log' }),
      );
      writeFileSync(join(dir, 'install.sh'), '#!/bin/sh\nset -e\nprintf \'#!/bin/sh\\necho "started $$" >> /var/tmp/berth-entry.log\\n\' > /usr/local/share/berth-starter.sh\nchmod +x /usr/local/share/berth-starter.sh\n');
      chmodSync(join(dir, 'install.sh'), 0o755);
      const b = await open();

      const up = await b.upDevcontainer(id, { root });
      expect(up.action).toBe('created');
      expect(readFileSync(join(root, 'hooks.log'), 'utf8').trim().split('\n')).toEqual(['feature-onCreate', 'config-onCreate']);
      const starts = async (count: number): Promise<string[]> =>
        waitFor(
          async () => {
            const lines = (await sh(id, 'cat /var/tmp/berth-entry.log 2>/dev/null || true')).split('\n').filter((l) => l !== '');
            return lines.length >= count ? lines : null;
          },
          { timeout: 20_000, message: `${String(count)} entrypoint run(s)` },
        );
      expect(await starts(1)).toHaveLength(1);
      // After the entrypoints the main process became the keep-alive (exec "$@"): the init's one child.
      expect(await sh(id, MAIN_PROCESS)).toBe('tail -f /dev/null');

      await b.stop(id);
      const again = await b.upDevcontainer(id, { root });
      expect(again.action).toBe('started');
      expect(await starts(2)).toHaveLength(2);
      // Create hooks are not run again.
      expect(existsSync(join(root, 'hooks.log')) && readFileSync(join(root, 'hooks.log'), 'utf8').trim().split('\n')).toEqual(['feature-onCreate', 'config-onCreate']);
    }, 300_000);
  });
}
