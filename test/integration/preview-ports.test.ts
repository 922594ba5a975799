import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciRuntime, type OciKind } from '../../src/runtime/oci/oci-runtime.js';
import { allocatePreviewPorts, publishedHostPorts, type OfferedPort } from '../../src/workspace/preview-ports.js';
import { Berth } from '../../src/berth.js';
import type { ContainerSpec, Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { enginePublishedPorts, freePort } from '../support/free-port.js';

/** The OS's offers, with `first` offered first (as if the OS had picked it), then real loopback ports. */
function offering(first: number): () => Promise<OfferedPort> {
  let offeredFirst = false;
  return async () => {
    if (!offeredFirst) {
      offeredFirst = true;
      return { port: first, release: () => Promise.resolve() };
    }
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { port: address.port, release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  };
}

/**
 * Preview ports never collide with a port another container publishes. Rootful podman 4.3 with
 * netavark publishes as an nftables DNAT rule with no host socket: a bind probe finds the port
 * free, and 127.0.0.1 traffic to it would go to the other container.
 */
describe.each<OciKind>(['podman', 'docker'])('%s: preview ports vs ports the engine publishes', (kind) => {
  const env = engineEnv();
  const runtime = new OciRuntime(kind, { env });
  const name = `berth-ports-${randomUUID().slice(0, 8)}`;
  let published = 0;

  beforeAll(async () => {
    published = await freePort();
    await runtime.create({ name, image: TEST_IMAGE, command: ['tail', '-f', '/dev/null'], init: true, labels: { 'dev.berth.test': 'ports' }, ports: [{ hostAddress: '127.0.0.1', hostPort: published, containerPort: 8080, protocol: 'tcp' }] }, { start: true });
  }, 60_000);

  afterAll(async () => {
    await runtime.remove(name, { force: true }).catch(() => undefined);
  });

  it('the one list call sees the published port (a socket on the host or not: the engine says)', async () => {
    expect(await publishedHostPorts(runtime)).toContain(published);
    expect(await enginePublishedPorts()).toContain(published);
  });

  it('the allocator never returns it, even when the OS offers it first', async () => {
    const taken = await publishedHostPorts(runtime);
    for (const count of [1, 8]) {
      const ports = await allocatePreviewPorts(count, taken, { offer: offering(published) });
      expect(ports).toHaveLength(count);
      expect(ports.map((p) => p.hostPort)).not.toContain(published);
    }
    // What it did before it knew the engine's ports: the OS's offer, taken as free.
    expect((await allocatePreviewPorts(1, new Set(), { offer: offering(published) })).map((p) => p.hostPort)).toEqual([published]);
  });

  it('freePort (the tests\' helper) never returns it either', async () => {
    for (let i = 0; i < 20; i++) expect(await freePort()).not.toBe(published);
  });
});

/**
 * A port free when Berth picked it can be bound by someone else before the engine publishes it (seen
 * in CI: two test workers, "bind: address already in use" at create). Berth then creates again with
 * fresh ports instead of failing the up. The squatter here binds the first picked port between the
 * allocation and the engine's create, the race made certain.
 */
describe.each<OciKind>(['podman', 'docker'])('%s: a preview port taken before the create', (kind) => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-ports-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const ws = `ports-${randomUUID().slice(0, 8)}`;
  const engine = new OciRuntime(kind, { env: engineEnv() });
  const squatters: Server[] = [];
  const squatted: number[] = [];
  const creates: ContainerSpec[] = [];
  // The first create finds its first preview port taken by a listener on the host.
  const runtime = new Proxy(engine, {
    get(target, property, receiver) {
      if (property !== 'create') return Reflect.get(target, property, receiver) as unknown;
      return async (spec: ContainerSpec, options: { start?: boolean }) => {
        creates.push(spec);
        const first = spec.ports?.[0]?.hostPort;
        if (creates.length === 1 && first !== undefined) {
          const server = createServer();
          await new Promise<void>((resolve, reject) => server.once('error', reject).listen(first, '127.0.0.1', resolve));
          squatters.push(server);
          squatted.push(first);
        }
        return target.create(spec, options);
      };
    },
  }) as Runtime;
  const berth = new Berth(runtime, { kind, source: 'flag', reports: [] }, { home, owner: '5e6f7a8b-b4a5-4697-8899-aabbccddeeff', env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });

  afterAll(async () => {
    await engine.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
    await Promise.all(squatters.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await berth.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('creates again with fresh ports: the up succeeds, one container, one live ledger entry', async () => {
    const up = await berth.up(ws, { root, image: TEST_IMAGE, previewPorts: 2 });
    expect(up.state).toBe('running');
    expect(squatted).toHaveLength(1);
    expect(creates).toHaveLength(2);
    const published = (await engine.inspect(containerNameFor(ws))).ports.map((p) => p.hostPort);
    expect(published).toHaveLength(2);
    expect(published).not.toContain(squatted[0]);
    const live = berth.store.ledger.activeEntries(kind).filter((e) => e.name === containerNameFor(ws));
    expect(live).toHaveLength(1);
  }, 120_000);
});

describe('preview ports within one process', () => {
  it('allocations running at once (a parallel apply) never hand out the same port', async () => {
    const batches = await Promise.all(Array.from({ length: 8 }, () => allocatePreviewPorts(8)));
    const all = batches.flat().map((p) => p.hostPort);
    expect(new Set(all).size).toBe(all.length);
  });

  it('a port just handed out is not handed out again while its create may still be running', async () => {
    let first = 0;
    const [port] = await allocatePreviewPorts(1);
    first = port?.hostPort ?? 0;
    const again = await allocatePreviewPorts(1, new Set(), { offer: offering(first) });
    expect(again.map((p) => p.hostPort)).not.toContain(first);
  });
});
