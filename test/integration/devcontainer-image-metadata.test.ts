import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { applyManifest, planManifest } from '../../src/orchestrator/plan-manifest.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { removeRunImages, TEST_RUN_LABEL } from '../support/test-images.js';

/**
 * The base image's devcontainer.metadata label on real engines, as the mcr.microsoft.com/devcontainers
 * images use it: an image built from the test image with a user and a label naming it as remoteUser,
 * an env variable and a postCreateCommand. A devcontainer.json naming the image without a
 * remoteUser runs as the label's user, with its env, the image's postCreate before the config's; a
 * config with its own remoteUser wins; a manifest `devcontainer: true` workspace on the image plans
 * nothing after apply (the planner applies the label as up does).
 */
const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');
const LABEL = '[{"remoteUser":"someuser","containerEnv":{"FROM_IMAGE":"1"},"postCreateCommand":"echo image >> /tmp/hooks"}]';

for (const kind of ['podman', 'docker'] as const) {
  describe(`the base image's devcontainer.metadata label on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcmeta-${kind}-`));
    const token = randomUUID().slice(0, 8);
    const image = `berth-dcmeta-${token}:test`;
    const ids = [`dcmeta-${token}-a`, `dcmeta-${token}-b`, `dcmeta-${token}-m`];
    let berth: Berth | null = null;

    beforeAll(async () => {
      const context = join(scratch, 'image');
      mkdirSync(context);
      writeFileSync(join(context, 'Dockerfile'), `FROM ${TEST_IMAGE}\nRUN useradd -m someuser\nLABEL devcontainer.metadata='${LABEL}'\n`);
      await run([kind, 'build', '--label', `${TEST_RUN_LABEL}=${token}`, '-t', image, context], { env: engineEnv(), timeoutMs: 300_000 });
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });
    }, 320_000);

    afterAll(async () => {
      for (const id of ids) await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      await removeRunImages(kind, token);
      rmSync(scratch, { recursive: true, force: true });
    });

    const project = (name: string, config: Record<string, unknown>): string => {
      const root = join(scratch, name);
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image, ...config }, null, 2));
      return root;
    };
    const sh = async (id: string, script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout.trim();
    };

    it('without a remoteUser: the label\'s user, its env, its postCreate before the config\'s', async () => {
      const [id = ''] = ids;
      const root = project('plain', { postCreateCommand: 'echo config >> /tmp/hooks' });
      const up = await (berth as Berth).upDevcontainer(id, { root });
      expect(up.devcontainer.user).toBe('someuser');
      expect(await sh(id, 'id -un')).toBe('someuser');
      // The CLI's plain exec too (`berth exec <id> -- id -un`, the built CLI on the same home).
      const env = { ...(engineEnv() as Record<string, string>), BERTH_HOME: join(scratch, 'home'), BERTH_RUNTIME: kind };
      const cli = await run([process.execPath, MAIN, 'exec', id, '--', 'id', '-un'], { env, okExitCodes: 'any', timeoutMs: 60_000 });
      expect(cli.stdout.trim(), cli.stderr).toBe('someuser');
      expect(await sh(id, 'echo "$FROM_IMAGE"')).toBe('1');
      expect(await sh(id, 'cat /tmp/hooks')).toBe('image\nconfig');
      // The hooks ran as the label's user too.
      expect(await sh(id, 'stat -c %U /tmp/hooks')).toBe('someuser');
    });

    it('a config with its own remoteUser wins over the label', async () => {
      const [, id = ''] = ids;
      const root = project('own-user', { remoteUser: 'root', containerEnv: { FROM_IMAGE: 'config' } });
      await (berth as Berth).upDevcontainer(id, { root });
      expect(await sh(id, 'id -un')).toBe('root');
      expect(await sh(id, 'echo "$FROM_IMAGE"')).toBe('config');
      // The image's hook still runs (only users and env have a winner).
      expect(await sh(id, 'cat /tmp/hooks')).toBe('image');
    });

    it('a manifest devcontainer: true workspace on the image plans nothing after apply (no false drift)', async () => {
      const [, , id = ''] = ids;
      project('manifest', {});
      const manifest = join(scratch, 'berth.yaml');
      writeFileSync(manifest, `version: 1\nworkspaces:\n  ${id}:\n    root: ./manifest\n    devcontainer: true\n`);
      const plan = () => planManifest(manifest, { open: () => Promise.resolve(berth as Berth), env: process.env });
      const first = await plan();
      expect(first.actions).toEqual([{ kind: 'create', workspace: id }]);
      const outcomes = await applyManifest(first);
      expect(outcomes.map((o) => [o.ok, o.message])).toEqual([[true, `create ${id}`]]);
      expect(await sh(id, 'id -un; echo "$FROM_IMAGE"')).toBe('someuser\n1');
      expect((await plan()).actions).toEqual([]);
      expect((await (berth as Berth).status(id)).state).toBe('running');
    });
  });
}
