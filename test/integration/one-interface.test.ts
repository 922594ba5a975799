import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BerthApi } from '../../src/api.js';
import { createBerth } from '../../src/berth.js';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait-for.js';

interface Mode {
  label: string;
  runtime: 'host' | 'podman';
  via: 'in-process' | 'daemon';
}

const modes: Mode[] = [
  { label: 'host, in process', runtime: 'host', via: 'in-process' },
  { label: 'host, through the daemon', runtime: 'host', via: 'daemon' },
];

/** One test body, run against Berth in process and against the daemon's client: same names, same results. */
describe.each(modes)('the one BerthApi: $label', ({ runtime, via }) => {
  const token = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-one-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  const other = join(scratch, 'other');
  mkdirSync(root);
  mkdirSync(other);
  writeFileSync(join(root, 'marker'), 'root\n');
  const env = { ...engineEnv(), BERTH_HOME: home };
  const ws = `one-${token}`;
  let daemon: RunningDaemon | undefined;
  let api: BerthApi;

  beforeAll(async () => {
    if (via === 'daemon') {
      daemon = await startDaemon(home, env, ['--runtime', runtime]);
      api = daemon.client;
    } else {
      api = await createBerth({ home, runtime, env });
    }
  });

  afterAll(async () => {
    await api.remove(ws).catch(() => undefined);
    await api.close();
    await daemon?.stop().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('says who serves it', () => {
    expect(api.via).toBe(via);
  });

  it('up answers an UpReport; list filters by labels; status returns them', async () => {
    const report = await api.up(ws, { root, image: runtime === 'host' ? undefined : TEST_IMAGE, labels: { app: 'one', run: token } });
    expect(report).toMatchObject({ id: ws, runtime, action: 'created', warnings: expect.any(Array) as unknown, isolated: runtime !== 'host' });
    expect('ip' in report).toBe(true);
    expect((await api.list({ labels: { run: token } })).map((w) => w.id)).toEqual([ws]);
    expect(await api.list({ labels: { run: token, app: 'other' } })).toEqual([]);
    expect((await api.status(ws)).labels).toEqual({ app: 'one', run: token });
  });

  it('a partial spec of an existing workspace is a patch: root moves, image, env and labels stay', async () => {
    await api.up(ws, { env: { A: '1' } });
    const before = await api.status(ws);
    const moved = await api.up(ws, { root: other });
    expect(moved.image).toBe(before.image);
    const after = await api.status(ws);
    expect(after).toMatchObject({ root: other, image: before.image, labels: { app: 'one', run: token } });
  });

  it('dev servers: one shape, command as argv', async () => {
    const started = await api.dev.start(ws, 'web', { command: ['sh', '-c', 'echo hello-dev; exec sleep 30'] });
    expect(started).toMatchObject({ workspace: ws, name: 'web', command: ['sh', '-c', 'echo hello-dev; exec sleep 30'] });
    expect((await api.dev.list(ws)).map((s) => s.name)).toEqual(['web']);
    await waitFor(async () => (await api.dev.logs(ws, 'web')).includes('hello-dev'), { timeout: 10_000, message: 'the dev server output' });
    expect((await api.dev.stop(ws, 'web')).state).toBe('stopped');
  });

  it('egress: the same view and the same error', async () => {
    expect(await api.egress(ws)).toBeNull();
    await expectCode(api.changeEgress(ws, { allow: 'example.com' }), 'E_NOT_FOUND');
  });

  it('events: one cursor (after), typed data, follow sees what comes', async () => {
    const created = (await api.events({ workspace: ws, type: 'workspace.created' }))[0];
    expect(created?.type).toBe('workspace.created');
    if (created?.type === 'workspace.created') expect(created.data.runtime).toBe(runtime);
    const mark = (await api.events({ workspace: ws })).at(-1)?.seq ?? 0;
    expect(await api.events({ workspace: ws, after: mark })).toEqual([]);
    const stop = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of api.events.follow({ workspace: ws, after: mark }, { signal: stop.signal })) {
        seen.push(event.type);
        if (event.type === 'workspace.stopped') stop.abort();
      }
    })();
    await api.stop(ws);
    await following;
    expect(seen).toContain('workspace.stopped');
  });

  it('remove, then status is E_NOT_FOUND, the same error both ways', async () => {
    await api.remove(ws);
    await expectCode(api.status(ws), 'E_NOT_FOUND');
  });
});

describe('lifecycle for apps (host mode, in process)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-life-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const env = { ...engineEnv(), BERTH_HOME: home };
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('await using closes it when the block ends; later calls reject with E_CLOSED', async () => {
    let kept: BerthApi | undefined;
    {
      await using berth = await createBerth({ home, runtime: 'host', env });
      kept = berth;
      expect(await berth.list()).toEqual([]);
    }
    await expectCode(kept.list(), 'E_CLOSED');
  });

  it('events.follow in process sees events another process wrote', async () => {
    const berth = await createBerth({ home, runtime: 'host', env });
    const stop = new AbortController();
    const other = `other-${randomUUID().slice(0, 8)}`;
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of berth.events.follow({ workspace: other }, { signal: stop.signal })) {
        seen.push(event.type);
        if (event.type === 'workspace.created') stop.abort();
      }
    })();
    // Another process: the CLI, without a daemon, writing to the same home's log.
    await run([process.execPath, join(import.meta.dirname, '../../dist/cli/main.js'), 'up', other, '--runtime', 'host', '--root', root], { env: { ...env, BERTH_NO_DAEMON: '1' }, timeoutMs: 60_000 });
    await Promise.race([following, new Promise((_, reject) => setTimeout(() => reject(new Error('follow saw nothing')), 10_000))]);
    expect(seen).toContain('workspace.created');
    await berth.remove(other);
    await berth.close();
  });
});

describe('close() during an up (podman, in process)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-close-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const env = { ...engineEnv(), BERTH_HOME: home };
  const ws = `close-${randomUUID().slice(0, 8)}`;
  afterAll(async () => {
    await run(['podman', 'rm', '-f', `berth-${ws}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('rejects the up with a BerthError (E_ABORTED) and leaves no container', async () => {
    const berth = await createBerth({ home, runtime: 'podman', env });
    const up = berth.up(ws, { root, image: TEST_IMAGE });
    const outcome = up.then(() => null, (error: unknown) => error);
    await berth.close();
    const error = await outcome;
    expect(error).toMatchObject({ name: 'BerthError', code: 'E_ABORTED' });
    const left = await run(['podman', 'ps', '-a', '--filter', `name=^berth-${ws}$`, '--format', '{{.Names}}'], { env });
    expect(left.stdout.trim()).toBe('');
  });
});
