import { WebSocket, type RawData } from 'ws';
import { BERTH_ERROR_CODES, BerthError, type BerthErrorCode } from '../errors.js';
import type { ApiExecOptions, ApiPty, ApiPtyOptions } from '../api.js';
import { STDERR_CHANNEL, STDOUT_CHANNEL, type StreamServerMessage } from '../daemon/http/stream-protocol.js';

/** Where the daemon listens: its unix socket, or its loopback URL with the token. */
export interface StreamTarget {
  socket?: string | undefined;
  url?: string | undefined;
  token?: string | undefined;
}

/** The library's exec options (`BerthApi`), as the daemon's exec socket takes them. */
export type RemoteExecOptions = ApiExecOptions;

export interface RemoteExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  durationMs: number;
}

export type RemotePtyOptions = ApiPtyOptions;

/** A terminal served by the daemon: the same shape as the library's `PtyHandle`. */
export type RemotePty = ApiPty;

const KNOWN_CODES = new Set<string>(BERTH_ERROR_CODES);

function open(target: StreamTarget, path: string): WebSocket {
  if (target.socket !== undefined) return new WebSocket(`ws+unix://${target.socket}:${path}`);
  const url = new URL(path, (target.url ?? '').replace(/^http/, 'ws'));
  return new WebSocket(url, { headers: target.token === undefined ? {} : { authorization: `Bearer ${target.token}` } });
}

function errorOf(message: Extract<StreamServerMessage, { type: 'error' }>): BerthError {
  const code = (KNOWN_CODES.has(message.code) ? message.code : 'E_RUNTIME_FAILED') as BerthErrorCode;
  return new BerthError(code, message.message, { hint: message.hint });
}

function connectionError(error: Error): BerthError {
  return new BerthError('E_RUNTIME_UNAVAILABLE', `The daemon's stream could not be opened: ${error.message}.`, { hint: '`berth daemon status` says whether it runs.' });
}

function messageOf(data: RawData): StreamServerMessage {
  const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8');
  return JSON.parse(text) as StreamServerMessage;
}

function bytesOf(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** A command on the daemon, its output streamed as it comes; abort or timeout end it inside the workspace. */
export function remoteExec(target: StreamTarget, workspace: string, argv: readonly string[], options: RemoteExecOptions = {}): Promise<RemoteExecResult> {
  if (options.signal?.aborted) return Promise.reject(new BerthError('E_ABORTED', `The command was aborted before it started: ${argv.join(' ')}.`));
  return new Promise((resolve, reject) => {
    const ws = open(target, `/workspaces/${encodeURIComponent(workspace)}/exec`);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = (): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'abort' }));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('open', () => {
      const stdin = options.stdin === undefined ? undefined : Buffer.from(options.stdin).toString('base64');
      ws.send(JSON.stringify({ type: 'open', argv, cwd: options.cwd, env: options.env, user: options.user, timeoutMs: options.timeoutMs, stdin }));
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        const frame = bytesOf(data);
        const chunk = frame.subarray(1);
        if (frame[0] === STDOUT_CHANNEL) {
          stdout.push(chunk);
          options.onStdout?.(chunk);
        } else if (frame[0] === STDERR_CHANNEL) {
          stderr.push(chunk);
          options.onStderr?.(chunk);
        }
        return;
      }
      const message = messageOf(data);
      if (message.type === 'exit') settle(() => resolve({ exitCode: message.exitCode ?? -1, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), durationMs: message.durationMs ?? 0 }));
      else if (message.type === 'error') settle(() => reject(errorOf(message)));
    });
    ws.on('error', (error) => settle(() => reject(connectionError(error))));
    ws.on('close', () => settle(() => reject(new BerthError('E_RUNTIME_FAILED', `The daemon closed the stream before ${argv.join(' ')} ended.`, { hint: 'The daemon may have stopped; see $BERTH_HOME/daemon.log.' }))));
  });
}

/** A terminal on the daemon. Resolves once the shell runs (the daemon answered `opened`). */
export function remotePty(target: StreamTarget, workspace: string, options: RemotePtyOptions): Promise<RemotePty> {
  return new Promise((resolve, reject) => {
    const ws = open(target, `/workspaces/${encodeURIComponent(workspace)}/pty`);
    const listeners = new Set<(data: Buffer) => void>();
    let exit: { exitCode: number | null } | null = null;
    let failure: BerthError | null = null;
    let ended: () => void = () => undefined;
    const done = new Promise<void>((r) => (ended = r));
    let opened = false;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'open', ...options })));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        const chunk = bytesOf(data);
        for (const listener of listeners) listener(chunk);
        return;
      }
      const message = messageOf(data);
      if (message.type === 'opened') {
        opened = true;
        resolve(handle(message.session));
      } else if (message.type === 'exit') {
        exit = { exitCode: message.exitCode };
      } else {
        failure = errorOf(message);
        if (!opened) reject(failure);
      }
    });
    ws.on('error', (error) => {
      failure ??= connectionError(error);
      if (!opened) reject(failure);
    });
    ws.on('close', () => {
      if (!opened) reject(failure ?? new BerthError('E_RUNTIME_FAILED', 'The daemon closed the terminal before it opened.'));
      ended();
    });
    const handle = (session: string): RemotePty => ({
      id: session,
      onData(cb) {
        listeners.add(cb);
        return () => listeners.delete(cb);
      },
      write(data) {
        if (ws.readyState === ws.OPEN) ws.send(typeof data === 'string' ? Buffer.from(data) : data, { binary: true });
      },
      resize(cols, rows) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows }));
        return Promise.resolve();
      },
      async kill(signal) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'kill', signal }));
        await done;
      },
      async wait() {
        await done;
        if (exit) return exit;
        throw failure ?? new BerthError('E_RUNTIME_FAILED', 'The terminal connection closed before the shell ended.', { hint: 'The daemon keeps the shell 60 s for a reconnect.' });
      },
    });
  });
}
