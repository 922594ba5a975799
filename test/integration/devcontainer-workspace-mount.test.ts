import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * A devcontainer's workspaceMount of the folder above the repository (the monorepo form: the
 * parent at /workspaces, workspaceFolder /workspaces/<repo>) on real engines and the Apple double:
 * exec, hooks, the files API and Berth.workspaceFolder start in the repository's folder, what they
 * write lands in the repository on this machine, the sibling is beside it; readonly holds and a
 * change of workspaceMount recreates with its reason; a workspaceMount of the home folder is
 * refused exactly as `--mount` refuses it, before anything is made.
 */
const MONOREPO = (extra = ''): string => `{
  // The parent of the repository, as the monorepo templates mount it.
  "image": "${TEST_IMAGE}",
  "workspaceMount": "source=\${localWorkspaceFolder}/..,target=/workspaces,type=bind${extra}",
  "workspaceFolder": "/workspaces/\${localWorkspaceFolderBasename}"${extra === '' ? ',\n  "postCreateCommand": "pwd > created-in"' : ''}
}`;

for (const kind of ['podman', 'docker', 'apple'] as const) {
  describe(`devcontainer workspaceMount of another folder on ${kind}${kind === 'apple' ? ' (double 1.2.2)' : ''}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcwm-${kind}-`));
    const id = `dcwm-${randomUUID().slice(0, 8)}`;
    const mono = join(scratch, 'mono');
    const repo = join(mono, 'repo');
    const userHome = join(scratch, 'user');
    const env = kind === 'apple' ? appleDoubleEnv('1.2.2') : engineEnv();
    let berth: Berth | null = null;

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    const sh = async (script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      return `${result.stdout.trim()}${result.exitCode === 0 ? '' : ` (exit ${String(result.exitCode)})`}`;
    };

    it('the parent is mounted, the workspace is the repository in it: exec, hooks, files land in the repository', async () => {
      mkdirSync(join(repo, '.devcontainer'), { recursive: true });
      mkdirSync(join(mono, 'sibling'));
      writeFileSync(join(mono, 'sibling', 'lib.txt'), 'beside\n');
      writeFileSync(join(repo, '.devcontainer/devcontainer.json'), MONOREPO());
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env, userHome });
      const b = berth;

      const up = await b.upDevcontainer(id, { root: repo });
      expect(up.action).toBe('created');
      expect(up.devcontainer.workspaceFolder).toBe('/workspaces/repo');
      expect(b.workspaceFolder(id)).toBe('/workspaces/repo');
      // The hook ran in the repository's folder, and wrote there on this machine.
      expect(readFileSync(join(repo, 'created-in'), 'utf8').trim()).toBe('/workspaces/repo');
      // A plain exec starts there too; the sibling repository is beside it.
      expect(await sh('pwd; cat ../sibling/lib.txt')).toBe('/workspaces/repo\nbeside');
      await sh('echo from-exec > exec.txt');
      expect(readFileSync(join(repo, 'exec.txt'), 'utf8')).toBe('from-exec\n');
      // The files API at the workspace folder: the repository on this machine.
      await b.files.write(id, '/workspaces/repo/api.txt', 'from-api');
      expect(readFileSync(join(repo, 'api.txt'), 'utf8')).toBe('from-api');
      expect(await b.files.read(id, '/workspaces/sibling/lib.txt')).toBe('beside\n');

      // Read-only now (without the hook, which could not write): a change of workspaceMount is a recreate, with the reason.
      writeFileSync(join(repo, '.devcontainer/devcontainer.json'), MONOREPO(',readonly'));
      const again = await b.upDevcontainer(id, { root: repo });
      expect(again.action).toBe('recreated');
      expect(again.reasons.join('; ')).toMatch(/mounts changed/);
      expect(again.devcontainer.notes.join('\n')).toMatch(/read-only/);
      expect(await sh('touch nope 2>/dev/null && echo wrote || echo refused')).toBe('refused');
      expect(existsSync(join(repo, 'nope'))).toBe(false);
      expect(await sh('cat exec.txt')).toBe('from-exec');
    });

    it('a workspaceMount of the home folder is refused exactly as --mount refuses it, before anything is made', async () => {
      const b = berth as Berth;
      const inHome = join(userHome, 'repo');
      mkdirSync(join(inHome, '.devcontainer'), { recursive: true });
      writeFileSync(join(inHome, '.devcontainer/devcontainer.json'), MONOREPO());
      const other = `${id}-home`;
      const viaFlag = await b.up(`${other}-flag`, { root: repo, image: TEST_IMAGE, mounts: [userHome] }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      const viaConfig = await b.upDevcontainer(other, { root: inHome }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(viaFlag?.message).toMatch(/^Refusing to mount .*user: it is /);
      expect(viaConfig?.message).toBe(viaFlag?.message);
      expect((await b.list()).map((w) => w.id)).toEqual([id]);
    });
  });
}
