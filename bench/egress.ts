/**
 * What Berth's egress proxy costs on the wire, next to going direct and next to tinyproxy.
 *
 * Loopback only: every server listens on 127.0.0.1 and every client dials 127.0.0.1. One run starts
 *   target:    a node http server on 127.0.0.1:0 serving GET /big/<bytes> (streamed from one reused
 *              1 MiB Buffer) and /small (a tiny body). --target chooses where it runs: `process`
 *              (default: a child node, like any real upstream), `worker` (its own thread and event
 *              loop in this process; adds the target's busy share to the report) or `main` (the
 *              same event loop as Berth's proxy, to see what sharing it costs);
 *   Berth:     EgressProxy in this process's main thread, on 127.0.0.1:0, its policy allowing exactly
 *              127.0.0.1:<target port> (DNS is stubbed to fail); its events go where `berth egress
 *              serve` puts them, an EventBatch into a SQLite store (in a temporary home), unless
 *              `--events count` only counts them (what this bench did before 2026-12-03);
 *   tinyproxy: the Debian package, run here in the foreground from a temporary config
 *              (Listen/Allow 127.0.0.1, Timeout 600, MaxClients 1000, LogLevel Critical) and stopped
 *              at the end, on error or Ctrl-C too;
 *   client:    curl for the downloads (its own process); a worker thread for the node clients, so the
 *              client never shares the proxy's event loop.
 * Each iteration measures every path in turn, the order rotating per iteration:
 *   1. throughput: one download of --mib MiB per path with curl (`-x` forward, `-p -x` CONNECT);
 *   2. latency:    --requests / iterations sequential requests per path with a keep-alive http.Agent
 *                  (through the proxies' forward path, and inside one CONNECT tunnel), after one
 *                  unrecorded request that opens the connection; two shapes: GET /small (one write),
 *                  and POST /small whose headers and 100-byte body leave in two writes (flushHeaders,
 *                  then the body), as clients that stream bodies, and TLS flights, do;
 *   3. tunnels:    --tunnels CONNECT tunnels opened at once through each proxy (and as many plain
 *                  connections direct), each doing one GET /small with Connection: close.
 *
 * Usage: npx tsx bench/egress.ts [--iterations 15] [--warmup 2] [--mib 256] [--requests 500]
 *                                [--tunnels 256] [--target process|worker|main] [--events sqlite|count]
 * Needs curl and tinyproxy (`apt-get install -y tinyproxy`). Exits 0 whatever the numbers say (it is
 * a report); non-zero only when something failed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type ClientRequestArgs, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EventBatch } from '../src/egress/event-batch.js';
import { EgressProxy } from '../src/egress/proxy.js';
import { Store } from '../src/state/store.js';
import { resolveExecutable, run, runStreaming, type RunResult } from '../src/process/index.js';
import {
  checkInterrupted,
  commandLine,
  fmt,
  headerLine,
  iterate,
  median,
  messageOf,
  percentile,
  positiveInt,
  rotated,
  runLocalBenchmark,
  verdict,
  type LocalOptions,
} from './support.js';

const TARGET_THROUGHPUT_RATIO = 0.9;
const TARGET_ADDED_P50_MS = 1;
/** What the issue reports tinyproxy reaching here, for comparison. */
const ISSUE_TINYPROXY_RATIO = 0.63;
const HOST = '127.0.0.1';
const WORKSPACE = 'bench';
const CHUNK_BYTES = 1024 * 1024;
const SMALL_BODY = Buffer.from('hello from the egress bench target\n');
/** The body of the two-write POST: small, so Nagle's algorithm, if on anywhere, holds it. */
const POST_BODY = Buffer.alloc(100, 0x70);
const DOWNLOAD_TIMEOUT_S = 120;
const REQUEST_TIMEOUT_MS = 10_000;
const TUNNEL_TIMEOUT_MS = 30_000;
const STARTUP_TIMEOUT_MS = 10_000;
/** Set in the environment of a `--target process` child: it serves and prints its port. */
const ROLE_ENV = 'BERTH_BENCH_EGRESS_ROLE';
const TARGET_MODES = ['process', 'worker', 'main'] as const;
type TargetMode = (typeof TARGET_MODES)[number];
/** Where Berth's events go: a SQLite store through the service's EventBatch, or only a counter. */
const EVENT_MODES = ['sqlite', 'count'] as const;
type EventMode = (typeof EVENT_MODES)[number];

type ProxyName = 'direct' | 'berth' | 'tinyproxy';
type Via = 'direct' | 'forward' | 'tunnel';

/** One way from the client to the target. */
interface PathDef {
  key: string;
  label: string;
  proxy: ProxyName;
  via: Via;
  /**
   * Whether the node client keeps connections alive on this path. Not through tinyproxy's forward
   * path: 1.11 closes every client connection after one answer without saying `Connection: close`,
   * so a keep-alive client races the close and fails with "socket hang up".
   */
  keepAlive: boolean;
}

const PATHS: readonly PathDef[] = [
  { key: 'direct', label: 'direct', proxy: 'direct', via: 'direct', keepAlive: true },
  { key: 'berth-forward', label: 'Berth, forward (-x)', proxy: 'berth', via: 'forward', keepAlive: true },
  { key: 'berth-connect', label: 'Berth, CONNECT (-p -x)', proxy: 'berth', via: 'tunnel', keepAlive: true },
  { key: 'tinyproxy-forward', label: 'tinyproxy, forward (-x)', proxy: 'tinyproxy', via: 'forward', keepAlive: false },
  { key: 'tinyproxy-connect', label: 'tinyproxy, CONNECT (-p -x)', proxy: 'tinyproxy', via: 'tunnel', keepAlive: true },
];
/** The two request shapes of the latency measurement. */
const SHAPES = [
  { key: 'get', title: 'GET, one write' },
  { key: 'post', title: `POST, headers then ${String(POST_BODY.length)} B body: two writes` },
] as const;
type Shape = (typeof SHAPES)[number]['key'];

/** The tunnel bursts: plain connections direct as the floor, then CONNECT through each proxy. */
const BURST_PATHS: readonly PathDef[] = PATHS.filter((p) => p.via !== 'forward');

/** What a client needs to reach the target one way: plain data, so it crosses to the client thread. */
interface Route {
  via: Via;
  keepAlive: boolean;
  targetPort: number;
  proxyPort: number;
  /** The Proxy-Authorization header value, for Berth. */
  auth: string | undefined;
}

// ---------------------------------------------------------------------------------------------
// The target server (any thread or process).

function createTarget(): Server {
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x62);
  const server = createServer((req, res) => {
    const big = /^\/big\/(\d+)$/.exec(req.url ?? '');
    if (big) {
      const total = Number(big[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      let sent = 0;
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (req.url === '/small') {
      // Answers once the whole request is in: a POST's body too.
      req.resume();
      req.once('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(SMALL_BODY.length) }).end(SMALL_BODY));
      return;
    }
    res.writeHead(404, { 'content-length': '0' }).end();
  });
  // Longer than any pause between two batches, so keep-alive connections are not cut under a client.
  server.keepAliveTimeout = 120_000;
  return server;
}

async function listenLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the target is not listening on TCP');
  return address.port;
}

/** The target wherever it runs: its port, how busy its event loop is (where this process can see it), how to stop it. */
interface TargetHandle {
  port: number;
  busy: (() => EventLoopUtilization) | undefined;
  close: () => Promise<void>;
}

async function startTarget(mode: TargetMode): Promise<TargetHandle> {
  if (mode === 'main') {
    const server = createTarget();
    const port = await listenLoopback(server);
    return {
      port,
      busy: undefined,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  if (mode === 'worker') {
    const worker = startWorker('target');
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', (message: { port: number }) => resolve(message.port));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the target thread exited with ${String(code)} before listening`)));
    });
    return {
      port,
      busy: () => worker.performance.eventLoopUtilization(),
      close: async () => {
        await worker.terminate();
      },
    };
  }
  // A child node running this same file, told by the environment to serve.
  const abort = new AbortController();
  let output = '';
  let resolvePort: (port: number) => void = () => undefined;
  const portPrinted = new Promise<number>((resolve) => (resolvePort = resolve));
  const child = runStreaming([process.execPath, ...process.execArgv, import.meta.filename], {
    env: { ...process.env, [ROLE_ENV]: 'target' },
    timeoutMs: Infinity,
    killGraceMs: 1_000,
    okExitCodes: 'any',
    signal: abort.signal,
    onStdout: (chunk) => {
      output += chunk.toString();
      const match = /^port (\d+)$/m.exec(output);
      if (match) resolvePort(Number(match[1]));
    },
  });
  const exited = child.then(
    (result) => new Error(`the target process exited with ${String(result.exitCode)} before listening: ${result.stderr.trim()}`),
    (error: unknown) => new Error(`the target process failed: ${messageOf(error)}`),
  );
  const port = await Promise.race([portPrinted, exited, sleep(STARTUP_TIMEOUT_MS).then(() => new Error('the target process did not listen in time'))]);
  const close = async (): Promise<void> => {
    abort.abort();
    await child.catch(() => undefined);
  };
  if (port instanceof Error) {
    await close();
    throw port;
  }
  return { port, busy: undefined, close };
}

// ---------------------------------------------------------------------------------------------
// Worker threads: this same file, loaded through tsx, playing the role named in workerData.

interface WorkerInit {
  role: 'target' | 'client';
}

function startWorker(role: WorkerInit['role']): Worker {
  // A worker does not inherit tsx's hooks for its entry module: register them, then load this file.
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const init: WorkerInit = { role };
  return new Worker(code, { eval: true, workerData: init });
}

function workerMain(): void {
  const port = parentPort;
  if (port === null) return;
  const { role } = workerData as WorkerInit;
  if (role === 'target') {
    const server = createTarget();
    listenLoopback(server).then(
      (targetPort) => port.postMessage({ port: targetPort }),
      (error: unknown) => {
        throw error;
      },
    );
    return;
  }
  port.on('message', (call: ClientCall) => {
    const work = call.op === 'latency' ? latencyBatch(call.route, call.shape, call.count) : burst(call.route, call.count);
    work.then(
      (value) => port.postMessage({ id: call.id, value } satisfies ClientReply),
      (error: unknown) => port.postMessage({ id: call.id, error: messageOf(error) } satisfies ClientReply),
    );
  });
}

type ClientCall = { id: number; op: 'latency'; route: Route; shape: Shape; count: number } | { id: number; op: 'burst'; route: Route; count: number };
type ClientReply = { id: number; value: LatencyBatch | BurstResult } | { id: number; error: string };

/** The client thread, seen from the main thread: one call at a time, answered by id. */
class ClientThread {
  private readonly worker = startWorker('client');
  private readonly pending = new Map<number, { resolve: (value: LatencyBatch | BurstResult) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor() {
    this.worker.on('message', (reply: ClientReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply.value);
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`the client thread exited with ${String(code)}`)));
  }

  async latency(route: Route, shape: Shape, count: number): Promise<LatencyBatch> {
    const value = await this.call({ id: this.nextId++, op: 'latency', route, shape, count });
    if (!('ms' in value)) throw new Error('the client thread answered a latency batch with something else');
    return value;
  }

  async burst(route: Route, count: number): Promise<BurstResult> {
    const value = await this.call({ id: this.nextId++, op: 'burst', route, count });
    if (!('perTunnelMs' in value)) throw new Error('the client thread answered a burst with something else');
    return value;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private call(call: ClientCall): Promise<LatencyBatch | BurstResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(call.id, { resolve, reject });
      this.worker.postMessage(call);
    });
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The clients (run in the client thread).

/** Opens a raw CONNECT tunnel: the socket at once, and `ready` once the proxy answered 200. */
function openTunnel(route: Route): { socket: Socket; ready: Promise<void> } {
  // As an http.Agent's own connections are (its noDelay option defaults to true).
  const socket = connect({ port: route.proxyPort, host: HOST, noDelay: true });
  const authority = `${HOST}:${String(route.targetPort)}`;
  const ready = new Promise<void>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const detach = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (error: Error): void => {
      detach();
      reject(error);
    };
    const onClose = (): void => {
      detach();
      reject(new Error('the proxy closed the connection before answering CONNECT'));
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      detach();
      const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200\b/.test(status)) reject(new Error(`CONNECT answered "${status}"`));
      // The target speaks only when spoken to, so nothing may follow the answer yet.
      else if (end + 4 !== head.length) reject(new Error('the proxy sent bytes after its CONNECT answer'));
      else return resolve();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('connect', () => {
      const auth = route.auth === undefined ? '' : `Proxy-Authorization: ${route.auth}\r\n`;
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
  });
  return { socket, ready };
}

/** A plain connection to the target, shaped like openTunnel. */
function openDirect(route: Route): { socket: Socket; ready: Promise<void> } {
  const socket = connect(route.targetPort, HOST);
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return { socket, ready };
}

/** A keep-alive agent whose one connection is a CONNECT tunnel through the proxy: what an HTTPS client does. */
class TunnelAgent extends Agent {
  private readonly route: Route;

  constructor(route: Route) {
    super({ keepAlive: true, maxSockets: 1 });
    this.route = route;
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const { socket, ready } = openTunnel(this.route);
    ready.then(
      () => callback?.(null, socket),
      (error: unknown) => callback?.(error instanceof Error ? error : new Error(String(error)), socket),
    );
    return undefined;
  }
}

/** One request for /small; resolves to whether it went over a connection the agent already had. */
function requestSmall(route: Route, agent: Agent, shape: Shape): Promise<boolean> {
  const forward = route.via === 'forward';
  const authority = `${HOST}:${String(route.targetPort)}`;
  const headers: Record<string, string> = { host: authority };
  if (shape === 'post') headers['content-length'] = String(POST_BODY.length);
  if (forward && route.auth !== undefined) headers['proxy-authorization'] = route.auth;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port: forward ? route.proxyPort : route.targetPort,
        method: shape === 'post' ? 'POST' : 'GET',
        path: forward ? `http://${authority}/small` : '/small',
        headers,
        agent,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.once('error', reject);
        res.once('end', () => {
          if (res.statusCode === 200 && bytes === SMALL_BODY.length) resolve(req.reusedSocket);
          else reject(new Error(`${req.method} /small answered ${String(res.statusCode)} with ${String(bytes)} bytes`));
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${req.method} /small: no answer in ${String(REQUEST_TIMEOUT_MS)} ms`)));
    req.once('error', reject);
    if (shape === 'get') return void req.end();
    // Headers now, the body on a later turn of the loop: two writes, two segments.
    req.flushHeaders();
    setImmediate(() => req.end(POST_BODY));
  });
}

interface LatencyBatch {
  /** Per request, in order. */
  ms: number[];
  /** Recorded requests that had to open a new connection (keep-alive not kept). */
  newConnections: number;
}

async function latencyBatch(route: Route, shape: Shape, count: number): Promise<LatencyBatch> {
  const agent = route.via === 'tunnel' ? new TunnelAgent(route) : new Agent({ keepAlive: route.keepAlive, maxSockets: 1 });
  try {
    await requestSmall(route, agent, shape); // opens the connection (or the tunnel); not recorded
    const ms: number[] = [];
    let newConnections = 0;
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      const reused = await requestSmall(route, agent, shape);
      ms.push(performance.now() - start);
      if (!reused) newConnections++;
    }
    return { ms, newConnections };
  } finally {
    agent.destroy();
  }
}

/** One GET /small with Connection: close, written raw on an open socket; resolves once the answer ends. */
function rawGet(socket: Socket, targetPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      if (/^HTTP\/1\.1 200 /.test(text) && text.endsWith(SMALL_BODY.toString('latin1'))) resolve();
      else reject(new Error(`GET /small over the tunnel answered "${text.split('\r\n')[0] ?? ''}"`));
    });
    socket.write(`GET /small HTTP/1.1\r\nHost: ${HOST}:${String(targetPort)}\r\nConnection: close\r\n\r\n`);
  });
}

interface BurstResult {
  /** First start to last finish. */
  totalMs: number;
  /** Per successful tunnel: connect + CONNECT + GET + the answer's end. */
  perTunnelMs: number[];
  failures: number;
  firstFailure: string | undefined;
}

/** Opens `count` tunnels (or plain connections, direct) at once, one GET over each. */
async function burst(route: Route, count: number): Promise<BurstResult> {
  const start = performance.now();
  const one = async (): Promise<number> => {
    const t0 = performance.now();
    const { socket, ready } = route.via === 'tunnel' ? openTunnel(route) : openDirect(route);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer in ${String(TUNNEL_TIMEOUT_MS)} ms`)), TUNNEL_TIMEOUT_MS);
    try {
      await ready;
      await rawGet(socket, route.targetPort);
      return performance.now() - t0;
    } finally {
      clearTimeout(timer);
      socket.destroy();
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: count }, one));
  const totalMs = performance.now() - start;
  const perTunnelMs: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') perTunnelMs.push(outcome.value);
    else {
      failures++;
      firstFailure ??= messageOf(outcome.reason);
    }
  }
  return { totalMs, perTunnelMs, failures, firstFailure };
}

// ---------------------------------------------------------------------------------------------
// tinyproxy.

interface Tinyproxy {
  port: number;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function startTinyproxy(bin: string, dir: string): Promise<Tinyproxy> {
  const port = await freePort();
  const conf = join(dir, 'tinyproxy.conf');
  // 1.11 keywords (tinyproxy.conf(5)): no ConnectPort line, so CONNECT may reach any port; no
  // LogFile/Syslog, and Critical only, so it stays quiet; no User, so it runs as whoever runs this.
  writeFileSync(conf, [`Port ${String(port)}`, `Listen ${HOST}`, `Allow ${HOST}`, 'Timeout 600', 'MaxClients 1000', 'LogLevel Critical', ''].join('\n'));
  const abort = new AbortController();
  let settled: RunResult | Error | undefined;
  const child = runStreaming([bin, '-d', '-c', conf], { timeoutMs: Infinity, killGraceMs: 1_000, okExitCodes: 'any', signal: abort.signal, onStdout: () => undefined });
  const done = child.then(
    (result) => void (settled = result),
    (error: unknown) => void (settled = error instanceof Error ? error : new Error(String(error))),
  );
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  while (!(await canConnect(port))) {
    if (settled !== undefined) {
      const why = settled instanceof Error ? settled.message : `exited with ${String(settled.exitCode)}: ${settled.stderr.trim()}`;
      throw new Error(`tinyproxy did not start (${why})`);
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`tinyproxy did not listen on ${HOST}:${String(port)} within ${String(STARTUP_TIMEOUT_MS)} ms`);
    }
    await sleep(50);
  }
  return { port, stop };
}

// ---------------------------------------------------------------------------------------------
// The run (main thread).

interface Settings {
  mib: number;
  requests: number;
  tunnels: number;
  target: TargetMode;
  events: EventMode;
}

function settingsOf(options: LocalOptions): Settings {
  const { values } = options;
  const target = TARGET_MODES.find((mode) => mode === values['target']);
  if (target === undefined) throw new Error(`--target must be one of ${TARGET_MODES.join(', ')}, got "${values['target'] ?? ''}".`);
  const events = EVENT_MODES.find((mode) => mode === values['events']);
  if (events === undefined) throw new Error(`--events must be one of ${EVENT_MODES.join(', ')}, got "${values['events'] ?? ''}".`);
  return {
    mib: positiveInt('--mib', values['mib'] ?? '', 1),
    requests: positiveInt('--requests', values['requests'] ?? '', 1),
    tunnels: positiveInt('--tunnels', values['tunnels'] ?? '', 1),
    target,
    events,
  };
}

interface DownloadSample {
  mbps: number;
  /** Share of the download this process's main thread (Berth's proxy, and the target with --target main) was busy. */
  mainBusy: number;
  /** The same for the target's thread, with --target worker. */
  targetBusy: number;
}

interface Result {
  settings: Settings;
  versions: { curl: string; tinyproxy: string };
  downloads: Map<string, DownloadSample[]>;
  latency: Map<string, LatencyBatch[]>;
  bursts: Map<string, BurstResult[]>;
  events: { allow: number; deny: number };
}

/** curl's environment: this one without proxy variables, so "direct" is direct. */
function curlEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/_proxy$/i.test(key)) env[key] = value;
  return env;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function required(name: string): string {
  const bin = resolveExecutable(name);
  if (bin === undefined) {
    const hint = name === 'tinyproxy' ? 'apt-get install -y tinyproxy' : `install ${name}`;
    throw new Error(`${name} is not on PATH; ${hint}, then run this again.`);
  }
  return bin;
}

async function measure(options: LocalOptions): Promise<Result> {
  const settings = settingsOf(options);
  const { iterations, warmup } = options;
  const curl = required('curl');
  const tinyproxyBin = required('tinyproxy');
  const env = curlEnv();
  const bytes = settings.mib * 1024 * 1024;
  const perBatch = Math.ceil(settings.requests / iterations);
  const result: Result = {
    settings,
    versions: {
      curl: (await run([curl, '--version'])).stdout.split('\n')[0]?.split(' ').slice(0, 2).join(' ') ?? '?',
      tinyproxy: (await run([tinyproxyBin, '-v'])).stdout.trim(),
    },
    downloads: new Map(),
    latency: new Map(),
    bursts: new Map(),
    events: { allow: 0, deny: 0 },
  };
  const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-egress-'));
  const cleanups: { what: string; run: () => Promise<void> }[] = [];
  try {
    const target = await startTarget(settings.target);
    cleanups.push({ what: 'the target', run: target.close });
    const policy = { allow: [`${HOST}:${String(target.port)}`], deny: [] };
    // As EgressService does: one batch per turn of the loop into the state store's event log.
    let batch: EventBatch | undefined;
    if (settings.events === 'sqlite') {
      const store = Store.open(join(scratch, 'home'));
      batch = new EventBatch(store.events);
      cleanups.push({ what: 'the event store', run: () => Promise.resolve(store.close()) });
      const flushing = batch;
      cleanups.push({ what: 'the event batch', run: () => Promise.resolve(flushing.flush()) });
    }
    const berth = new EgressProxy({
      host: HOST,
      policyFor: (ws) => (ws === WORKSPACE ? policy : undefined),
      emit: (event) => {
        if (event.type === 'egress.allow') result.events.allow++;
        else result.events.deny++;
        batch?.add(event);
      },
      resolve: () => Promise.reject(new Error('this benchmark does no DNS')),
    });
    const berthPort = (await berth.listen()).port;
    cleanups.push({ what: "Berth's proxy", run: () => berth.close(100) });
    const tinyproxy = await startTinyproxy(tinyproxyBin, scratch);
    cleanups.push({ what: 'tinyproxy', run: tinyproxy.stop });
    const client = new ClientThread();
    cleanups.push({ what: 'the client thread', run: () => client.close() });
    process.stderr.write(
      `target ${HOST}:${String(target.port)} (${settings.target}), Berth ${HOST}:${String(berthPort)}, tinyproxy ${HOST}:${String(tinyproxy.port)}\n`,
    );

    const { token } = berth.credentialFor(WORKSPACE);
    const berthAuth = `Basic ${Buffer.from(`${WORKSPACE}:${token}`).toString('base64')}`;
    const proxyUrl = { berth: berth.urlFor(WORKSPACE), tinyproxy: `http://${HOST}:${String(tinyproxy.port)}` };
    const routeOf = (path: PathDef): Route => ({
      via: path.via,
      keepAlive: path.keepAlive,
      targetPort: target.port,
      proxyPort: path.proxy === 'berth' ? berthPort : tinyproxy.port,
      auth: path.proxy === 'berth' ? berthAuth : undefined,
    });

    const download = async (path: PathDef): Promise<DownloadSample> => {
      const args = ['-q', '-sS', '-o', '/dev/null', '--max-time', String(DOWNLOAD_TIMEOUT_S), '-w', '%{http_code} %{size_download} %{speed_download}'];
      if (path.proxy !== 'direct') args.push(...(path.via === 'tunnel' ? ['-p'] : []), '-x', proxyUrl[path.proxy]);
      args.push(`http://${HOST}:${String(target.port)}/big/${String(bytes)}`);
      const mainBefore = performance.eventLoopUtilization();
      const targetBefore = target.busy?.();
      const { stdout } = await run([curl, ...args], { env, timeoutMs: (DOWNLOAD_TIMEOUT_S + 10) * 1000 });
      const mainBusy = performance.eventLoopUtilization(mainBefore).utilization;
      const targetBusy = target.busy && targetBefore ? performance.eventLoopUtilization(target.busy(), targetBefore).utilization : Number.NaN;
      const [code, size, speed] = stdout.trim().split(' ');
      if (code !== '200' || Number(size) !== bytes) throw new Error(`${path.label}: download answered ${code ?? '?'} with ${size ?? '?'} of ${String(bytes)} bytes`);
      return { mbps: Number(speed) / 1e6, mainBusy, targetBusy };
    };

    await iterate(iterations, warmup, async ({ index, record }) => {
      for (const path of rotated(PATHS, index)) {
        checkInterrupted();
        const sample = await download(path);
        if (record) push(result.downloads, path.key, sample);
      }
      for (const shape of rotated(SHAPES, index)) {
        for (const path of rotated(PATHS, index)) {
          checkInterrupted();
          const batch = await client.latency(routeOf(path), shape.key, perBatch).catch((error: unknown) => {
            throw new Error(`latency, ${shape.key}, ${path.label}: ${messageOf(error)}`);
          });
          if (record) push(result.latency, `${shape.key}/${path.key}`, batch);
        }
      }
      for (const path of rotated(BURST_PATHS, index)) {
        checkInterrupted();
        const outcome = await client.burst(routeOf(path), settings.tunnels).catch((error: unknown) => {
          throw new Error(`tunnels, ${path.label}: ${messageOf(error)}`);
        });
        if (record) push(result.bursts, path.key, outcome);
      }
      if (record) process.stderr.write(`iteration ${String(index + 1)}/${String(iterations)}\n`);
    });
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup.run().catch((error: unknown) => {
        process.stderr.write(`stopping ${cleanup.what}: ${messageOf(error)}\n`);
        process.exitCode = 1;
      });
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The report.

const TARGET_WHERE: Record<TargetMode, string> = {
  process: 'a child node process, --target process',
  worker: "a worker thread of this process, not the proxy's event loop, --target worker",
  main: "the same event loop as Berth's proxy, --target main",
};
const pct = (share: number): string => (Number.isNaN(share) ? '-' : `${(share * 100).toFixed(0)}%`);
const label = (key: string): string => PATHS.find((p) => p.key === key)?.label ?? key;

function report(result: Result, options: LocalOptions): void {
  const { settings, versions } = result;
  const { iterations, warmup } = options;
  const lines: string[] = [];
  lines.push(`${headerLine('Berth egress proxy vs direct vs tinyproxy (loopback)', iterations, warmup)}, ${versions.curl}, ${versions.tinyproxy}`);
  lines.push('');
  lines.push(`Command: \`${commandLine()}\``);
  lines.push('');
  lines.push(
    `Target: node http server on ${HOST}:0 (${TARGET_WHERE[settings.target]}); ` +
      `Berth's EgressProxy in this process's main thread (its events ${settings.events === 'sqlite' ? 'written to a SQLite store through an EventBatch, as `berth egress serve` does' : 'only counted'}); tinyproxy its own process; ` +
      "curl and the node client (a worker thread) never share the proxy's event loop. " +
      'Every path is measured in each iteration, in an order that rotates per iteration.',
  );

  // 1. Throughput.
  const direct = median((result.downloads.get('direct') ?? []).map((s) => s.mbps));
  lines.push('');
  lines.push(
    `### 1. Throughput: ${String(settings.mib)} MiB downloads with curl, ${String(iterations)} per path ` +
      '(MB/s = 10^6 B/s from curl `%{speed_download}`; busy = share of the download the event loop was working, medians)',
  );
  lines.push('');
  const withTarget = settings.target === 'worker';
  const mbpsOf = (key: string): number => median((result.downloads.get(key) ?? []).map((s) => s.mbps));
  lines.push(
    `| path | MB/s median | min | max | × direct | × tinyproxy, same mode | main thread (Berth proxy${settings.target === 'main' ? ' + target' : ''}) busy |` +
      `${withTarget ? ' target thread busy |' : ''}`,
  );
  lines.push(`|---|---:|---:|---:|---:|---:|---:|${withTarget ? '---:|' : ''}`);
  for (const path of PATHS) {
    const samples = result.downloads.get(path.key) ?? [];
    const mbps = samples.map((s) => s.mbps);
    const m = median(mbps);
    lines.push(
      `| ${path.label} | ${fmt(m, 0)} | ${fmt(Math.min(...mbps), 0)} | ${fmt(Math.max(...mbps), 0)} | ${fmt(m / direct, 2)} | ` +
        `${path.proxy === 'berth' ? fmt(m / mbpsOf(`tinyproxy-${path.via === 'tunnel' ? 'connect' : 'forward'}`), 2) : '-'} | ` +
        `${pct(median(samples.map((s) => s.mainBusy)))} |${withTarget ? ` ${pct(median(samples.map((s) => s.targetBusy)))} |` : ''}`,
    );
  }

  // 2. Latency.
  const latencyOf = (shape: Shape, key: string): number[] => (result.latency.get(`${shape}/${key}`) ?? []).flatMap((b) => b.ms);
  lines.push('');
  lines.push(
    `### 2. Latency: sequential requests for /small (answer ${String(SMALL_BODY.length)} B), ${String(Math.ceil(settings.requests / iterations))} per path ` +
      'and shape per iteration, keep-alive http.Agent (maxSockets 1; tinyproxy forward: keep-alive off, it closes after each answer); ' +
      'CONNECT rows: one tunnel per batch, the requests inside it. ms per request; added = p50 − direct p50',
  );
  lines.push('');
  lines.push('| request | path | requests | new connections | p50 ms | p90 ms | p99 ms | added p50 ms |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const shape of SHAPES) {
    const directP50 = median(latencyOf(shape.key, 'direct'));
    for (const path of PATHS) {
      const ms = latencyOf(shape.key, path.key);
      const fresh = (result.latency.get(`${shape.key}/${path.key}`) ?? []).reduce((sum, b) => sum + b.newConnections, 0);
      const p50 = median(ms);
      lines.push(
        `| ${shape.title} | ${path.label} | ${String(ms.length)} | ${String(fresh)} | ${fmt(p50, 3)} | ${fmt(percentile(ms, 0.9), 3)} | ` +
          `${fmt(percentile(ms, 0.99), 3)} | ${path.proxy === 'direct' ? '-' : fmt(p50 - directP50, 3)} |`,
      );
    }
  }

  // 3. Tunnels.
  lines.push('');
  lines.push(
    `### 3. Concurrency: ${String(settings.tunnels)} CONNECT tunnels opened at once per proxy (direct: as many plain connections), ` +
      'one GET /small each with Connection: close; per tunnel = connect + CONNECT + GET until the answer ends',
  );
  lines.push('');
  lines.push('| path | bursts | tunnels | failures | burst total ms median | max | per tunnel p50 ms | p90 ms | max ms |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const path of BURST_PATHS) {
    const bursts = result.bursts.get(path.key) ?? [];
    const per = bursts.flatMap((b) => b.perTunnelMs);
    const totals = bursts.map((b) => b.totalMs);
    const failures = bursts.reduce((sum, b) => sum + b.failures, 0);
    lines.push(
      `| ${path.label} | ${String(bursts.length)} | ${String(bursts.length * settings.tunnels)} | ${String(failures)} | ${fmt(median(totals))} | ` +
        `${fmt(Math.max(...totals))} | ${fmt(median(per))} | ${fmt(percentile(per, 0.9))} | ${fmt(Math.max(...per))} |`,
    );
  }
  for (const path of BURST_PATHS) {
    const first = (result.bursts.get(path.key) ?? []).find((b) => b.firstFailure !== undefined)?.firstFailure;
    if (first !== undefined) lines.push(`\n${path.label}: first failure: ${first}`);
  }
  lines.push('');
  lines.push(`Berth emitted ${String(result.events.allow)} egress.allow and ${String(result.events.deny)} egress.deny events (warm-up included).`);

  // Targets.
  lines.push('');
  lines.push('Targets:');
  for (const key of ['berth-forward', 'berth-connect', 'tinyproxy-forward', 'tinyproxy-connect']) {
    const ratio = median((result.downloads.get(key) ?? []).map((s) => s.mbps)) / direct;
    const note = key.startsWith('tinyproxy') ? ` (for comparison; the issue reports ~${String(ISSUE_TINYPROXY_RATIO)}×)` : '';
    lines.push(`- throughput, ${label(key)}: ${fmt(ratio, 2)}× direct ≥ ${String(TARGET_THROUGHPUT_RATIO)}×: ${verdict(ratio >= TARGET_THROUGHPUT_RATIO)}${note}`);
  }
  for (const shape of SHAPES) {
    for (const key of ['berth-forward', 'berth-connect']) {
      const added = median(latencyOf(shape.key, key)) - median(latencyOf(shape.key, 'direct'));
      lines.push(`- latency, ${shape.title}, ${label(key)}: added p50 ${fmt(added, 3)} ms < ${String(TARGET_ADDED_P50_MS)} ms: ${verdict(added < TARGET_ADDED_P50_MS)}`);
    }
  }
  for (const path of BURST_PATHS.filter((p) => p.proxy !== 'direct')) {
    const bursts = result.bursts.get(path.key) ?? [];
    const failures = bursts.reduce((sum, b) => sum + b.failures, 0);
    lines.push(
      `- ${String(settings.tunnels)} concurrent tunnels, ${path.label}: ${String(failures)} failures of ${String(bursts.length * settings.tunnels)} = 0: ${verdict(failures === 0)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------

if (!isMainThread) {
  workerMain();
} else if (process.env[ROLE_ENV] === 'target') {
  // `--target process`: serve, say where, and run until stopped.
  const server = createTarget();
  void listenLoopback(server).then((port) => process.stdout.write(`port ${String(port)}\n`));
} else {
  runLocalBenchmark({
    defaults: { iterations: 15, warmup: 2 },
    options: { mib: '256', requests: '500', tunnels: '256', target: 'process', events: 'sqlite' },
    cleanup: 'stopping tinyproxy, the proxy and the target',
    preflight: (options) => void settingsOf(options),
    run: measure,
    report,
  });
}
