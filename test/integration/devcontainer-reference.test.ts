import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * The reference (@devcontainers/cli, node_modules/.bin/devcontainer) and Berth bring the same
 * devcontainer.json up, each from its own copy of the folder (same basename, so the variables
 * resolve alike), and what ran is compared: the image built from the same Dockerfile and args, the
 * hooks' user, folder, env and remoteEnv, their order, the workspace mount, containerEnv.
 *
 * Intended differences, asserted as such:
 * - postAttachCommand: the reference runs it at the end of `up` (unless --skip-post-attach); Berth's
 *   up is not an attach, a shell attaching is (berth shell, pty()).
 * Found on this machine, not Berth's to match:
 * - on podman on Linux the reference adds `--userns=keep-id` to `run` when the remoteUser is not
 *   root and runArgs has no --uidmap/--gidmap (getPodmanArgs, src/spec-node/singleContainer.ts@v0.88.0
 *   lines 438-451; the same in the installed 0.89.0 bundle), and rootful podman, as here, refuses it
 *   ("keep-id is only supported in rootless mode"). No option or variable turns it off, and a
 *   --uidmap in runArgs would change the container being compared; so on podman the reference runs
 *   through a --docker-path wrapper that drops only that one argument and hands everything else to
 *   podman unchanged (it still detects podman, and adds `--security-opt label=disable` as it would);
 * - for a remoteUser without a home (nobody: /nonexistent) the reference skips the create hooks
 *   silently (its markers live in the home); Berth's markers are in its state.
 */
const DOCKERFILE = `FROM ${TEST_IMAGE}\nARG WHO\nRUN useradd -m "$WHO"\n`;
const CONFIG = JSON.stringify({
  build: { dockerfile: 'Dockerfile', args: { WHO: 'dev' } },
  remoteUser: 'dev',
  // The reference would otherwise build a second image to match the host's uid; Berth ignores the key.
  updateRemoteUserUID: false,
  containerEnv: { FOO: 'foo-${localWorkspaceFolderBasename}' },
  remoteEnv: { BAR: '${containerEnv:FOO}-bar' },
  onCreateCommand: 'echo onCreate $(id -un) $(pwd) $FOO $BAR >> hooks.log',
  postCreateCommand: ['sh', '-c', 'echo postCreate $(id -un) >> hooks.log'],
  postStartCommand: { a: 'echo postStart $(id -un) >> hooks.log' },
  postAttachCommand: 'echo postAttach $(id -un) >> hooks.log',
});

const REFERENCE = join(import.meta.dirname, '../../node_modules/.bin/devcontainer');

/** `podman` with `--userns=keep-id` taken out of its arguments (see above); every other argument passes as it came. */
const PODMAN_WITHOUT_KEEP_ID = `#!/bin/sh
for arg; do
  shift
  [ "$arg" = --userns=keep-id ] || set -- "$@" "$arg"
done
exec podman "$@"
`;

for (const kind of ['docker', 'podman'] as const) {
  describe(`berth up --devcontainer against the reference devcontainer up (${kind})`, () => {
    const scratch = mkdtempSync(join(tmpdir(), 'berth-dcref-'));
    const id = `dcref-${randomUUID().slice(0, 8)}`;
    const folders = { reference: join(scratch, 'reference', 'proj'), berth: join(scratch, 'berth', 'proj') };
    const docker = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any', timeoutMs: 60_000 });
    const dockerPath = kind === 'docker' ? 'docker' : join(scratch, 'podman-without-keep-id');
    let berth: Berth | null = null;
    let referenceContainer = '';

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      const images = new Set<string>();
      if (referenceContainer !== '') {
        images.add((await docker(['inspect', '--format', '{{.Image}}', referenceContainer])).stdout.trim());
        await docker(['rm', '-f', referenceContainer]);
      }
      images.add((await docker(['images', '-q', '--filter', `label=berth.devcontainer=${join(folders.berth, '.devcontainer/devcontainer.json')}`])).stdout.trim());
      const built = [...images].flatMap((line) => line.split('\n')).filter((image) => image !== '');
      if (built.length > 0) await docker(['rmi', '-f', ...built]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('the same image, user, env, folder, mount and hook outcomes; postAttach at attach, not at up', async () => {
      for (const folder of Object.values(folders)) {
        mkdirSync(join(folder, '.devcontainer'), { recursive: true });
        writeFileSync(join(folder, '.devcontainer/Dockerfile'), DOCKERFILE);
        writeFileSync(join(folder, '.devcontainer/devcontainer.json'), CONFIG);
        // The hooks run as dev and write to the mounted folder.
        chmodSync(folder, 0o777);
      }
      const lines = (folder: string): string[] => (existsSync(join(folder, 'hooks.log')) ? readFileSync(join(folder, 'hooks.log'), 'utf8').trim().split('\n') : []);

      if (kind === 'podman') {
        writeFileSync(dockerPath, PODMAN_WITHOUT_KEEP_ID);
        chmodSync(dockerPath, 0o755);
      }
      const reference = await run([REFERENCE, 'up', '--workspace-folder', folders.reference, '--docker-path', dockerPath, '--log-format', 'json'], { env: engineEnv(), timeoutMs: 240_000, okExitCodes: 'any' });
      const outcome = JSON.parse(reference.stdout.trim().split('\n').pop() ?? '{}') as { outcome?: string; containerId?: string; remoteUser?: string; remoteWorkspaceFolder?: string };
      referenceContainer = outcome.containerId ?? '';
      expect(outcome, reference.stderr.slice(-2000)).toMatchObject({ outcome: 'success', remoteUser: 'dev', remoteWorkspaceFolder: '/workspaces/proj' });

      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });
      const up = await berth.upDevcontainer(id, { root: folders.berth });
      expect(up.devcontainer).toMatchObject({ user: 'dev', workspaceFolder: '/workspaces/proj' });

      // Hooks: the same order, user, folder, containerEnv and remoteEnv (with ${containerEnv:FOO} resolved in the container).
      const created = ['onCreate dev /workspaces/proj foo-proj foo-proj-bar', 'postCreate dev', 'postStart dev'];
      expect(lines(folders.reference)).toEqual([...created, 'postAttach dev']);
      expect(lines(folders.berth)).toEqual(created);
      // Intended difference: Berth runs postAttach when a shell attaches.
      await berth.runAttachHooks(id);
      expect(lines(folders.berth)).toEqual([...created, 'postAttach dev']);

      // The containers: containerEnv, the workspace folder mounted at the same place, an image from the same Dockerfile and args.
      const inspect = async (container: string) =>
        JSON.parse((await docker(['inspect', '--format', '{{json .Config.Env}}|{{json .Mounts}}', container])).stdout.trim().split('|')[0] ?? '[]') as string[];
      const mounts = async (container: string) =>
        (JSON.parse((await docker(['inspect', '--format', '{{json .Mounts}}', container])).stdout.trim()) as { Source: string; Destination: string }[]).map((m) => [m.Source, m.Destination]);
      expect(await inspect(referenceContainer)).toContain('FOO=foo-proj');
      expect(await inspect(up.container.name)).toContain('FOO=foo-proj');
      expect(await mounts(referenceContainer)).toContainEqual([folders.reference, '/workspaces/proj']);
      expect(await mounts(up.container.name)).toContainEqual([folders.berth, '/workspaces/proj']);
      const passwd = async (container: string) => (await docker(['exec', container, 'getent', 'passwd', 'dev'])).stdout.trim();
      expect(await passwd(up.container.name)).toBe(await passwd(referenceContainer));
      expect(await passwd(referenceContainer)).toMatch(/^dev:x:\d+:\d+::\/home\/dev:/);

      // read-configuration agrees with berth's read on what the file says.
      const read = await run([REFERENCE, 'read-configuration', '--workspace-folder', folders.reference, '--docker-path', dockerPath], { env: engineEnv(), timeoutMs: 60_000 });
      const configuration = (JSON.parse(read.stdout) as { configuration: { remoteUser: string; containerEnv: Record<string, string> } }).configuration;
      const { readDevcontainer } = await import('../../src/devcontainer/read.js');
      const ours = readDevcontainer({ workspaceFolder: folders.reference }).config;
      expect({ remoteUser: configuration.remoteUser, containerEnv: configuration.containerEnv }).toEqual({ remoteUser: ours.remoteUser, containerEnv: ours.containerEnv });
    }, 300_000);
  });
}
