import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { composeProjectName } from '../../src/workspace/devcontainer-compose.js';
import { COMPOSE_LABELS } from '../../src/workspace/labels.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * A devcontainer.json with dockerComposeFile + service on real engines, through the engine's own
 * compose tool (docker: `docker compose` or docker-compose; podman: `podman compose` or
 * podman-compose): the workspace is the named service, a second service runs beside it, each
 * reaches the other by name, the second is labelled as the workspace's, stopped with it and
 * removed with it.
 */
const COMPOSE = (marker: string): string => `services:
  app:
    image: ${TEST_IMAGE}
    environment:
      FROM_COMPOSE: "yes"
    volumes:
      - ../..:/workspaces:cached
    command: sleep infinity
  db:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "echo ${marker} > /tmp/answer.txt && exec python3 -m http.server 8080 -d /tmp"]
`;

for (const kind of ['podman', 'docker'] as const) {
  describe(`berth up --devcontainer with compose on ${kind}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-dcc-${kind}-`));
    const id = `dcc-${randomUUID().slice(0, 8)}`;
    const root = join(scratch, 'shop');
    const marker = `answer-${randomUUID().slice(0, 8)}`;
    const cli = (args: string[]) => run([kind, ...args], { env: engineEnv(), okExitCodes: 'any', timeoutMs: 60_000 });
    const services = async (): Promise<{ name: string; state: string }[]> => {
      const out = await cli(['ps', '-a', '--filter', `label=${COMPOSE_LABELS.workspace}=${id}`, '--format', '{{.Names}}\t{{.State}}']);
      return out.stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => ({ name: line.split('\t')[0] ?? '', state: (line.split('\t')[1] ?? '').toLowerCase() }));
    };
    let berth: Berth | null = null;

    afterAll(async () => {
      await berth?.remove(id).catch(() => undefined);
      await berth?.close();
      // Whatever a failed run left: this test's project only.
      for (const { name } of await services()) await cli(['rm', '-f', name]);
      await cli(['network', 'rm', `${composeProjectName(id)}_default`]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('two services: the workspace is the named service, reaches the other by name; stop and rm take both', async () => {
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/docker-compose.yml'), COMPOSE(marker));
      writeFileSync(
        join(root, '.devcontainer/devcontainer.json'),
        JSON.stringify({
          name: 'compose test',
          dockerComposeFile: 'docker-compose.yml',
          service: 'app',
          runServices: ['app', 'db'],
          workspaceFolder: '/workspaces/${localWorkspaceFolderBasename}',
          postCreateCommand: 'echo created > created.txt',
        }),
      );
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env: engineEnv(), userHome: join(scratch, 'user') });
      const b = berth;

      const up = await b.upDevcontainer(id, { root });
      expect(up.action).toBe('created');
      expect(up.devcontainer.hooks).toContain('postCreateCommand');
      expect(up.devcontainer.notes.join('\n')).toMatch(/volumes is not applied/);
      const sh = async (script: string): Promise<{ exitCode: number; stdout: string }> => {
        const r = await b.exec(id, ['sh', '-c', script]);
        return { exitCode: r.exitCode, stdout: r.stdout.trim() };
      };
      expect(await sh('pwd; echo "$FROM_COMPOSE"; cat created.txt')).toEqual({ exitCode: 0, stdout: `/workspaces/shop\nyes\ncreated` });
      // The other service by its name (its server may still be starting: poll with a deadline).
      const deadline = Date.now() + 60_000;
      let answer = '';
      while (Date.now() < deadline && answer !== marker) {
        answer = (await sh('curl -fsS --max-time 2 http://db:8080/answer.txt || true')).stdout;
      }
      expect(answer).toBe(marker);
      // And the other service reaches the workspace by the service's name.
      const [db] = await services();
      expect(db?.state).toMatch(/running|up/);
      const back = await cli(['exec', db?.name ?? '', 'sh', '-c', 'getent hosts app | head -1']);
      const workspaceIp = (await cli(['inspect', '--format', `{{(index .NetworkSettings.Networks "${composeProjectName(id)}_default").IPAddress}}`, up.container.name])).stdout.trim();
      expect(back.stdout.split(/\s+/)[0]).toBe(workspaceIp);

      // stop: the workspace and its services; up again: both back, no create hook again.
      await b.stop(id);
      expect((await services()).map((s) => s.state)).not.toContain('running');
      const again = await b.upDevcontainer(id, { root });
      expect(again.action).toBe('started');
      expect(again.devcontainer.hooks).not.toContain('postCreateCommand');
      expect((await services())[0]?.state).toMatch(/running|up/);
      expect((await sh('curl -fsS --max-time 5 --retry 10 --retry-delay 1 --retry-all-errors http://db:8080/answer.txt')).stdout).toBe(marker);

      // rm: the workspace, the other service and the project network are gone.
      await b.remove(id);
      expect(await services()).toEqual([]);
      expect((await cli(['network', 'inspect', `${composeProjectName(id)}_default`])).exitCode).not.toBe(0);
    }, 300_000);

    it("a workspace lost behind Berth's back leaves its other services to gc, after the grace", async () => {
      const b = berth as Berth;
      const up = await b.upDevcontainer(id, { root });
      expect((await services()).length).toBe(1);
      await cli(['rm', '-f', up.container.name]);
      // The first gc closes the ledger entry of the vanished container; while it was open the
      // workspace was alive, so its services were not garbage yet.
      expect((await b.gc({ apply: true, graceMs: 0 })).forgotten.map((f) => f.name)).toEqual([up.container.name]);
      expect((await b.gc()).services).toEqual([]);
      const collected = await b.gc({ apply: true, graceMs: 0 });
      expect(collected.services.map((s) => s.workspace)).toEqual([id]);
      expect(await services()).toEqual([]);
    }, 300_000);
  });
}
