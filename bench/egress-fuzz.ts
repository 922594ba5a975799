/**
 * The egress proxy's fuzz suite, run long: the same hostile inputs as test/integration/egress-fuzz
 * (random bytes, requests cut at random points, huge and malformed headers, malformed credentials
 * and CONNECT targets, TLS-looking records in tunnels) against a real EgressProxy over loopback, for
 * as many runs as asked. CI runs a fixed seed and a few hundred runs; this is for the long nights.
 *
 * Loopback only: the policy names the script's own target on 127.0.0.1 (and `app.test`, which an
 * injected table resolves to 127.0.0.1); any other dial is counted as a failure and never made.
 *
 * Usage: npx tsx bench/egress-fuzz.ts [--runs 5000] [--seed N] [--wait-ms 60]
 * Exits 1 when the proxy threw (an egress.error event), dialed anything but the target, or stopped
 * answering a normal request afterwards; prints the seed and the counterexample fast-check found.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { hostileInput, sendHostile, startFuzzRig } from '../test/support/proxy-fuzz.js';
import { positiveInt } from './support.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5000' }, seed: { type: 'string', default: String(Date.now() % 2 ** 31) }, 'wait-ms': { type: 'string', default: '60' } },
  strict: true,
});
const runs = positiveInt('--runs', values.runs, 1);
const seed = positiveInt('--seed', values.seed, 0);
const waitMs = positiveInt('--wait-ms', values['wait-ms'], 1);

const rig = await startFuzzRig();
const { events, strayDials, target: fuzz } = rig;
const port = fuzz.proxyPort;
const answers = new Map<string, number>();

process.stderr.write(`egress fuzz: ${String(runs)} runs, seed ${String(seed)}, proxy 127.0.0.1:${String(port)}\n`);
const started = performance.now();
let failed = false;
try {
  let done = 0;
  await fc.assert(
    fc.asyncProperty(hostileInput(fuzz), async (input) => {
      const answer = await sendHostile(port, input, waitMs);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? (answer === '' ? 'closed, no answer' : 'other bytes');
      answers.set(status, (answers.get(status) ?? 0) + 1);
      if (++done % 500 === 0) process.stderr.write(`  ${String(done)}/${String(runs)}\n`);
      if (events.some((e) => e.type === 'egress.error')) throw new Error(`the proxy threw: ${events.find((e) => e.type === 'egress.error')?.message ?? ''}`);
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
} catch (error) {
  failed = true;
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
}
const seconds = (performance.now() - started) / 1000;
const normal = await rig.normalRequest();
const serving = normal === 'hello\n200';
await rig.close();

const errors = events.filter((e) => e.type === 'egress.error').length;
process.stdout.write(
  [
    `Egress proxy fuzz: ${String(runs)} runs, seed ${String(seed)}, ${seconds.toFixed(1)} s (${(runs / seconds).toFixed(0)} inputs/s)`,
    `Answers: ${[...answers].sort((a, b) => b[1] - a[1]).map(([status, count]) => `${status} ×${String(count)}`).join(', ')}`,
    `egress.error events: ${String(errors)}; dials other than the target: ${String(strayDials.length)}; a normal request afterwards: ${serving ? '200' : `FAILED (${normal})`}`,
    '',
  ].join('\n'),
);
process.exitCode = failed || errors > 0 || strayDials.length > 0 || !serving ? 1 : 0;
