import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { buildTolerantOfCleanup, ensureNetwork } from '../../src/runtime/cli-adapter.js';
import type { NetworkInfo } from '../../src/runtime/types.js';

const NETWORK = { name: 'berth-net-x' } as unknown as NetworkInfo;

/** ensureNetwork with a fake engine: inspect says not found until a create succeeded. */
function engine(failures: Error[]): { inspect: () => Promise<NetworkInfo>; create: () => Promise<void>; creates: () => number } {
  let made = false;
  let creates = 0;
  return {
    inspect: () => (made ? Promise.resolve(NETWORK) : Promise.reject(new BerthError('E_NOT_FOUND', 'no such network'))),
    create: () => {
      creates++;
      const failure = failures.shift();
      if (failure) return Promise.reject(failure);
      made = true;
      return Promise.resolve();
    },
    creates: () => creates,
  };
}

describe('ensureNetwork', () => {
  it("tries podman's create again when a host interface vanished while it picked a subnet", async () => {
    const fake = engine([new BerthError('E_RUNTIME_FAILED', 'podman failed: Error: route ip+net: no such network interface')]);
    await expect(ensureNetwork(fake.inspect, fake.create)).resolves.toBe(NETWORK);
    expect(fake.creates()).toBe(2);
  });

  it('gives up after three tries, and reports any other failure at once', async () => {
    const vanishing = () => new BerthError('E_RUNTIME_FAILED', 'podman failed: Error: route ip+net: no such network interface');
    const flaky = engine([vanishing(), vanishing(), vanishing()]);
    await expect(ensureNetwork(flaky.inspect, flaky.create)).rejects.toThrow(/no such network interface/);
    expect(flaky.creates()).toBe(3);
    const broken = engine([new BerthError('E_RUNTIME_FAILED', 'podman failed: permission denied')]);
    await expect(ensureNetwork(broken.inspect, broken.create)).rejects.toThrow(/permission denied/);
    expect(broken.creates()).toBe(1);
  });
});

describe('buildTolerantOfCleanup', () => {
  const cleanupRace = () =>
    new BerthError('E_RUNTIME_FAILED', 'podman failed: time="2026-12-04T04:53:38Z" level=error msg="error deleting build container \\"7c21d3ce\\": identifier is not a container\\n"');

  it("builds once more when podman's build lost an intermediate container at cleanup", async () => {
    let builds = 0;
    const build = () => (++builds === 1 ? Promise.reject(cleanupRace()) : Promise.resolve('sha256:abc'));
    await expect(buildTolerantOfCleanup(build)).resolves.toBe('sha256:abc');
    expect(builds).toBe(2);
  });

  it('reports that failure the second time, and any other failure at once', async () => {
    let builds = 0;
    await expect(buildTolerantOfCleanup(() => (builds++, Promise.reject(cleanupRace())))).rejects.toThrow(/identifier is not a container/);
    expect(builds).toBe(2);
    builds = 0;
    await expect(buildTolerantOfCleanup(() => (builds++, Promise.reject(new BerthError('E_RUNTIME_FAILED', 'podman failed: RUN false: exit 1'))))).rejects.toThrow(/exit 1/);
    expect(builds).toBe(1);
  });
});
