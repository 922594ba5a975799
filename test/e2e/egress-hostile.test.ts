import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { run, runStreaming } from '../../src/process/index.js';
import { Store } from '../../src/state/store.js';
import { freePort, startDaemon } from '../support/daemon.js';
import { hostileInput, sendHostile, type FuzzTarget } from '../support/proxy-fuzz.js';
import { BERTH_BIN, berthCli } from './cli-suite.js';

/*
 * Issue 12, hole 1, as a user runs it: one request with a malformed proxy credential ended the whole
 * process (the daemon, or `berth egress serve`), so every workspace lost egress and the API. Here the
 * real built processes serve a host-mode egress record on loopback; they get the malformed requests
 * and a short fuzz, must stay up, and must still answer a normal request with 200.
 * Fails on main: the process exits on the first malformed request (URIError: URI malformed).
 * Network rule: the policy names only this test's server on 127.0.0.1.
 */
const SEED = 1203;
const RUNS = Number(process.env['BERTH_FUZZ_E2E_RUNS'] ?? 150);

interface Served {
  alive: () => boolean;
  stderr: () => string;
  stop: () => Promise<void>;
  /** For the daemon: its API still answers. */
  healthy: () => Promise<boolean>;
}

const ways: [string, (home: string) => Promise<Served>][] = [
  [
    'berth egress serve',
    (home) => {
      let stderr = '';
      let ended = false;
      const abort = new AbortController();
      const exited = runStreaming([process.execPath, BERTH_BIN, 'egress', 'serve'], {
        env: { ...process.env, BERTH_HOME: home },
        timeoutMs: Infinity,
        okExitCodes: 'any',
        signal: abort.signal,
        onStderr: (chunk) => (stderr += chunk.toString('utf8')),
      }).then(
        () => undefined,
        () => undefined,
      );
      void exited.then(() => (ended = true));
      return Promise.resolve({
        alive: () => !ended,
        stderr: () => stderr,
        stop: async () => {
          abort.abort();
          await exited;
        },
        healthy: () => Promise.resolve(!ended),
      });
    },
  ],
  [
    'berth daemon',
    async (home) => {
      const daemon = await startDaemon(home, { ...process.env }, ['--runtime', 'host']);
      let ended = false;
      void daemon.exited.then(() => (ended = true));
      return {
        alive: () => !ended,
        stderr: daemon.stderr,
        stop: async () => void (await daemon.stop()),
        healthy: async () => (await daemon.client.health().catch(() => null))?.pid === daemon.pid,
      };
    },
  ],
];

describe.each(ways)('%s under hostile egress clients', (_how, start) => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-hostile-'));
  const home = join(scratch, 'home');
  const token = randomBytes(18).toString('base64url');
  const workspace = 'hostile';
  let target: Server;
  let targetPort = 0;
  let proxyPort = 0;
  let served: Served;

  const curlThrough = (auth: string) =>
    run(['curl', '-sS', '--max-time', '10', '-w', '\n%{http_code}', '-x', `http://${auth}@127.0.0.1:${String(proxyPort)}`, `http://127.0.0.1:${String(targetPort)}/`], { okExitCodes: 'any' });

  beforeAll(async () => {
    target = createServer((req, res) => {
      req.resume();
      res.end('hello');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as { port: number }).port;
    proxyPort = await freePort();
    const store = Store.open(home);
    store.egress.putEgress({ workspace, runtime: 'host', token, policy: { allow: [`127.0.0.1:${String(targetPort)}`], deny: [] }, network: null, bridge: null, proxyHost: '127.0.0.1', proxyPort });
    store.close();
    served = await start(home);
    // The service listens once it has read the record: poll until the port answers.
    // An exited service ends the wait at once (the condition answers, then the check below throws).
    const service = served;
    await waitFor(async () => !service.alive() || (await curlThrough(`${workspace}:${token}`)).stdout === 'hello\n200', {
      timeout: 20_000,
      interval: 100,
      message: 'the proxy to answer',
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}:\n${service.stderr()}`);
    });
    if (!service.alive()) throw new Error(`the proxy exited before answering:\n${service.stderr()}`);
  });

  afterAll(async () => {
    await served?.stop();
    await new Promise<void>((resolve) => target?.close(() => resolve()));
    rmSync(scratch, { recursive: true, force: true });
  });

  /** One raw request; the answer's status line, or '' when the connection closed without one. */
  async function raw(request: string): Promise<string> {
    const socket = connect(proxyPort, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(request);
    await Promise.race([closed, sleep(5000)]);
    socket.destroy();
    return answer.split('\r\n')[0] ?? '';
  }

  const malformed = `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`;

  it('answers a malformed credential on GET and on CONNECT with 407, then serves a normal request', async () => {
    expect(await raw(`GET http://127.0.0.1:${String(targetPort)}/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${malformed}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 407/);
    expect(await raw(`CONNECT 127.0.0.1:${String(targetPort)} HTTP/1.1\r\nProxy-Authorization: ${malformed}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 407/);
    expect((await curlThrough(`${workspace}:${token}`)).stdout).toBe('hello\n200');
    expect(served.alive(), served.stderr()).toBe(true);
    expect(await served.healthy()).toBe(true);
  });

  it(`stays up through ${String(RUNS)} fuzzed inputs (seed ${String(SEED)}) and still serves`, async () => {
    const fuzz: FuzzTarget = { proxyPort, workspace, token, targetPort };
    await fc.assert(
      fc.asyncProperty(hostileInput(fuzz), async (input) => {
        await sendHostile(proxyPort, input, 60);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    expect(served.alive(), served.stderr()).toBe(true);
    expect(await served.healthy()).toBe(true);
    expect((await curlThrough(`${workspace}:${token}`)).stdout).toBe('hello\n200');
    expect(served.stderr()).not.toMatch(/unhandled rejection/);
  }, 60_000);
});

/* Issue 12, holes 3 and 8, as the CLI says it: a rule without a port warns on up, and egress show explains every rule. */
describe('berth up --allow and berth egress show explain what a rule covers', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-rules-'));
  const env = { ...process.env, BERTH_HOME: join(scratch, 'home'), BERTH_NO_DAEMON: '1', BERTH_RUNTIME: 'host' };
  const berth = berthCli(env);
  const root = join(scratch, 'project');
  mkdirSync(root);

  afterAll(async () => {
    await berth(['rm', 'rules']);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('warns about --allow without a port, and marks the rule that opens a host address', async () => {
    const up = await berth(['up', 'rules', '--root', root, '--allow', 'example.com', '--allow', 'api.example.com:443', '--allow', '0.0.0.0/0', '--allow', '127.0.0.1:8080', '--deny', 'bad.x']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toContain('warning: --allow example.com has no port, so it opens every port of that host; write example.com:443 to open one.');
    expect(up.stderr).not.toContain('--allow api.example.com:443');
    const show = await berth(['egress', 'show', 'rules']);
    expect(show.stdout).toMatch(/example\.com +all ports\n/);
    expect(show.stdout).toMatch(/127\.0\.0\.1:8080 +port 8080, OPENS a loopback address \(named exactly\)\n/);
    expect(show.stdout).toMatch(/0\.0\.0\.0\/0 +all ports, except loopback, link-local, multicast and this host's own addresses/);
    expect(show.stdout).toMatch(/deny +bad\.x +all ports, and every subdomain\n/);
    const rules = (JSON.parse((await berth(['egress', 'show', 'rules', '--json'])).stdout) as { rules: { allow: { rule: string; ports: unknown; opensHostOnly: unknown }[] } }).rules;
    expect(rules.allow.find((r) => r.rule === 'example.com')).toMatchObject({ ports: 'all', opensHostOnly: null });
    expect(rules.allow.find((r) => r.rule === '127.0.0.1:8080')).toMatchObject({ ports: 8080, opensHostOnly: 'a loopback address' });
  });
});
