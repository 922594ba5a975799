import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * `berth up --devcontainer` on real engines: a Dockerfile build with args (from the test image, no
 * registry), env with variables, the hooks in all three forms run once per container / on every
 * start, and an edited devcontainer.json recreating the container with the reason.
 */
const DOCKERFILE = `FROM ${TEST_IMAGE}\nARG GREETING\nRUN echo "$GREETING" > /greeting\n`;

function devcontainerJson(extraEnv = ''): string {
  return `// a devcontainer as repositories write them: comments, trailing commas
{
  "name": "berth devcontainer test",
  "build": { "dockerfile": "Dockerfile", "args": { "GREETING": "hello-\${localEnv:BERTH_DC_UNSET_VAR:args}", }, },
  "containerEnv": { "FOLDER": "\${containerWorkspaceFolder}", "BASE": "\${localWorkspaceFolderBasename}", "FROM_HOST": "\${localEnv:BERTH_DC_TEST_VAR}"${extraEnv} },
  "remoteEnv": { "PATH_PLUS": "\${containerEnv:PATH}:/extra" },
  "onCreateCommand": "echo onCreate >> hooks.log",
  "updateContentCommand": ["sh", "-c", "echo updateContent >> hooks.log; echo \\"$PATH_PLUS\\" > remote-env.txt"],
  "postCreateCommand": { "shell": "echo postCreate >> a.log", "argv": ["touch", "b.done"] },
  "postStartCommand": "echo postStart >> hooks.log",
  "postAttachCommand": { "log": "echo postAttach >> attach.log", "who": ["sh", "-c", "pwd > attach-pwd.txt"] },
  "initializeCommand": "echo initialize >> host.log",
  "waitFor": "postCreateCommand",
}
`;
}

for (const kind of ['podman', 'docker'] as const) {
  describe(`berth up --devcontainer on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dc-${kind}-`));
    const id = `dc-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, 'my-project');
    let berth: Berth | null = null;

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      // The images this test built (labelled with its config file), and only those.
      const cli = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any' });
      const images = (await cli(['images', '-q', '--filter', `label=berth.devcontainer=${join(root, '.devcontainer/devcontainer.json')}`])).stdout.split('\n').filter((line) => line !== '');
      if (images.length > 0) await cli(['rmi', '-f', ...new Set(images)]);
      rmSync(scratch, { recursive: true, force: true });
    });

    const lines = (file: string): string[] => (existsSync(join(root, file)) ? readFileSync(join(root, file), 'utf8').trim().split('\n') : []);
    const sh = async (script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      expect(result.exitCode).toBe(0);
      return result.stdout.trim();
    };

    it('builds with args, sets env with variables, runs create hooks once and postStart on every start, recreates on an edit', async () => {
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/Dockerfile'), DOCKERFILE);
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), devcontainerJson());
      process.env['BERTH_DC_TEST_VAR'] = 'from-the-host';
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });

      // initializeCommand runs on this machine: refused until the user opts in, before anything is made.
      await expect(berth.upDevcontainer(id, { root })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining('initializeCommand (/bin/sh -c echo initialize >> host.log) runs on this machine') as string });
      expect(existsSync(join(root, 'host.log'))).toBe(false);
      expect(await berth.list()).toEqual([]);
      const up = (): ReturnType<Berth['upDevcontainer']> => (berth as Berth).upDevcontainer(id, { root, runInitializeCommand: true });

      const first = await up();
      expect(first.action).toBe('created');
      // It ran on the host, in the workspace folder, before the container existed.
      expect(lines('host.log')).toEqual(['initialize']);
      expect(first.devcontainer.hooks).toEqual(['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand']);
      // The hooks ran in the workspace folder (the mounted root), in the reference's order.
      expect(lines('hooks.log')).toEqual(['onCreate', 'updateContent', 'postStart']);
      expect(lines('a.log')).toEqual(['postCreate']);
      expect(existsSync(join(root, 'b.done'))).toBe(true);
      // up is not an attach: postAttach has not run. A shell attaching runs it (both named commands), each time.
      expect(lines('attach.log')).toEqual([]);
      const attached = await berth.runAttachHooks(id);
      expect(attached.map((r) => [r.name, r.exitCode]).sort()).toEqual([['log', 0], ['who', 0]]);
      expect(lines('attach-pwd.txt')).toEqual([`/workspaces/${basename(root)}`]);
      if (kind === 'podman') {
        // An app's terminal (pty without a command) is an attach too; a pty running a given command is not.
        const terminal = await berth.pty(id, { cols: 80, rows: 24 });
        await terminal.kill();
        const command = await berth.pty(id, { cols: 80, rows: 24, command: ['true'] });
        await command.wait();
      }
      expect(lines('attach.log')).toEqual(kind === 'podman' ? ['postAttach', 'postAttach'] : ['postAttach']);
      // remoteEnv's ${containerEnv:PATH} was resolved against the running container.
      expect(lines('remote-env.txt')[0]).toMatch(/^\/.*bin.*:\/extra$/);
      // The build arg reached the Dockerfile; containerEnv's variables were substituted.
      expect(await sh('cat /greeting')).toBe('hello-args');
      expect(await sh('pwd')).toBe(`/workspaces/${basename(root)}`);
      expect(await sh('echo "$FOLDER|$BASE|$FROM_HOST"')).toBe(`/workspaces/my-project|my-project|from-the-host`);

      // Stop + up again: the same container starts; only postStart runs (initializeCommand runs on every up, as the reference's).
      await berth.stop(id);
      const again = await up();
      expect(lines('host.log')).toEqual(['initialize', 'initialize']);
      expect(again.action).toBe('started');
      expect(again.devcontainer.hooks).toEqual(['postStartCommand']);
      expect(lines('hooks.log')).toEqual(['onCreate', 'updateContent', 'postStart', 'postStart']);
      expect(lines('a.log')).toEqual(['postCreate']);

      // Up while running: nothing to do, no hook.
      const reused = await up();
      expect(reused.action).toBe('reused');
      expect(reused.devcontainer.hooks).toEqual([]);

      // An edited devcontainer.json is drift: status says so with the reason before any up (the reference never notices)...
      expect((await berth.status(id)).state).toBe('running');
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), devcontainerJson(', "EDITED": "yes"'));
      const drifted = await berth.status(id);
      expect(drifted.state).toBe('drifted');
      expect(drifted.drift?.[0]).toContain('devcontainer.json (or the Dockerfile/compose files it builds from) changed since the workspace came up');
      // ...and up recreates it with the reason, the create hooks running in the new container.
      const edited = await up();
      expect(edited.action).toBe('recreated');
      expect(edited.reasons).toContain('devcontainer.json or its Dockerfile changed');
      expect(edited.container.id).not.toBe(first.container.id);
      expect(await sh('echo "$EDITED"')).toBe('yes');
      expect(lines('hooks.log')).toEqual(['onCreate', 'updateContent', 'postStart', 'postStart', 'onCreate', 'updateContent', 'postStart']);

      // An edited Dockerfile is drift too (a new image by content).
      expect((await berth.status(id)).state).toBe('running');
      appendFileSync(join(root, '.devcontainer/Dockerfile'), 'RUN echo second > /second\n');
      expect((await berth.status(id)).state).toBe('drifted');
      const rebuilt = await up();
      expect(rebuilt.action).toBe('recreated');
      expect(rebuilt.reasons).toEqual(expect.arrayContaining(['devcontainer.json or its Dockerfile changed']));
      expect(await sh('cat /second')).toBe('second');
    }, 300_000);

    it('a failing hook stops the later ones and says which; the finished ones are not run again', async () => {
      const b = berth as Berth;
      const failId = `${id}-f`;
      const failRoot = join(scratch, 'failing');
      mkdirSync(join(failRoot, '.devcontainer'), { recursive: true });
      const write = (postCreate: string): void =>
        writeFileSync(join(failRoot, '.devcontainer/devcontainer.json'), JSON.stringify({ image: TEST_IMAGE, onCreateCommand: 'echo once >> once.log', postCreateCommand: postCreate, postStartCommand: 'touch started' }));
      write('test -e fixed || exit 3');
      try {
        await expect(b.upDevcontainer(failId, { root: failRoot })).rejects.toMatchObject({
          code: 'E_PROCESS',
          message: expect.stringMatching(/postCreateCommand failed \(exit 3\).*not run: postStartCommand/) as string,
        });
        expect(existsSync(join(failRoot, 'started'))).toBe(false);
        writeFileSync(join(failRoot, 'fixed'), '');
        const retried = await b.upDevcontainer(failId, { root: failRoot });
        expect(retried.action).toBe('reused');
        // onCreate finished before: not again; postCreate now passes, then the postStart it held back.
        expect(retried.devcontainer.hooks).toEqual(['postCreateCommand', 'postStartCommand']);
        expect(existsSync(join(failRoot, 'started'))).toBe(true);
        expect(readFileSync(join(failRoot, 'once.log'), 'utf8')).toBe('once\n');
      } finally {
        await b.remove(failId).catch(() => undefined);
      }
    }, 180_000);
  });
}
