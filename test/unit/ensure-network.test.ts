import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { ensureNetwork } from '../../src/runtime/cli-adapter.js';
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
