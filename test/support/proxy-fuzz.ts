import fc from 'fast-check';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BerthEventInput } from '../../src/events.js';
import { EgressProxy } from '../../src/egress/proxy.js';
import { run } from '../../src/process/index.js';

/**
 * Hostile input for Berth's egress proxy, for fast-check: what a workspace's code can send to the
 * proxy port. Shared by the CI fuzz test (fixed seed, bounded runs), the daemon test and
 * `bench/egress-fuzz.ts` (long runs). Network rule: the proxy under test must only ever be able to
 * reach loopback (its policy names only 127.0.0.1:<target>; names are not in it, or resolve to
 * loopback through an injected table), so no input here makes traffic leave the machine.
 */
export interface FuzzTarget {
  proxyPort: number;
  /** A workspace and its valid token, so inputs get past authentication too. */
  workspace: string;
  token: string;
  /** A port the policy allows on 127.0.0.1 (the test's own server). */
  targetPort: number;
  /** A host name the policy allows and that resolves to 127.0.0.1 (in-process only), or undefined. */
  allowedName?: string | undefined;
}

/** One input: the bytes, and where the client cuts them into separate writes. */
export interface HostileInput {
  label: string;
  bytes: Buffer;
  cuts: number[];
}

const text = (s: string): Buffer => Buffer.from(s, 'latin1');

export function hostileInput(target: FuzzTarget): fc.Arbitrary<HostileInput> {
  const valid = Buffer.from(`${target.workspace}:${target.token}`).toString('base64');
  const auth = fc.oneof(
    { weight: 12, arbitrary: fc.constant(`Basic ${valid}`) },
    fc.constant(`Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`),
    // Percent escapes, broken or not, in the workspace part (the proxy URL percent-encodes it).
    fc
      .array(fc.constantFrom('%', '%E0', '%A4', '%A', '%zz', '%2', '%25', '%3A', target.workspace, 'ws', ':'), { minLength: 1, maxLength: 8 })
      .map((parts) => `Basic ${Buffer.from(`${parts.join('')}:${target.token}`).toString('base64')}`),
    fc.constant(`Basic ${Buffer.from(`%:${target.token}`).toString('base64')}`),
    fc.constant(`Basic ${Buffer.from('no-colon-at-all').toString('base64')}`),
    fc.constant('Basic'),
    fc.constant('Basic ==='),
    fc.constant(`Bearer ${target.token}`),
    fc.uint8Array({ maxLength: 64 }).map((b) => `Basic ${Buffer.from(b).toString('base64')}`),
    fc.string({ unit: 'binary', maxLength: 64 }).map((s) => `Basic ${Buffer.from(`${s}:${target.token}`).toString('base64')}`),
    fc.string({ maxLength: 80 }),
  );
  const names = [target.allowedName ?? 'not-allowed.test', 'not-allowed.test', '127.0.0.1', '[::1]', '[::ffff:7f00:1]', '0.0.0.0', '169.254.169.254'];
  const authority = fc.oneof(
    { weight: 3, arbitrary: fc.constant(`127.0.0.1:${String(target.targetPort)}`) },
    { weight: 3, arbitrary: fc.constantFrom(...names).map((host) => `${host}:${String(target.targetPort)}`) },
    fc.constantFrom(':', ':80', '[::1', '::1:80', 'a:b:c', 'host:0', 'host:99999', 'host:-1', '%E0%A4%A:80', '[%]:80', '[]:80', '*:*', '', ' ', 'localhost'),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer({ min: 256, max: 70_000 }).map((n) => `${'a'.repeat(n)}:443`),
  );
  const url = fc.oneof(
    { weight: 3, arbitrary: fc.constant(`http://127.0.0.1:${String(target.targetPort)}/`) },
    { weight: 3, arbitrary: fc.constantFrom(...names).map((host) => `http://${host}:${String(target.targetPort)}/x?y`) },
    fc.constantFrom('/', '*', 'http://', 'http://[::1', 'https://127.0.0.1/', 'ftp://x/', 'http://%41/', 'http://a b/', 'http://127.0.0.1:99999/'),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.integer({ min: 8000, max: 70_000 }).map((n) => `http://127.0.0.1:${String(target.targetPort)}/${'p'.repeat(n)}`),
  );
  // Mostly well-formed, so that most inputs get past the HTTP parser to Berth's own code.
  const headerName = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('Host', 'Connection', 'Content-Length', 'Transfer-Encoding', 'Proxy-Connection', 'Upgrade', 'TE', 'Expect', 'X-A', 'Accept', 'User-Agent') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  );
  const headerValue = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom('close', 'keep-alive', 'chunked', '0', '-1', '99999999999999999999', 'Proxy-Authorization, Host', '100-continue', 'websocket', '*/*', 'x') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 200_000 }).map((n) => 'v'.repeat(n)) },
  );
  const benign = fc.array(fc.tuple(fc.constantFrom('Accept', 'User-Agent', 'X-A', 'Cache-Control'), fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 4 });
  const headers = fc.oneof({ weight: 3, arbitrary: benign }, { weight: 2, arbitrary: fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }) });
  const manyHeaders = fc.integer({ min: 100, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => [`X-${String(i)}`, 'x'] as [string, string]));
  const body = fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), fc.constant(text('5\r\nhello\r\nzz\r\n')));
  /** What a client writes into a tunnel once it is open: TLS-looking records, real-looking or not. */
  const tunnelBytes = fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffff })).map(([payload, recordLength, helloLength]) => {
      const header = Buffer.alloc(9);
      header.writeUInt8(0x16, 0);
      header.writeUInt16BE(0x0301, 1);
      header.writeUInt16BE(recordLength, 3);
      header.writeUInt8(0x01, 5);
      header.writeUIntBE(helloLength, 6, 3);
      return Buffer.concat([header, Buffer.from(payload)]);
    }),
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 80 }).map((fragments) =>
      Buffer.concat(fragments.flatMap((f) => [Buffer.from([0x16, 0x03, 0x01, 0, f.length]), Buffer.from(f)])),
    ),
  );

  const request = fc
    .record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom('GET', 'POST', 'CONNECT', 'HEAD', 'PUT', 'OPTIONS') },
        { weight: 1, arbitrary: fc.constant('PRI') },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
      ),
      connect: fc.boolean(),
      authority,
      url,
      version: fc.oneof({ weight: 8, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/9', '') }),
      auth: fc.option(auth, { nil: undefined, freq: 8 }),
      // node's server answers 400 to an HTTP/1.1 request without Host, before Berth sees it.
      host: fc.option(fc.constantFrom('x', '127.0.0.1', 'app.test'), { nil: undefined, freq: 10 }),
      headers: fc.oneof({ weight: 5, arbitrary: headers }, { weight: 1, arbitrary: manyHeaders }),
      body,
      tunnel: tunnelBytes,
      crlf: fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') }),
    })
    .map((r) => {
      const method = r.connect ? 'CONNECT' : r.method;
      const lines = [`${method} ${r.connect ? r.authority : r.url} ${r.version}`.trimEnd()];
      if (r.host !== undefined) lines.push(`Host: ${r.host}`);
      if (r.auth !== undefined) lines.push(`Proxy-Authorization: ${r.auth}`);
      for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
      const head = text(`${lines.join(r.crlf)}${r.crlf}${r.crlf}`);
      return { label: `${method} ${r.connect ? 'tunnel' : 'request'}`, bytes: Buffer.concat([head, r.connect ? r.tunnel : r.body]) };
    });
  const raw = fc.uint8Array({ maxLength: 4096 }).map((b) => ({ label: 'random bytes', bytes: Buffer.from(b) }));
  const prefixed = fc.tuple(fc.constantFrom('GET ', 'CONNECT ', 'GET http://', 'CONNECT 127.0.0.1:'), fc.uint8Array({ maxLength: 2048 })).map(([p, b]) => ({ label: 'a method then bytes', bytes: Buffer.concat([text(p), Buffer.from(b)]) }));

  return fc
    .tuple(fc.oneof({ weight: 6, arbitrary: request }, { weight: 1, arbitrary: raw }, { weight: 1, arbitrary: prefixed }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }))
    .map(([input, fractions]) => ({
      ...input,
      cuts: [...new Set(fractions.map((f) => Math.floor(f * input.bytes.length)))].filter((c) => c > 0 && c < input.bytes.length).sort((a, b) => a - b),
    }));
}

/**
 * Sends one input to the proxy in its pieces, half-closes, and waits (bounded) for the proxy to
 * answer and close. Resolves whatever happens to the connection: only the proxy's survival counts.
 */
export async function sendHostile(proxyPort: number, input: HostileInput, waitMs = 300): Promise<string> {
  const socket = connect(proxyPort, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    if (answer.length < 4096) answer += chunk.toString('latin1');
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let from = 0;
    for (const cut of [...input.cuts, input.bytes.length]) {
      if (socket.destroyed) break;
      socket.write(input.bytes.subarray(from, cut));
      from = cut;
      await sleep(1); // deliberate (not synchronisation): each cut leaves as its own segment
    }
    if (!socket.destroyed) socket.end();
    await Promise.race([closed, sleep(waitMs)]);
  } finally {
    socket.destroy();
  }
  return answer;
}

/** A real proxy on loopback whose only allowed target is the rig's own HTTP server. */
export interface FuzzRig {
  proxy: EgressProxy;
  target: FuzzTarget;
  /** Every event the proxy recorded: an `egress.error` means its own code threw. */
  events: BerthEventInput[];
  /** Dials to anything but the rig's target (none may happen; none is made). */
  strayDials: string[];
  /** A well-formed request through the proxy: the body and status, `hello\n200` when it still serves. */
  normalRequest(): Promise<string>;
  close(): Promise<void>;
}

/** The fuzz suite's and bench/egress-fuzz's proxy under test; names resolve through a table to 127.0.0.1. */
export async function startFuzzRig(): Promise<FuzzRig> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('hello'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const targetPort = (server.address() as { port: number }).port;
  const events: BerthEventInput[] = [];
  const strayDials: string[] = [];
  const proxy = new EgressProxy({
    host: '127.0.0.1',
    policyFor: () => ({ allow: [`127.0.0.1:${String(targetPort)}`, `app.test:${String(targetPort)}`], deny: [] }),
    emit: (event) => events.push(event),
    resolve: (host) => Promise.resolve(host === 'app.test' ? ['127.0.0.1'] : []),
    dial: (port, address) => {
      if (address !== '127.0.0.1' || port !== targetPort) strayDials.push(`${address}:${String(port)}`);
      return connect({ port: targetPort, host: '127.0.0.1' });
    },
    clientHelloTimeoutMs: 500,
  });
  const { port } = await proxy.listen();
  return {
    proxy,
    target: { proxyPort: port, workspace: 'ws-fuzz', token: proxy.credentialFor('ws-fuzz').token, targetPort, allowedName: 'app.test' },
    events,
    strayDials,
    normalRequest: async () =>
      (await run(['curl', '-sS', '--max-time', '10', '-w', '\\n%{http_code}', '-x', proxy.urlFor('ws-fuzz'), `http://127.0.0.1:${String(targetPort)}/`], { okExitCodes: 'any' })).stdout,
    close: async () => {
      await proxy.close(100);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
