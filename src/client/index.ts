import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isAbsolute, resolve } from 'node:path';
import { BERTH_ERROR_CODES, BerthError, isBerthError, type BerthErrorCode } from '../errors.js';
import type { BerthApi, DevApi, DevStartOptions, EgressChange, EventFilter, EventsApi } from '../api.js';
import type { StoredBerthEvent } from '../events.js';
import type { ApplyResult, ClientListOptions, DevServer, ObservedListing, DevStartSpec, EgressPolicy, EgressView, EventQuery, Health, PlanResult, StoredEvent, UpResult, UpSpec, WorkspaceStatus, WorkspaceSummary } from './types.js';
import '../dispose-symbol.js';

import { ClientFiles } from './files.js';
import { RemoteProcess, type ProcessInfo } from './processes.js';
import { remoteExec, remotePty, type RemoteExecOptions, type RemotePty, type RemotePtyOptions } from './streams.js';

export type * from './types.js';
export type { RemoteExecOptions, RemotePty, RemotePtyOptions } from './streams.js';

/** What `exec` answers: output as text, or as bytes with `encoding: 'buffer'`. */
export interface ClientExecResult<T extends string | Buffer = string> {
  exitCode: number;
  stdout: T;
  stderr: T;
  durationMs: number;
}

export interface ClientOptions {
  /** The daemon's unix socket (no token needed: only its user can open it). */
  socket?: string | undefined;
  /** Or its loopback listener, `http://127.0.0.1:PORT`, with the token from `$BERTH_HOME/daemon.token`. */
  url?: string | undefined;
  token?: string | undefined;
  /** Per request; SSE streams are not bounded. Default 10 minutes (an `up` may build a network, pull nothing, start). */
  timeoutMs?: number | undefined;
}

const KNOWN_CODES = new Set<string>(BERTH_ERROR_CODES);

/**
 * The typed client of berthd's HTTP API (`import { BerthClient } from 'berth/client'`): the same
 * `BerthApi` as Berth in process (same names, arguments, results), plus the daemon's own
 * operations (health, plan, apply). Errors come back as the same `BerthError`s (code, message,
 * hint, details) the library throws.
 */
export class BerthClient implements BerthApi {
  readonly via = 'daemon' as const;
  private readonly options: ClientOptions;
  /** Files anywhere in a workspace, bytes-safe: the same names and shapes as `berth.files`. */
  readonly files: ClientFiles = new ClientFiles((method, path, body) => this.json(method, path, body));
  /** Aborted by close(): every request in flight ends with E_ABORTED, follow() ends. */
  private readonly closing = new AbortController();
  private closed = false;
  /** Dev servers, as `berth.dev` in process. */
  readonly dev: DevApi;
  /** The event log: `await client.events({ after })`, `for await (const e of client.events.follow())`. */
  readonly events: EventsApi;

  constructor(options: ClientOptions) {
    if ((options.socket === undefined) === (options.url === undefined)) {
      throw new BerthError('E_INVALID_INPUT', 'BerthClient needs exactly one of socket or url.', { hint: 'new BerthClient({ socket: `${home}/berth.sock` }), or { url, token }.' });
    }
    this.options = options;
    // Every request in flight listens on this one signal: twenty at once are normal use, not a leak.
    setMaxListeners(0, this.closing.signal);
    this.dev = {
      start: (workspace, name, spec: DevStartOptions) => this.json('POST', `/workspaces/${enc(workspace)}/dev-servers/${enc(name)}`, { command: spec.command, cwd: spec.cwd, env: spec.env, port: spec.port, wait: spec.wait }),
      stop: (workspace, name) => this.stopDevServer(workspace, name),
      restart: (workspace, name, opts = {}) => this.restartDevServer(workspace, name, opts),
      list: (workspace, opts = {}) => this.listDevServers({ workspace, scan: opts.full === true ? 'full' : true }),
      logs: (workspace, name, opts = {}) => this.devServerLogs(workspace, name, opts),
      forwardedPorts: (workspace) => this.json('GET', `/workspaces/${enc(workspace)}/forwarded-ports`),
    };
    this.events = Object.assign((filter: EventFilter = {}) => this.json<StoredBerthEvent[]>('GET', `/events${eventQuery(filter)}`), {
      follow: (filter: Omit<EventFilter, 'limit'> = {}, opts: { signal?: AbortSignal | undefined } = {}) => this.follow(filter, opts.signal) as AsyncIterable<StoredBerthEvent>,
    });
  }

  health(): Promise<Health> {
    return this.json('GET', '/health');
  }

  /**
   * Runs a command in the workspace through the daemon (a WebSocket): `onStdout`/`onStderr` get
   * chunks as they come; a timeout or abort ends the process inside the workspace and rejects with
   * E_TIMEOUT / E_ABORTED, as the library's `exec` does.
   */
  exec(id: string, argv: readonly string[], options: RemoteExecOptions & { encoding: 'buffer' }): Promise<ClientExecResult<Buffer>>;
  exec(id: string, argv: readonly string[], options?: RemoteExecOptions & { encoding?: 'utf8' | undefined }): Promise<ClientExecResult>;
  async exec(id: string, argv: readonly string[], options: RemoteExecOptions & { encoding?: 'utf8' | 'buffer' | undefined } = {}): Promise<ClientExecResult<string | Buffer>> {
    const result = await remoteExec(this.options, id, argv, options);
    if (options.encoding === 'buffer') return result;
    return { ...result, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8') };
  }

  /**
   * Starts a long-lived process in the workspace (`berth.spawn` on the daemon); the handle follows
   * it over a WebSocket, with the library handle's shape. It lives in the workspace, not here.
   */
  async spawn(id: string, argv: readonly string[], options: { cwd?: string; env?: Readonly<Record<string, string>>; user?: string; ringBytes?: number } = {}): Promise<RemoteProcess> {
    const info = await this.json<ProcessInfo>('POST', `/workspaces/${enc(id)}/processes`, { argv, ...options });
    return this.processHandle(info);
  }

  /** The workspace's spawned processes, to attach to again (after an app restart, say). */
  async processes(id: string): Promise<RemoteProcess[]> {
    return (await this.json<ProcessInfo[]>('GET', `/workspaces/${enc(id)}/processes`)).map((info) => this.processHandle(info));
  }

  private processHandle(info: ProcessInfo): RemoteProcess {
    return new RemoteProcess(this.options, info, async (signal) => {
      await this.json('POST', `/workspaces/${enc(info.workspace)}/processes/${enc(info.id)}/kill`, signal === undefined ? {} : { signal });
    });
  }

  /** A terminal in the workspace through the daemon (a WebSocket); the same handle as the library's `pty`. */
  pty(id: string, options: RemotePtyOptions): Promise<RemotePty> {
    return remotePty(this.options, id, options);
  }

  /**
   * This installation's workspaces; `labels`: only those whose labels include every pair given.
   * The daemon may answer from its last observation (under 1.5 s old, nothing changed through
   * Berth since); `fresh: true` has it observe the engines now. `listObserved` says how fresh.
   */
  async list(options: ClientListOptions = {}): Promise<WorkspaceSummary[]> {
    return (await this.listObserved(options)).workspaces;
  }

  /** `list()` with how fresh the answer is: when it was observed, its age, reused or live. */
  async listObserved(options: ClientListOptions = {}): Promise<ObservedListing> {
    const search = new URLSearchParams(Object.entries(options.labels ?? {}).map(([key, value]): [string, string] => ['label', `${key}=${value}`]));
    if (options.fresh) search.set('fresh', 'true');
    const query = search.toString();
    const answeredAt = Date.now();
    const response = await this.send('GET', `/workspaces${query === '' ? '' : `?${query}`}`);
    const workspaces = JSON.parse(response.text) as WorkspaceSummary[];
    const observedAt = header(response.headers, 'x-berth-observed-at');
    const ageMs = Number(header(response.headers, 'x-berth-age-ms'));
    // A daemon from before the cache sends neither header: it observed for every request.
    if (observedAt === undefined || !Number.isFinite(ageMs)) return { workspaces, observedAt: new Date(answeredAt).toISOString(), ageMs: 0, source: 'live' };
    return { workspaces, observedAt, ageMs, source: header(response.headers, 'x-berth-listing') === 'cached' ? 'cached' : 'live' };
  }

  /** @deprecated Use `list()` (the same answer, as Berth in process names it). */
  listWorkspaces(): Promise<WorkspaceSummary[]> {
    return this.list();
  }

  /** One workspace, the same fields as Berth in process (`getWorkspace` adds egress and isolated). */
  async status(id: string): Promise<WorkspaceSummary> {
    const { runtime, state, container, image, ip, root, isolation, labels, observedAt } = await this.getWorkspace(id);
    return { id, runtime, state, container, image, ip, root, isolation, labels: labels ?? {}, observedAt };
  }

  /** One workspace with its egress view and whether it is isolated. */
  getWorkspace(id: string): Promise<WorkspaceStatus> {
    return this.json('GET', `/workspaces/${enc(id)}`);
  }

  /**
   * Creates, starts, reuses or recreates. Of an existing workspace `spec` is a patch over what was
   * last declared; without one, as last declared. Relative paths are taken from this process's
   * folder (as in process), and a new workspace without a root gets this folder.
   */
  async up(id: string, spec?: UpSpec): Promise<UpResult> {
    const body = spec === undefined ? {} : absolute(spec);
    try {
      return await this.json<UpResult>('POST', `/workspaces/${enc(id)}/up`, body);
    } catch (error) {
      // The daemon does not know this process's folder: a new workspace comes up in it, as in process.
      if (body.root === undefined && isBerthError(error, 'E_INVALID_INPUT') && (error.details?.['recorded'] === false || /body\.root is required/.test(error.message))) {
        return this.json<UpResult>('POST', `/workspaces/${enc(id)}/up`, { ...body, root: process.cwd() });
      }
      throw error;
    }
  }

  async stop(id: string): Promise<void> {
    await this.json('POST', `/workspaces/${enc(id)}/stop`);
  }

  async remove(id: string): Promise<void> {
    await this.json('DELETE', `/workspaces/${enc(id)}`);
  }

  /**
   * Ends the requests in flight (each rejects with E_ABORTED) and every follow(); later calls
   * reject with E_CLOSED. The daemon and the workspaces keep running.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    return Promise.resolve();
  }

  /** `await using client = await openBerth()`: closed when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * @deprecated Use `dev.list(workspace)`. From the registry the daemon's liveness loop keeps;
   * `scan: true` checks the servers now (a connect where it vouches, else a scan), `'full'` scans every workspace.
   */
  listDevServers(options: { workspace?: string; scan?: boolean | 'full' } = {}): Promise<DevServer[]> {
    return this.json('GET', `/dev-servers${query({ workspace: options.workspace, scan: options.scan === 'full' ? 'full' : options.scan ? 'true' : undefined })}`);
  }

  /** @deprecated Use `dev.start(workspace, name, { command: [...], wait })` (argv only). */
  startDevServer(workspace: string, name: string, spec: DevStartSpec, options: { wait?: boolean } = {}): Promise<DevServer> {
    return this.json('POST', `/workspaces/${enc(workspace)}/dev-servers/${enc(name)}${query({ wait: options.wait ? 'true' : undefined })}`, spec);
  }

  /** @deprecated Use `dev.stop(workspace, name)`. */
  stopDevServer(workspace: string, name: string): Promise<DevServer> {
    return this.json('POST', `/workspaces/${enc(workspace)}/dev-servers/${enc(name)}/stop`);
  }

  /** @deprecated Use `dev.restart(workspace, name, { wait })`. */
  restartDevServer(workspace: string, name: string, options: { wait?: boolean | undefined } = {}): Promise<DevServer> {
    return this.json('POST', `/workspaces/${enc(workspace)}/dev-servers/${enc(name)}/restart${query({ wait: options.wait ? 'true' : undefined })}`);
  }

  /** @deprecated Use `dev.logs(workspace, name, { tail })`. */
  async devServerLogs(workspace: string, name: string, options: { tail?: number | undefined } = {}): Promise<string> {
    const response = await this.send('GET', `/workspaces/${enc(workspace)}/dev-servers/${enc(name)}/logs${query({ tail: options.tail?.toString() })}`);
    return response.text;
  }

  egress(id: string): Promise<EgressView | null> {
    return this.json('GET', `/workspaces/${enc(id)}/egress`);
  }

  changeEgress(id: string, change: EgressChange): Promise<EgressPolicy> {
    return this.json('POST', `/workspaces/${enc(id)}/egress`, change);
  }

  /** Has the daemon's proxy serve the workspace's rules as stored now; resolves once it does. */
  async applyEgress(id: string): Promise<void> {
    await this.json('POST', `/workspaces/${enc(id)}/egress/apply`);
  }

  egressLog(id: string, options: { after?: number } = {}): Promise<StoredEvent[]> {
    return this.json('GET', `/workspaces/${enc(id)}/egress/log${query({ after: options.after?.toString() })}`);
  }

  plan(file: string): Promise<PlanResult> {
    return this.json('POST', '/plan', { file });
  }

  /** `concurrency`: workspaces worked on at once (1: plan order); the daemon's default when left out. */
  apply(file: string, confirm: { planHash: string } | { yes: true }, options: { concurrency?: number } = {}): Promise<ApplyResult> {
    return this.json('POST', '/apply', { file, ...confirm, ...options });
  }

  /**
   * @deprecated Use `events.follow(filter, { signal })`. The live event stream (SSE), in order.
   * Ends when `signal` aborts or the daemon goes away; resume later with `{ after: lastSeenSeq }`.
   */
  streamEvents(filter: EventQuery = {}, signal?: AbortSignal): AsyncGenerator<StoredEvent> {
    return this.follow(filter, signal);
  }

  /** The SSE stream as events; ends on `signal`, on close(), or when the daemon goes away. */
  private async *follow(filter: EventQuery, callerSignal?: AbortSignal): AsyncGenerator<StoredEvent> {
    const signal = AbortSignal.any([this.closing.signal, ...(callerSignal ? [callerSignal] : [])]);
    if (this.closed) throw closedError();
    const response = await this.open('GET', `/events/stream${eventQuery(filter)}`, undefined, signal, true);
    let buffer = '';
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        buffer += chunk.toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data !== '') yield JSON.parse(data) as StoredEvent;
        }
      }
    } catch (error) {
      if (!signal?.aborted) throw error;
    } finally {
      response.destroy();
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return JSON.parse(response.text) as T;
  }

  private async send(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; headers: IncomingMessage['headers'] }> {
    if (this.closed) throw closedError();
    try {
      const response = await this.open(method, path, body, this.closing.signal);
      const chunks: Buffer[] = [];
      for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
      return { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers };
    } catch (error) {
      if (!this.closing.signal.aborted || isBerthError(error)) throw error;
      // What the daemon was doing goes on there (an up completes); this client stopped waiting.
      throw new BerthError('E_ABORTED', `The client was closed during ${method} ${path}.`, { hint: 'Call close() once your operations have settled.', cause: error, details: { closed: true } });
    }
  }

  private open(method: string, path: string, body?: unknown, signal?: AbortSignal, stream = false): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const target = this.options.url === undefined ? { socketPath: this.options.socket } : urlTarget(this.options.url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...target,
          method,
          path,
          signal,
          timeout: stream ? undefined : (this.options.timeoutMs ?? 600_000),
          headers: {
            host: this.options.url === undefined ? 'localhost' : new URL(this.options.url).host,
            accept: stream ? 'text/event-stream' : 'application/json',
            ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(response);
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => reject(errorFrom(status, Buffer.concat(chunks).toString('utf8'))));
          response.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new BerthError('E_PROCESS', `The daemon did not answer ${method} ${path} in time.`, { hint: 'Check it with `berth daemon status`.' })));
      req.on('error', (error) => reject(isConnectError(error) ? new BerthError('E_RUNTIME_UNAVAILABLE', `Cannot reach the Berth daemon: ${error.message}.`, { hint: 'Start it with `berth daemon`, or check `berth daemon status`.', cause: error }) : error));
      req.end(payload);
    });
  }
}

/**
 * The daemon of this `$BERTH_HOME`, if one answers: the socket file exists and accepts a
 * connection (one connect, well under a millisecond). Null otherwise, so callers fall back to
 * running Berth in-process.
 */
export async function connectDaemon(options: { home?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BerthClient | null> {
  const env = options.env ?? process.env;
  const home = options.home ?? (env['BERTH_HOME'] || join(homedir(), '.berth'));
  const socket = join(home, 'berth.sock');
  if (!existsSync(socket)) return null;
  const answers = await new Promise<boolean>((resolve) => {
    const probe = connect(socket);
    const done = (ok: boolean): void => {
      probe.destroy();
      resolve(ok);
    };
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
    probe.setTimeout(1000, () => done(false));
  });
  return answers ? new BerthClient({ socket }) : null;
}

/** A client of the loopback listener, with the token read from `$BERTH_HOME/daemon.token`. */
export function loopbackClient(url: string, home: string): BerthClient {
  return new BerthClient({ url, token: readFileSync(join(home, 'daemon.token'), 'utf8').trim() });
}

function closedError(): BerthError {
  return new BerthError('E_CLOSED', 'This client was closed.', { hint: 'Open a new one with openBerth() or connectDaemon().' });
}

/** Relative paths from this process's folder, as Berth in process reads them (the daemon needs absolute ones). */
function absolute(spec: UpSpec): UpSpec {
  const cwd = process.cwd();
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  return {
    ...spec,
    ...(spec.root === undefined ? {} : { root: path(spec.root) }),
    ...(spec.mounts === undefined ? {} : { mounts: spec.mounts.map((m) => (typeof m === 'string' ? mountString(m, path) : { ...m, source: path(m.source) })) }),
  };
}

/** `SRC[:ro|:rw]` with SRC made absolute. */
function mountString(mount: string, path: (p: string) => string): string {
  const match = /^(.*?)(:ro|:rw)?$/.exec(mount);
  return `${path(match?.[1] ?? mount)}${match?.[2] ?? ''}`;
}

/**
 * The daemon's `{code, message, hint, details}` as the BerthError the library threw, details as
 * they were: so `--json` says the same through the daemon as in-process (the status follows the code).
 */
function errorFrom(status: number, text: string): BerthError {
  let body: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { message: text.trim() };
  }
  const code = (body.code !== undefined && KNOWN_CODES.has(body.code) ? body.code : status >= 500 ? 'E_RUNTIME_FAILED' : 'E_INVALID_INPUT') as BerthErrorCode;
  return new BerthError(code, body.message ?? `The daemon answered ${String(status)}.`, { hint: body.hint, details: detailsOf(body.details) });
}

function detailsOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function isConnectError(error: Error): boolean {
  return 'code' in error && ['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE'].includes(String(error.code));
}

function urlTarget(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 80) };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, value);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

function eventQuery(filter: EventQuery): string {
  return query({ after: filter.after?.toString(), since: filter.since, workspace: filter.workspace, type: filter.type, limit: filter.limit?.toString() });
}

/** A response header's one value (node:http lowercases names). */
function header(headers: IncomingMessage['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
