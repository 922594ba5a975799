import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `berth up --devcontainer` on Apple `container` (the double, 1.2.2, podman underneath): the
 * Dockerfile built with its args through `container build`, a local feature with an option in a
 * derived image built the same way, the hooks (create hooks once per container, postStart on every
 * start), forwardPorts as preview ports published at create (a server on the forwarded port gets a
 * URL that answers), and compose refused before anything is built.
 */
const DOCKERFILE = `FROM ${TEST_IMAGE}\nARG GREETING\nRUN echo "$GREETING" > /greeting\n`;
const CONFIG = JSON.stringify({
  build: { dockerfile: 'Dockerfile', args: { GREETING: 'hello-apple' } },
  features: { './greet': { word: 'from-the-feature' } },
  forwardPorts: [3000],
  onCreateCommand: 'echo onCreate >> hooks.log',
  postCreateCommand: ['sh', '-c', 'echo postCreate >> hooks.log'],
  postStartCommand: { a: 'echo postStart >> hooks.log' },
});

describe('berth up --devcontainer on apple 1.2.2 (double)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-dc-apple-'));
  const id = `dca-${randomUUID().slice(0, 8)}`;
  const root = join(scratch, 'proj');
  const env = appleDoubleEnv('1.2.2');
  let berth: Berth | null = null;

  afterAll(async () => {
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    // The images this test built through the double (labelled with its config file), and only those.
    const podman = (args: string[]) => run(['podman', ...args], { env: engineEnv(), okExitCodes: 'any' });
    const labelled = async (folder: string) => (await podman(['images', '-q', '--filter', `label=berth.devcontainer=${join(folder, '.devcontainer/devcontainer.json')}`])).stdout.split('\n');
    const images = [...(await labelled(root)), ...(await labelled(join(scratch, 'compose')))].filter((line) => line !== '');
    if (images.length > 0) await podman(['rmi', '-f', ...new Set(images)]);
    rmSync(scratch, { recursive: true, force: true });
  });

  const lines = (file: string): string[] => (existsSync(join(root, file)) ? readFileSync(join(root, file), 'utf8').trim().split('\n') : []);

  it('builds with args and a local feature through container build, runs the hooks, publishes forwardPorts at create', async () => {
    mkdirSync(join(root, '.devcontainer/greet'), { recursive: true });
    writeFileSync(join(root, '.devcontainer/Dockerfile'), DOCKERFILE);
    writeFileSync(join(root, '.devcontainer/devcontainer.json'), CONFIG);
    writeFileSync(join(root, '.devcontainer/greet/devcontainer-feature.json'), JSON.stringify({ id: 'greet', version: '1.0.0', options: { word: { type: 'string', default: 'x' } } }));
    writeFileSync(join(root, '.devcontainer/greet/install.sh'), '#!/bin/sh\nset -e\necho "$WORD" > /feature.txt\n');
    const { createBerth } = await import('../../src/berth.js');
    berth = await createBerth({ home: join(scratch, 'home'), runtime: 'apple', env, userHome: join(scratch, 'user') });
    const b = berth;
    const built: string[] = [];

    const first = await b.upDevcontainer(id, { root, onBuildOutput: (chunk) => built.push(chunk.toString()) });
    expect(first.action).toBe('created');
    expect(first.devcontainer.hooks).toEqual(['onCreateCommand', 'postCreateCommand', 'postStartCommand']);
    expect(lines('hooks.log')).toEqual(['onCreate', 'postCreate', 'postStart']);
    const sh = async (script: string) => (await b.exec(id, ['sh', '-c', script])).stdout.trim();
    expect(await sh('cat /greeting /feature.txt')).toBe('hello-apple\nfrom-the-feature');
    // Both images came from `container build`: its stdout names what it built (1.x: one name a line).
    expect(built.join('')).toMatch(/docker\.io\/library\/berth-devcontainer:[0-9a-f]{16}/);

    // Preview ports were published at create (Apple cannot add them later): at least the forwarded one, never fewer than the usual pool.
    const preview = first.container.ports.filter((p) => p.containerPort >= 41000);
    expect(preview.length).toBeGreaterThanOrEqual(8);
    await b.dev.start(id, 'app', { command: ['python3', '-m', 'http.server', '3000'], port: 3000 });
    const server = await waitFor(async () => (await b.dev.list(id)).find((s) => s.name === 'app' && s.state === 'running' && s.url !== null), { timeout: 60_000, interval: 200, message: 'the forwarded port to get a preview URL' });
    expect(preview.map((p) => `http://127.0.0.1:${String(p.hostPort)}/`)).toContain(server.url);
    const answer = await fetch(server.url ?? '', { signal: AbortSignal.timeout(10_000) });
    expect(answer.status).toBe(200);
    await b.dev.stop(id, 'app');

    // Stop and up again: the create hooks do not run again, postStart does; nothing is rebuilt.
    await b.stop(id);
    built.length = 0;
    const again = await b.upDevcontainer(id, { root, onBuildOutput: (chunk) => built.push(chunk.toString()) });
    expect(again.action).toBe('started');
    expect(again.devcontainer.hooks).toEqual(['postStartCommand']);
    expect(lines('hooks.log')).toEqual(['onCreate', 'postCreate', 'postStart', 'postStart']);
    expect(built.join('')).toBe('');
  }, 300_000);

  it('compose is refused before anything is built or created, saying what to do instead', async () => {
    const composeRoot = join(scratch, 'compose');
    mkdirSync(join(composeRoot, '.devcontainer'), { recursive: true });
    writeFileSync(join(composeRoot, '.devcontainer/compose.yaml'), `services:\n  app:\n    build: .\n    command: sleep infinity\n  db:\n    image: ${TEST_IMAGE}\n`);
    writeFileSync(join(composeRoot, '.devcontainer/Dockerfile'), `FROM ${TEST_IMAGE}\n`);
    writeFileSync(join(composeRoot, '.devcontainer/devcontainer.json'), JSON.stringify({ dockerComposeFile: 'compose.yaml', service: 'app', workspaceFolder: '/workspaces/compose' }));
    const b = berth as Berth;
    const other = `dcac-${randomUUID().slice(0, 8)}`;
    const refused = b.upDevcontainer(other, { root: composeRoot });
    await expect(refused).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining('Compose is not available on Apple container') as string, hint: expect.stringContaining('--runtime docker|podman') as string });
    expect((await b.list()).map((w) => w.id)).not.toContain(other);
    // Nothing was built first (the service's Dockerfile would have gone through container build).
    const built = await run(['podman', 'images', '-q', '--filter', `label=berth.devcontainer=${join(composeRoot, '.devcontainer/devcontainer.json')}`], { env: engineEnv(), okExitCodes: 'any' });
    expect(built.stdout.trim()).toBe('');
  });
});
