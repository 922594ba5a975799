import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { berthCli } from './cli-suite.js';

const CORPUS = join(import.meta.dirname, '../fixtures/devcontainer-corpus');

describe('berth devcontainer read (the built binary)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-dc-cli-'));
  const berth = berthCli({ ...process.env, BERTH_HOME: join(scratch, 'home'), BERTH_NO_DAEMON: '1' });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('prints the configuration as one JSON document, warnings on stderr with their place', async () => {
    const result = await berth(['devcontainer', 'read', '--workspace-folder', join(CORPUS, 'mastodon-mastodon'), '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const read = JSON.parse(result.stdout) as { config: { source: { kind: string; service: string }; workspaceFolder: string }; warnings: { path: string }[]; errors: unknown[] };
    expect(read.config.source).toMatchObject({ kind: 'compose', service: 'app' });
    expect(read.config.workspaceFolder).toBe('/workspaces/mastodon-mastodon');
    expect(read.errors).toEqual([]);
    expect(result.stderr).toContain('warning: .devcontainer/devcontainer.json:32:3: waitFor: ignored');
  });

  it('what up would refuse: exit 1, still one JSON document with --json, file:line:column without', async () => {
    const folder = join(CORPUS, 'vdc-docker-in-docker');
    const asJson = await berth(['devcontainer', 'read', '--workspace-folder', folder, '--json']);
    expect(asJson.exitCode).toBe(1);
    expect((JSON.parse(asJson.stdout) as { errors: { path: string; line: number }[] }).errors).toMatchObject([{ path: 'runArgs[0]', line: 8 }]);
    const plain = await berth(['devcontainer', 'read', '--workspace-folder', folder]);
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain('.devcontainer/devcontainer.json:8:3: runArgs[0]: Berth does not carry out the docker run flag "-v"');
  });

  it('a malformed file and a folder without one: clear errors, never a crash', async () => {
    const bad = join(scratch, 'bad');
    mkdirSync(join(bad, '.devcontainer'), { recursive: true });
    writeFileSync(join(bad, '.devcontainer/devcontainer.json'), '{\n  "image": "x"\n  "name": "y"\n}\n');
    const malformed = await berth(['devcontainer', 'read', '--workspace-folder', bad]);
    expect(malformed.exitCode).toBe(1);
    expect(malformed.stderr).toContain('.devcontainer/devcontainer.json:3:3: JSON syntax: a "," was expected');
    const none = await berth(['devcontainer', 'read', '--workspace-folder', scratch, '--json']);
    expect(none.exitCode).toBe(1);
    expect(JSON.parse(none.stdout)).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
  });
});
