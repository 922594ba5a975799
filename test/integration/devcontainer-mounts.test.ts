import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * devcontainer.json mounts on real engines: a bind at another target (read-only holds), a named
 * volume that outlives stop/up and a recreate (labelled as the workspace's, kept by rm), a tmpfs,
 * a sensitive source refused exactly as `--mount` refuses it; and build.target choosing the stage.
 */
const DOCKERFILE = `FROM ${TEST_IMAGE} AS dev\nRUN echo dev > /stage\nFROM ${TEST_IMAGE} AS prod\nRUN echo prod > /stage\n`;

for (const kind of ['podman', 'docker'] as const) {
  describe(`devcontainer mounts on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcm-${kind}-`));
    const id = `dcm-${randomUUID().slice(0, 8)}`;
    const volume = `berth-test-${id}-data`;
    const root = join(scratch, 'proj');
    const data = join(scratch, 'host-data');
    const userHome = join(scratch, 'user');
    const cli = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any' });
    let berth: Berth | null = null;

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      await cli(['volume', 'rm', '-f', volume]);
      const images = (await cli(['images', '-q', '--filter', `label=berth.devcontainer=${join(root, '.devcontainer/devcontainer.json')}`])).stdout.split('\n').filter((line) => line !== '');
      if (images.length > 0) await cli(['rmi', '-f', ...new Set(images)]);
      rmSync(scratch, { recursive: true, force: true });
    });

    const config = (env: string, extraMount = ''): string => `{
  "build": { "dockerfile": "Dockerfile", "target": "dev" },
  "containerEnv": { "V": "${env}" },
  "mounts": [
    "source=${data},target=/mnt/host-data,type=bind,readonly",
    { "source": "${volume}", "target": "/data", "type": "volume" },
    "type=tmpfs,target=/scratch"${extraMount}
  ]
}`;
    const sh = async (script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      return `${result.stdout.trim()}${result.exitCode === 0 ? '' : ` (exit ${String(result.exitCode)})`}`;
    };

    it('bind at another target (read-only), named volume kept across stop/up and recreate, tmpfs, build.target', async () => {
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      mkdirSync(data);
      writeFileSync(join(data, 'hello.txt'), 'from the host\n');
      writeFileSync(join(root, '.devcontainer/Dockerfile'), DOCKERFILE);
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), config('1'));
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env: engineEnv(), userHome });

      expect((await berth.upDevcontainer(id, { root })).action).toBe('created');
      // build.target: the dev stage, not the last one.
      expect(await sh('cat /stage')).toBe('dev');
      // The host folder at another path, read-only there.
      expect(await sh('cat /mnt/host-data/hello.txt')).toBe('from the host');
      expect(await sh('touch /mnt/host-data/x 2>/dev/null && echo wrote || echo refused')).toBe('refused');
      // tmpfs: a memory-backed folder.
      expect(await sh("awk '$2 == \"/scratch\" { print $3 }' /proc/mounts")).toBe('tmpfs');
      // The named volume: made by Berth with the workspace's labels.
      await sh('echo kept > /data/file');
      const labels = JSON.parse((await cli(['volume', 'inspect', volume, '--format', '{{json .Labels}}'])).stdout) as Record<string, string>;
      expect(labels['dev.berth.volume-workspace']).toBe(id);

      await berth.stop(id);
      const restarted = await berth.upDevcontainer(id, { root });
      expect(restarted.action, restarted.reasons.join('; ')).toBe('started');
      expect(await sh('cat /data/file; ls /scratch | wc -l')).toBe('kept\n0');

      // An edit recreates the container; the volume and what it holds stay.
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), config('2'));
      expect((await berth.upDevcontainer(id, { root })).action).toBe('recreated');
      expect(await sh('cat /data/file; echo $V')).toBe('kept\n2');

      // rm keeps the named volume (as the reference and `docker rm --volumes` do): the user's data.
      await berth.remove(id);
      expect((await cli(['volume', 'inspect', volume])).exitCode).toBe(0);
    });

    it('a sensitive bind source is refused exactly as --mount refuses it, before anything is made', async () => {
      const b = berth as Berth;
      mkdirSync(join(userHome, '.ssh'), { recursive: true });
      const viaFlag = await b.up(`${id}-flag`, { root, image: TEST_IMAGE, mounts: [join(userHome, '.ssh')] }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), config('3', `,\n    "source=${join(userHome, '.ssh')},target=/home/dev/.ssh,type=bind"`));
      const viaConfig = await b.upDevcontainer(id, { root }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(viaFlag?.message).toMatch(/Refusing to mount .*\.ssh/);
      expect(viaConfig?.message).toBe(viaFlag?.message);
      expect(await b.list()).toEqual([]);
    });
  });
}
