import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileInput, sendHostile, startFuzzRig, type FuzzRig } from '../support/proxy-fuzz.js';

/*
 * Issue 12: the proxy's request, CONNECT, credential and ClientHello parsing under hostile input
 * (random bytes, requests cut at random points, huge and malformed headers, malformed credentials
 * and CONNECT targets), fed to a real proxy over loopback sockets. A fixed seed and a bounded run
 * count keep CI repeatable and short; `npx tsx bench/egress-fuzz.ts --runs N` runs longer.
 * Network rule: the policy names only the test's own target on 127.0.0.1; names resolve through a
 * table to 127.0.0.1 or not at all; every dial is checked to be loopback.
 */
const SEED = Number(process.env['BERTH_FUZZ_SEED'] ?? 20261203);
const RUNS = Number(process.env['BERTH_FUZZ_RUNS'] ?? 500);

describe('egress proxy under hostile input (fast-check)', () => {
  let rig: FuzzRig;

  beforeAll(async () => {
    rig = await startFuzzRig();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it(`survives ${String(RUNS)} hostile inputs (seed ${String(SEED)}) and still serves`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileInput(rig.target), async (input) => {
        await sendHostile(rig.target.proxyPort, input, 60);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Nothing in the proxy threw (a throw would be an egress.error), nothing was dialed but the target.
    expect(rig.events.filter((e) => e.type === 'egress.error')).toEqual([]);
    expect(rig.strayDials).toEqual([]);
    expect(await rig.normalRequest()).toBe('hello\n200');
  }, 60_000);
});
