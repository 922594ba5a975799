import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { applyManifest, planManifest } from '../../src/orchestrator/plan-manifest.js';
import { run } from '../../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * `devcontainer: true` for a workspace in berth.yaml, on real engines: apply brings it up as `berth
 * up --devcontainer` does (a local feature with an option, env, the hooks once), a second plan has
 * nothing to do, an edited devcontainer.json is a recreate in `plan` with the reason and apply
 * recreates; an edited feature option is drift in `status`, with the reason; and `berth mcp --up`
 * of the stopped workspace brings it back from its devcontainer.json (its postStart runs), not as a
 * plain image.
 */
const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');

function devcontainerJson(greeting: string, extraEnv = ''): string {
  return `// a devcontainer as repositories write them
{
  "image": "${TEST_IMAGE}",
  "remoteUser": "root",
  "containerEnv": { "FROM_DEVCONTAINER": "yes"${extraEnv} },
  "features": { "./greet": { "greeting": "${greeting}" }, },
  "onCreateCommand": "echo onCreate >> hooks.log",
  "postCreateCommand": "echo postCreate >> hooks.log",
  "postStartCommand": "echo postStart >> hooks.log",
}
`;
}

for (const kind of ['podman', 'docker'] as const) {
  describe(`berth.yaml devcontainer: true on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcm-${kind}-`));
    const id = `dcm-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, 'project');
    const configFile = join(root, '.devcontainer/devcontainer.json');
    const manifest = join(scratch, 'berth.yaml');
    const home = join(scratch, 'home');
    let berth: Berth | null = null;
    const cli = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any' });

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      // The images this test built (labelled with its config file), and only those.
      const images = (await cli(['images', '-q', '--filter', `label=berth.devcontainer=${configFile}`])).stdout.split('\n').filter((line) => line !== '');
      if (images.length > 0) await cli(['rmi', '-f', ...new Set(images)]);
      rmSync(scratch, { recursive: true, force: true });
    });

    const hooks = (): string[] => (existsSync(join(root, 'hooks.log')) ? readFileSync(join(root, 'hooks.log'), 'utf8').trim().split('\n') : []);
    const sh = async (script: string): Promise<string> => {
      const result = await (berth as Berth).exec(id, ['sh', '-c', script]);
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout.trim();
    };
    const plan = () => planManifest(manifest, { open: () => Promise.resolve(berth as Berth), env: process.env });

    it('apply converges with the hooks run once; an edit is a recreate in plan with the reason; a feature option edit is drift in status; mcp --up brings it back from the file', async () => {
      mkdirSync(join(root, '.devcontainer/greet'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/greet/devcontainer-feature.json'), JSON.stringify({ id: 'greet', options: { greeting: { type: 'string', default: 'hello' } } }));
      writeFileSync(join(root, '.devcontainer/greet/install.sh'), '#!/bin/sh\nset -e\necho "$GREETING" > /greet.txt\n');
      writeFileSync(configFile, devcontainerJson('hej'));
      writeFileSync(manifest, `version: 1\nworkspaces:\n  ${id}:\n    root: ./project\n    devcontainer: true\n    cpus: 1\n`);
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home, runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });

      // A first plan: the image is not built yet, which is no block (apply builds it).
      const first = await plan();
      expect(first.actions).toEqual([{ kind: 'create', workspace: id }]);
      const outcomes = await applyManifest(first);
      expect(outcomes.map((o) => [o.ok, o.message])).toEqual([[true, `create ${id}`]]);
      expect(hooks()).toEqual(['onCreate', 'postCreate', 'postStart']);
      expect(await sh('cat /greet.txt; echo "$FROM_DEVCONTAINER"; pwd')).toBe('hej\nyes\n/workspaces/project');
      const created = await berth.status(id);
      expect(created.state).toBe('running');
      expect(created.image).toMatch(/berth-devcontainer-features:[0-9a-f]{16}$/);

      // Converged: the same hash as the container's, nothing to do, no hook runs again.
      const again = await plan();
      expect(again.actions).toEqual([]);
      await applyManifest(again);
      expect(hooks()).toEqual(['onCreate', 'postCreate', 'postStart']);

      // An edited devcontainer.json: plan says recreate, with the reason up --devcontainer gives.
      writeFileSync(configFile, devcontainerJson('hej', ', "EDITED": "yes"'));
      const edited = await plan();
      expect(edited.actions).toHaveLength(1);
      expect(edited.actions[0]).toMatchObject({ kind: 'recreate', workspace: id });
      expect(edited.actions[0]?.kind === 'recreate' ? edited.actions[0].reasons : []).toContain('devcontainer.json or its Dockerfile changed');
      const recreated = await applyManifest(edited);
      expect(recreated.every((o) => o.ok), recreated.map((o) => o.message).join('; ')).toBe(true);
      expect(await sh('echo "$EDITED"')).toBe('yes');
      // The create hooks ran in the new container, once.
      expect(hooks()).toEqual(['onCreate', 'postCreate', 'postStart', 'onCreate', 'postCreate', 'postStart']);
      expect((await plan()).actions).toEqual([]);

      // A feature option edited: status says drift, naming the features (resolved offline).
      expect((await berth.status(id)).state).toBe('running');
      writeFileSync(configFile, devcontainerJson('hallo', ', "EDITED": "yes"'));
      const drifted = await berth.status(id);
      expect(drifted.state).toBe('drifted');
      expect(drifted.drift?.[0]).toContain('the features of');
      expect(drifted.driftUnknown).toBeUndefined();
      // So does a local feature's own file (a listing hashes the folder).
      writeFileSync(configFile, devcontainerJson('hej', ', "EDITED": "yes"'));
      writeFileSync(join(root, '.devcontainer/greet/install.sh'), '#!/bin/sh\nset -e\necho "$GREETING!" > /greet.txt\n');
      expect((await berth.status(id)).state).toBe('drifted');
      writeFileSync(join(root, '.devcontainer/greet/install.sh'), '#!/bin/sh\nset -e\necho "$GREETING" > /greet.txt\n');

      // Stopped, then `berth mcp --up`: back from its devcontainer.json (postStart runs, the same container).
      const before = await berth.status(id);
      await berth.stop(id);
      expect((await berth.status(id)).state).toBe('stopped');
      const env = { ...(engineEnv() as Record<string, string>), BERTH_HOME: home, BERTH_RUNTIME: kind };
      const client = new Client({ name: 'berth-test', version: '0' });
      const transport = new StdioClientTransport({ command: 'node', args: [MAIN, 'mcp', '--workspace', id, '--up'], env, stderr: 'pipe' });
      let stderr = '';
      transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        // Serving starts once the workspace is up: the server's tools are there to list.
        await client.connect(transport, { timeout: 180_000 });
        expect((await client.listTools()).tools.map((t) => t.name), stderr).toContain('exec');
        expect(await sh('echo "$FROM_DEVCONTAINER|$EDITED"; cat /greet.txt')).toBe('yes|yes\nhej');
        // The agent starts in the devcontainer's workspaceFolder, and relative paths name files there.
        const pwd = await client.callTool({ name: 'exec', arguments: { command: 'pwd' } });
        expect(pwd.isError, JSON.stringify(pwd.content)).toBeFalsy();
        expect((pwd.structuredContent as { stdout: string }).stdout.trim()).toBe('/workspaces/project');
        const log = await client.callTool({ name: 'file_read', arguments: { path: 'hooks.log' } });
        expect(log.isError, JSON.stringify(log.content)).toBeFalsy();
        expect(JSON.stringify(log.structuredContent)).toContain('postStart');
      } finally {
        await client.close();
      }
      // Its postStart hook ran (the hook output went to stderr, stdout being the protocol's).
      expect(hooks()).toEqual(['onCreate', 'postCreate', 'postStart', 'onCreate', 'postCreate', 'postStart', 'postStart']);
      expect(stderr).toContain('postStartCommand');
      const back = await berth.status(id);
      expect(back.state).toBe('running');
      expect(back.image).toBe(before.image);
    }, 600_000);
  });
}
