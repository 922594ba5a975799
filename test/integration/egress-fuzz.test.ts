import fc from 'fast-check';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BerthEventInput } from '../../src/events.js';
import { EgressProxy } from '../../src/egress/proxy.js';
import { run } from '../../src/process/index.js';
import { hostileInput, sendHostile, type FuzzTarget } from '../support/proxy-fuzz.js';

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
  let target: Server;
  let proxy: EgressProxy;
  let fuzz: FuzzTarget;
  const events: BerthEventInput[] = [];
  const strayDials: string[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('hello'));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const targetPort = (target.address() as { port: number }).port;
    proxy = new EgressProxy({
      host: '127.0.0.1',
      policyFor: () => ({ allow: [`127.0.0.1:${String(targetPort)}`, `app.test:${String(targetPort)}`], deny: [] }),
      emit: (e) => events.push(e),
      resolve: (host) => Promise.resolve(host === 'app.test' ? ['127.0.0.1'] : []),
      dial: (port, address) => {
        if (address !== '127.0.0.1' || port !== targetPort) strayDials.push(`${address}:${String(port)}`);
        return connect({ port: targetPort, host: '127.0.0.1' });
      },
      clientHelloTimeoutMs: 500,
    });
    const { port } = await proxy.listen();
    fuzz = { proxyPort: port, workspace: 'ws-fuzz', token: proxy.credentialFor('ws-fuzz').token, targetPort, allowedName: 'app.test' };
  });

  afterAll(async () => {
    await proxy?.close(100);
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  it(`survives ${String(RUNS)} hostile inputs (seed ${String(SEED)}) and still serves`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileInput(fuzz), async (input) => {
        await sendHostile(fuzz.proxyPort, input, 60);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Nothing in the proxy threw (a throw would be an egress.error), nothing was dialed but the target.
    expect(events.filter((e) => e.type === 'egress.error')).toEqual([]);
    expect(strayDials).toEqual([]);
    const normal = await run(['curl', '-sS', '--max-time', '10', '-w', '\\n%{http_code}', '-x', proxy.urlFor('ws-fuzz'), `http://127.0.0.1:${String(fuzz.targetPort)}/`], { okExitCodes: 'any' });
    expect(normal.stdout).toBe('hello\n200');
  }, 60_000);
});
