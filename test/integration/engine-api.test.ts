import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSocketFor } from '../../src/runtime/oci/engine-api.js';
import { OciRuntime, type OciKind } from '../../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

/**
 * The hot-path calls (observe, inspect, start) go over the engine's API socket when there is one.
 * They must answer exactly what the CLI answers, fail with the same typed errors, and fall back to
 * the CLI when the socket is gone.
 */
describe.each<OciKind>(['podman', 'docker'])('%s: engine API socket vs CLI', (kind) => {
  const env = engineEnv();
  const socket = engineSocketFor(kind, env, false);
  const api = new OciRuntime(kind, { env });
  const cli = new OciRuntime(kind, { env, apiSocket: null });
  const token = randomUUID().slice(0, 8);
  const running = `berth-apitest-run-${token}`;
  const stopped = `berth-apitest-stop-${token}`;
  const ghost = `berth-apitest-ghost-${token}`;
  const scratch = mkdtempSync(join(tmpdir(), `berth-apitest-${kind}-`));
  const spec = (name: string, source = scratch) => ({
    name,
    image: TEST_IMAGE,
    command: ['tail', '-f', '/dev/null'],
    init: true,
    labels: { 'dev.berth.test': token },
    mounts: [{ source, target: '/data', readOnly: false }],
  });

  beforeAll(async () => {
    await cli.create(spec(running), { start: true });
    await cli.create(spec(stopped));
    const doomed = join(scratch, 'doomed');
    mkdirSync(doomed);
    await cli.create(spec(ghost, doomed));
    // Its bind source is gone: the engine refuses to start it, for real.
    rmSync(doomed, { recursive: true });
  });

  afterAll(async () => {
    for (const name of [running, stopped, ghost]) await cli.remove(name, { force: true }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the test environment gives this engine an API socket, and the adapter uses it', async () => {
    expect(socket).not.toBeNull();
    expect(await api.apiSocket()).toBe(socket);
    expect(await cli.apiSocket()).toBeNull();
  });

  it('observe and inspect answer exactly what the CLI answers: running, stopped, missing, image or not', async () => {
    for (const name of [running, stopped, 'berth-apitest-nothing']) {
      for (const image of [TEST_IMAGE, 'berth-no-such-image:never']) {
        expect(await api.observe(name, image)).toEqual(await cli.observe(name, image));
      }
    }
    expect(await api.inspect(running)).toEqual(await cli.inspect(running));
    expect((await api.inspect(stopped)).state).toBe((await cli.inspect(stopped)).state);
  });

  it('fails with the CLI typed errors: a missing container, and one that cannot start', async () => {
    const missing = await expectCode(api.inspect('berth-apitest-nothing'), 'E_NOT_FOUND');
    expect(missing.message).toBe((await expectCode(cli.inspect('berth-apitest-nothing'), 'E_NOT_FOUND')).message);
    await expectCode(api.start('berth-apitest-nothing'), 'E_NOT_FOUND');
    const unstartable = await expectCode(api.start(ghost), 'E_RUNTIME_FAILED');
    expect(unstartable.message).toMatch(new RegExp(`^${kind} failed: .+`));
  });

  it('start works over the socket, and starting a running container is not an error', async () => {
    await api.start(stopped);
    expect((await cli.inspect(stopped)).state).toBe('running');
    await api.start(stopped);
    await cli.stop(stopped, { graceSeconds: 0 });
  });

  it('a socket that does not answer falls back to the CLI for good, with the same answers', async () => {
    const dead = join(scratch, 'dead.sock');
    writeFileSync(dead, '');
    const fallback = new OciRuntime(kind, { env, apiSocket: dead });
    expect(await fallback.apiSocket()).toBe(dead);
    expect(await fallback.observe(running, TEST_IMAGE)).toEqual(await cli.observe(running, TEST_IMAGE));
    expect(await fallback.apiSocket()).toBeNull();
    expect(await fallback.inspect(running)).toEqual(await cli.inspect(running));
  });
});

describe('finding the engine socket the way the CLI does', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-apitest-home-'));
  const base = { HOME: home };

  it('docker: DOCKER_HOST unix socket; tcp or ssh hosts and contexts keep the CLI', () => {
    expect(engineSocketFor('docker', { ...base, DOCKER_HOST: 'unix:///x/docker.sock' }, false)).toBe('/x/docker.sock');
    expect(engineSocketFor('docker', { ...base, DOCKER_HOST: 'tcp://127.0.0.1:2375' }, false)).toBeNull();
    expect(engineSocketFor('docker', { ...base, DOCKER_HOST: 'ssh://me@box' }, false)).toBeNull();
    expect(engineSocketFor('docker', { ...base, DOCKER_CONTEXT: 'colima', DOCKER_HOST: 'unix:///x/docker.sock' }, false)).toBeNull();
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'desktop-linux' }));
    expect(engineSocketFor('docker', base, false)).toBeNull();
  });

  it('podman: CONTAINER_HOST unix socket, the rootless runtime dir; connections keep the CLI', () => {
    expect(engineSocketFor('podman', { ...base, CONTAINER_HOST: 'unix:///x/podman.sock' }, false)).toBe('/x/podman.sock');
    expect(engineSocketFor('podman', { ...base, CONTAINER_HOST: 'ssh://me@box/run/podman.sock' }, false)).toBeNull();
    expect(engineSocketFor('podman', { ...base, CONTAINER_CONNECTION: 'machine' }, false)).toBeNull();
  });

  it('BERTH_<ENGINE>_API wins (a path, or off); a custom engine binary keeps the CLI unless told otherwise', () => {
    expect(engineSocketFor('podman', { ...base, BERTH_PODMAN_API: '/y/p.sock' }, true)).toBe('/y/p.sock');
    expect(engineSocketFor('docker', { ...base, BERTH_DOCKER_API: 'unix:///y/d.sock' }, false)).toBe('/y/d.sock');
    expect(engineSocketFor('docker', { ...base, BERTH_DOCKER_API: 'off', DOCKER_HOST: 'unix:///x/docker.sock' }, false)).toBeNull();
    expect(engineSocketFor('docker', { ...base, DOCKER_HOST: 'unix:///x/docker.sock' }, true)).toBeNull();
  });
});
