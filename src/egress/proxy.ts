import { randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BerthError } from '../errors.js';
import { readConnectHead } from './connect-head.js';
import type { BerthEventInput } from '../events.js';
import { hostAddresses as currentHostAddresses } from './host-addresses.js';
import { canonicalAddress, checkResolved, decide, type Decision, type EgressPolicy } from './policy.js';
import { readClientHello, sameHost } from './sni.js';

export interface EgressProxyOptions {
  /** The address to listen on: the workspaces' network gateway (or loopback), never a wildcard. */
  host: string;
  /** 0 (default) lets the OS choose. */
  port?: number | undefined;
  /** Refuse a tunnel to a name whose TLS handshake asks for another name (default true). */
  checkSni?: boolean | undefined;
  /** How long a tunnel to a name waits for the rest of a ClientHello it started receiving, then refuses it (default 10 s). */
  clientHelloTimeoutMs?: number | undefined;
  /**
   * How long a connection may take to send a whole request head, then it is answered 408 and closed
   * (default 30 s): a workspace holding half-sent heads open cannot pile up the proxy's sockets.
   */
  headTimeoutMs?: number | undefined;
  /** The live policy of a workspace: read on every connection, so changes apply at once. */
  policyFor: (workspace: string) => EgressPolicy | undefined;
  emit: (event: BerthEventInput) => void;
  /** DNS, injectable for tests; default: the system resolver, every address. */
  resolve?: ((host: string) => Promise<string[]>) | undefined;
  /**
   * Addresses of this machine (host-only: no range rule opens them), asked on every connection.
   * Default: every interface's address, re-read at most once a second.
   */
  hostAddresses?: (() => readonly string[]) | undefined;
  /** Dialing, injectable so tests can prove a refused target was never dialed. */
  dial?: ((port: number, address: string) => Socket) | undefined;
}

/** A workspace's way in: the proxy URL with its credential, for HTTP(S)_PROXY in the guest. */
export interface ProxyCredential {
  workspace: string;
  token: string;
}

const CLIENT_HELLO_TIMEOUT_MS = 10_000;

/** RFC 9110 §7.6.1: these describe one connection and are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const MAX_URL_LENGTH = 8192;

/**
 * Berth's egress proxy: an HTTP forward proxy and CONNECT tunnels, streaming both ways, with no TLS
 * interception. Each request names its workspace through a per-workspace credential (the guest's
 * word alone is never taken); the workspace's policy decides; names are resolved here and the
 * connection goes to an address that was checked, so DNS rebinding cannot reach inside.
 */
export class EgressProxy {
  private readonly options: EgressProxyOptions;
  /** Each workspace's one credential token, as bytes: the proxy asks for it on every connection. */
  private readonly tokens = new Map<string, Buffer>();
  /** Accepts every connection and serves the CONNECTs it can read by hand (connect-head.ts). */
  private readonly server: NetServer;
  /** Never listens: node:http takes every other connection from `server`, as it came. */
  private readonly http: Server;
  private readonly sockets = new Set<Duplex>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly resolve: (host: string) => Promise<string[]>;
  private readonly dial: (port: number, address: string) => Socket;
  private readonly hostAddresses: () => readonly string[];

  constructor(options: EgressProxyOptions) {
    if (options.host === '' || options.host === '0.0.0.0' || options.host === '::') {
      throw new BerthError('E_INVALID_INPUT', `The egress proxy must not listen on every interface (${options.host || 'empty'}).`, {
        hint: "Listen on the workspaces' network gateway address, or on loopback.",
      });
    }
    this.options = options;
    this.resolve = options.resolve ?? (async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
    this.dial = options.dial ?? ((port, address) => netConnect({ port, host: address }));
    this.hostAddresses = options.hostAddresses ?? currentHostAddresses;
    // The socket options node:http's own listener would set: half-open allowed, Nagle off.
    this.server = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    // No bound on a request's whole time (tunnels and uploads last), one on its head's: with
    // requestTimeout 0 alone, node's headersTimeout default is min(60 s, 0), none at all.
    const headTimeoutMs = options.headTimeoutMs ?? HEAD_TIMEOUT_MS;
    this.http = createServer({ requestTimeout: 0, headersTimeout: headTimeoutMs, connectionsCheckingInterval: Math.min(HEAD_TIMEOUT_MS, Math.max(50, Math.floor(headTimeoutMs / 4))) });
    // Every request and tunnel runs inside its own boundary: whatever it throws closes that one
    // connection and is recorded, so no input from a socket can end the process.
    this.http.on('request', (req: IncomingMessage, res: ServerResponse) => this.contain(req.socket, `${req.method ?? '?'} request`, (boundary) => this.forward(req, res, boundary)));
    // A CONNECT whose head the hand reader left to node:http (an unusual but valid one) ends here.
    this.http.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.contain(socket, 'CONNECT', (boundary) => this.tunnel(req.url ?? '', req.headers['proxy-authorization'], socket, head, boundary)),
    );
    // node:http starts tracking its connections on 'listening' (what closeIdleConnections() ends
    // at close, and its headersTimeout checks when it has one); this server never listens itself.
    this.http.emit('listening');
  }

  /** Accepts a credential issued earlier (kept in Berth's state), so proxy restarts change nothing for guests. */
  trust(workspace: string, token: string): void {
    this.tokens.set(workspace, Buffer.from(token, 'utf8'));
  }

  /** Issues (or returns) the credential that identifies a workspace to the proxy. */
  credentialFor(workspace: string): ProxyCredential {
    const known = this.tokens.get(workspace);
    if (known !== undefined) return { workspace, token: known.toString('utf8') };
    const token = randomBytes(18).toString('base64url');
    this.tokens.set(workspace, Buffer.from(token, 'utf8'));
    return { workspace, token };
  }

  /** The proxy URL a workspace's clients use: credential included. */
  urlFor(workspace: string, reachableHost = this.options.host): string {
    const { token } = this.credentialFor(workspace);
    const host = isIP(reachableHost) === 6 ? `[${reachableHost}]` : reachableHost;
    return `http://${encodeURIComponent(workspace)}:${token}@${host}:${String(this.address().port)}`;
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host, () => resolve());
    });
    return this.address();
  }

  address(): { host: string; port: number } {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new BerthError('E_RUNTIME_FAILED', 'The egress proxy is not listening.');
    return { host: address.address, port: address.port };
  }

  /** Stops accepting; open tunnels get `graceMs` to finish, then are cut. */
  async close(graceMs = 5_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Stops node:http's timeout checks and ends its idle keep-alive connections.
    this.http.close();
    const deadline = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(deadline);
    this.agent.destroy();
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /**
   * A new connection: its first bytes decide who serves it. A CONNECT head the hand reader takes
   * becomes a tunnel here; anything else goes to node:http with the bytes read so far put back,
   * so node:http parses, answers and times it out exactly as when it accepted every connection.
   * Until then the head is bounded as node:http bounds it: in size (MAX_CONNECT_HEAD_BYTES, then
   * node:http's own 16 KiB, answered 431), in time by its headersTimeout (headTimeoutMs, answered
   * 408), and a client that leaves mid-head is answered 400.
   */
  private accept(socket: Socket): void {
    this.track(socket);
    let buffered: Buffer | undefined;
    // The same bound on a head's time as node:http's (headersTimeout, from the connection's start),
    // answered the same: a connection that sends nothing, or half a head, is not kept.
    const timer = setTimeout(() => answer(REQUEST_TIMEOUT), this.http.headersTimeout);
    const decided = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    const answer = (response: Buffer): void => {
      decided();
      socket.on('error', () => socket.destroy());
      if (socket.writable) socket.write(response);
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      try {
        const scanned = buffered?.length ?? 0;
        buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
        const head = readConnectHead(buffered, scanned);
        if (head.kind === 'incomplete') return;
        decided();
        if (head.kind === 'other') return this.handOver(socket, buffered);
        // What node:http leaves a CONNECT socket in (its own assignment, typed read-only): not
        // flowing and not paused, so the tunnel's first 'data' listener or resume() reads on.
        (socket as { readableFlowing: boolean | null }).readableFlowing = null;
        this.contain(socket, 'CONNECT', (boundary) => this.tunnel(head.target, head.authorization, socket, head.rest, boundary));
      } catch (error) {
        decided();
        this.contain(socket, 'CONNECT', () => {
          throw error;
        });
      }
    };
    // node:http answers a head cut short by the client's end with 400, and ends a silent one.
    const onEnd = (): void => (buffered === undefined ? (decided(), void socket.end()) : answer(BAD_REQUEST));
    const onError = (): void => {
      decided();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
  }

  /** Gives a connection to node:http with the bytes it sent so far, as if node:http had read them itself. */
  private handOver(socket: Socket, bytes: Buffer): void {
    socket.pause();
    socket.unshift(bytes);
    this.http.emit('connection', socket);
    // In this same turn, before any more bytes are read from the kernel: node:http reads the
    // handle directly from here on, so what was put back must reach its parser first.
    socket.resume();
  }

  /**
   * The error boundary of one connection's work: a throw or rejection in `work`, or in any callback
   * it wrapped with `boundary.wrap`, destroys that connection and becomes an `egress.error` event.
   */
  private contain(socket: Duplex, what: string, work: (boundary: Boundary) => Promise<void>): void {
    let failed = false;
    const fail = (error: unknown): void => {
      socket.destroy();
      if (failed) return;
      failed = true;
      const message = error instanceof Error ? error.message : String(error);
      this.record({ type: 'egress.error', level: 'error', message: `The egress proxy closed a connection (${what}) after an error: ${message}`, data: { what, error: message } });
    };
    const boundary: Boundary = {
      fail,
      wrap:
        (fn) =>
        (...args) => {
          try {
            fn(...args);
          } catch (error) {
            fail(error);
          }
        },
    };
    try {
      work(boundary).catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  /** Plain HTTP through the proxy: `GET http://host/path`. */
  private async forward(req: IncomingMessage, res: ServerResponse, boundary: Boundary): Promise<void> {
    const workspace = this.identify(req.headers['proxy-authorization']);
    if (workspace === undefined) return void this.refuseHttp(res, 407, 'Proxy authentication required: use the HTTP_PROXY Berth set for this workspace.');
    let url: URL;
    try {
      if ((req.url ?? '').length > MAX_URL_LENGTH) throw new Error('too long');
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error('not http');
    } catch {
      return void this.refuseHttp(res, 400, 'Send absolute http:// URLs to this proxy; use CONNECT for https.');
    }
    const port = Number(url.port || 80);
    const target = await this.admit(workspace, url.hostname, port, req.method ?? 'GET');
    if ('refusal' in target) return void this.refuseHttp(res, 403, target.refusal);
    let bytes = 0;
    const headers = forwardableHeaders(req.headers);
    headers['host'] = url.host;
    const upstream = httpRequest({ host: target.address, port, method: req.method, path: `${url.pathname}${url.search}`, headers, agent: this.agent, setHost: false });
    upstream.on(
      'response',
      boundary.wrap((response: IncomingMessage) => {
        response.on('error', () => res.destroy());
        res.writeHead(response.statusCode ?? 502, response.statusMessage, forwardableHeaders(response.headers));
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.pipe(res);
      }),
    );
    upstream.on(
      'error',
      boundary.wrap((error: Error) => {
        if (!res.headersSent) this.refuseHttp(res, 502, `Upstream ${url.host} failed: ${error.message}`);
        else res.destroy();
      }),
    );
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
    res.once('close', boundary.wrap(() => this.decided(workspace, url.hostname, port, target.decision, req.method ?? 'GET', bytes)));
  }

  /** CONNECT host:port — a byte tunnel, typically for TLS the proxy never opens. */
  private async tunnel(requestTarget: string, authorization: string | string[] | undefined, socket: Duplex, head: Buffer, boundary: Boundary): Promise<void> {
    // Already tracked: accept() saw this socket.
    socket.on('error', () => socket.destroy());
    const workspace = this.identify(authorization);
    if (workspace === undefined) return this.refuseTunnel(socket, 407, 'Proxy authentication required');
    const authority = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(requestTarget);
    const port = Number(authority?.[2]);
    if (!authority?.[1] || !(port > 0 && port < 65536)) return this.refuseTunnel(socket, 400, 'CONNECT needs host:port');
    const host = authority[1];
    const target = await this.admit(workspace, host, port, 'CONNECT');
    if ('refusal' in target) return this.refuseTunnel(socket, 403, target.refusal);
    const upstream = this.dial(port, target.address);
    this.track(upstream);
    let bytes = 0;
    let refused = false;
    upstream.once(
      'connect',
      boundary.wrap(() => {
        // Nagle off: a client that writes a request in parts (a TLS handshake does) would otherwise
        // wait ~40 ms for the target's delayed ACK on every small second write.
        upstream.setNoDelay(true);
        socket.write(CONNECTION_ESTABLISHED);
        relay(upstream, socket, (count) => (bytes += count));
        const open = (first: FirstBytes): void => {
          if ('refusal' in first) {
            refused = true;
            this.decided(workspace, host, port, { verdict: 'deny', rule: null, reason: first.refusal }, 'CONNECT', 0);
            socket.destroy();
            upstream.destroy();
            return;
          }
          if (first.pass.length > 0) upstream.write(first.pass);
          relay(socket, upstream);
        };
        // A tunnel to an address has no name to check: it opens in this same turn, no promise.
        if (!this.checksSni(host)) open({ pass: head });
        else this.firstBytes(socket, head, host).then(boundary.wrap(open), boundary.fail);
      }),
    );
    upstream.once(
      'error',
      boundary.wrap((error: Error) => {
        if (bytes === 0 && socket.writable) this.refuseTunnel(socket, 502, `Upstream ${host}:${String(port)} failed: ${error.message}`);
        else socket.destroy();
      }),
    );
    socket.once('close', () => upstream.destroy());
    upstream.once(
      'close',
      boundary.wrap(() => {
        if (!socket.destroyed && !socket.writableEnded) socket.end();
        if (!refused) this.decided(workspace, host, port, target.decision, 'CONNECT', bytes);
      }),
    );
  }

  /**
   * The client's first bytes in a tunnel opened to a host name. A TLS ClientHello (reassembled across
   * records and segments) passes only when its server name is that host: another name is domain
   * fronting; one that cannot be read, is too large, or does not complete within 10 s is refused
   * too, since a check that gives up would be a check that can be skipped. Not TLS, a ClientHello
   * without a name, or a client that stays silent (server-first protocols) pass unchanged.
   */
  private firstBytes(socket: Duplex, head: Buffer, host: string): Promise<FirstBytes> {
    if (!this.checksSni(host)) return Promise.resolve({ pass: head });
    let buffered = head;
    const timeoutMs = this.options.clientHelloTimeoutMs ?? CLIENT_HELLO_TIMEOUT_MS;
    const verdict = (ending?: 'timeout' | 'close'): FirstBytes | undefined => {
      const read = readClientHello(buffered);
      switch (read.kind) {
        case 'not-tls':
        case 'no-name':
          return { pass: buffered };
        case 'name':
          return sameHost(read.name, host) ? { pass: buffered } : { refusal: `the TLS handshake in the tunnel asks for ${read.name}, not ${host}` };
        case 'malformed':
          return { refusal: `the TLS handshake in the tunnel cannot be checked (${read.why})` };
        case 'incomplete':
          if (ending === undefined) return undefined;
          if (buffered.length === 0) return { pass: buffered };
          return { refusal: ending === 'timeout' ? `the TLS ClientHello in the tunnel was not complete after ${String(timeoutMs / 1000)} s` : 'the client left before its TLS ClientHello was complete' };
      }
    };
    const now = verdict();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (result: FirstBytes): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        resolve(result);
      };
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        const result = verdict();
        if (result !== undefined) done(result);
      };
      const onClose = (): void => done(verdict('close') ?? { pass: buffered });
      const timer = setTimeout(() => done(verdict('timeout') ?? { pass: buffered }), timeoutMs);
      socket.on('data', onData);
      socket.once('close', onClose);
    });
  }

  /** Whether a tunnel to `host` waits for the client's ClientHello: only one opened to a name. */
  private checksSni(host: string): boolean {
    return this.options.checkSni !== false && isIP(host) === 0;
  }

  /** The policy, then DNS, then the policy again on every resolved address; returns the address to dial. */
  private async admit(workspace: string, host: string, port: number, method: string): Promise<{ address: string; decision: Decision } | { refusal: string }> {
    const policy = this.options.policyFor(workspace) ?? { allow: [], deny: [] };
    const hostAddresses = this.hostAddresses();
    const refuse = (decision: Decision): { refusal: string } => {
      this.decided(workspace, host, port, decision, method, 0);
      return { refusal: `Berth egress policy of workspace ${workspace}: ${decision.reason}.` };
    };
    const first = decide(policy, host, port, hostAddresses);
    if (first.verdict === 'deny') return refuse(first);
    // The canonical spelling is what was checked, so it is what is dialed (`::ffff:7f00:1` is 127.0.0.1).
    const plain = canonicalAddress(host);
    if (isIP(plain) !== 0) return { address: plain, decision: first };
    let addresses: string[];
    try {
      addresses = await this.resolve(plain);
    } catch (error) {
      return refuse({ verdict: 'deny', rule: null, reason: `${host} does not resolve (${error instanceof Error ? error.message : String(error)})` });
    }
    const second = checkResolved(policy, host, port, addresses, hostAddresses);
    if (second.verdict === 'deny') return refuse(second);
    const [address] = addresses;
    return address === undefined ? refuse(second) : { address: canonicalAddress(address), decision: first };
  }

  /**
   * The workspace whose credential the request carries, or undefined. One map lookup by the
   * workspace name the request claims (not secret), then a constant-time comparison of the token
   * bytes, so a guest cannot learn a token byte by byte.
   */
  private identify(header: string | string[] | undefined): string | undefined {
    const match = typeof header === 'string' ? /^Basic\s+(.+)$/i.exec(header) : null;
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64');
    const colon = decoded.indexOf(0x3a);
    if (colon < 0) return undefined;
    const workspace = decodeUserinfo(decoded.toString('utf8', 0, colon));
    if (workspace === undefined) return undefined;
    const known = this.tokens.get(workspace);
    const token = decoded.subarray(colon + 1);
    return known !== undefined && known.length === token.length && timingSafeEqual(known, token) ? workspace : undefined;
  }

  private decided(workspace: string, host: string, port: number, decision: Decision, method: string, bytes: number): void {
    this.record({
      type: `egress.${decision.verdict}`,
      workspace,
      level: decision.verdict === 'deny' ? 'warn' : 'info',
      message: `${decision.verdict === 'allow' ? 'Allowed' : 'Denied'} ${method} ${host}:${String(port)}: ${decision.reason}.`,
      data: { host, port, verdict: decision.verdict, rule: decision.rule, method, bytes },
    });
  }

  /** The event log is an observer: a store that fails to take an event must not fail the connection. */
  private record(event: BerthEventInput): void {
    try {
      this.options.emit(event);
    } catch (error) {
      process.emitWarning(`berth egress: an event was lost (${error instanceof Error ? error.message : String(error)}): ${event.message}`);
    }
  }

  private refuseHttp(res: ServerResponse, status: number, message: string): void {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', connection: 'close' };
    if (status === 407) headers['proxy-authenticate'] = 'Basic realm="berth"';
    res.writeHead(status, headers).end(`${message}\n`);
  }

  private refuseTunnel(socket: Duplex, status: number, message: string): void {
    const reason = { 400: 'Bad Request', 403: 'Forbidden', 407: 'Proxy Authentication Required', 502: 'Bad Gateway' }[status] ?? 'Error';
    const auth = status === 407 ? 'Proxy-Authenticate: Basic realm="berth"\r\n' : '';
    const body = `${message}\n`;
    socket.end(`HTTP/1.1 ${String(status)} ${reason}\r\n${auth}Content-Type: text/plain\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n${body}`);
  }
}

/** What a connection's work may call: `wrap` puts a callback inside the boundary, `fail` ends the connection. */
interface Boundary {
  wrap: <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => void;
  fail: (error: unknown) => void;
}

type FirstBytes = { pass: Buffer } | { refusal: string };

const CONNECTION_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n', 'latin1');
/** node:http's own answers to a head cut short and to a head that took too long, byte for byte. */
const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n', 'latin1');
/** A whole request head within this, or 408 (`headTimeoutMs`). */
const HEAD_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT = Buffer.from('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n', 'latin1');

/**
 * One direction of a tunnel: every chunk from `from` is written to `to`, with backpressure, and
 * `from`'s end ends `to` (half-close passes through). What `pipe()` does for a tunnel, without its
 * per-connection listeners and their removal: errors and closes are the tunnel's own listeners' job.
 */
function relay(from: Duplex, to: Duplex, counted?: (bytes: number) => void): void {
  const resume = (): void => void from.resume();
  from.on('data', (chunk: Buffer) => {
    counted?.(chunk.length);
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  });
  // Not twice: ending a side that already ended (the target's end closes both ways) builds an
  // error with its stack for nothing, a few per cent of a burst's CPU.
  from.once('end', () => {
    if (!to.writableEnded && !to.destroyed) to.end();
  });
  // Paused while a ClientHello was read, or not flowing yet after the CONNECT: flowing from here.
  from.resume();
}

/** The workspace name of a proxy URL's userinfo (percent-encoded by urlFor), or undefined for a bad escape. */
function decodeUserinfo(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = String(headers['connection'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase());
  const result: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(key) || named.includes(key)) continue;
    result[key] = value;
  }
  return result;
}
