import { Writable } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import { BerthError } from '../errors.js';
import { ByteTail } from '../process/byte-tail.js';
import { STDERR_CHANNEL, STDOUT_CHANNEL, type StreamServerMessage } from '../daemon/http/stream-protocol.js';
import type { StreamTarget } from './streams.js';

/** What the daemon says of a spawned process. */
export interface ProcessInfo {
  id: string;
  workspace: string;
  argv: string[];
  startedAt: string | null;
}

export interface RemoteProcessExit {
  exitCode: number | null;
  signal?: string | null;
}

/** Output kept per stream for a subscriber that comes late (the library's handle keeps as much). */
const KEPT_BYTES = 1024 * 1024;

type Stream = 'stdout' | 'stderr';

/**
 * A process spawned in a workspace, through the daemon: the same shape as the library's
 * `ProcessHandle`. One WebSocket per handle, opened on first use: the daemon sends the output the
 * workspace kept, then live; stdin goes out as binary frames once the daemon has found the process.
 */
export class RemoteProcess {
  readonly id: string;
  readonly workspace: string;
  readonly argv: readonly string[];
  readonly startedAt: string | null;
  readonly stdin: Writable;
  private readonly target: StreamTarget;
  private readonly kill_: (signal?: NodeJS.Signals) => Promise<void>;
  private ws: WebSocket | null = null;
  private opened: Promise<WebSocket> | null = null;
  private readonly kept: Record<Stream, { tail: ByteTail; listeners: Set<(chunk: Buffer) => void> }> = {
    stdout: { tail: new ByteTail(KEPT_BYTES), listeners: new Set() },
    stderr: { tail: new ByteTail(KEPT_BYTES), listeners: new Set() },
  };
  private exit: RemoteProcessExit | null = null;
  private failure: BerthError | null = null;
  private readonly waiters: { resolve: (exit: RemoteProcessExit) => void; reject: (error: unknown) => void }[] = [];

  constructor(target: StreamTarget, info: ProcessInfo, kill: (signal?: NodeJS.Signals) => Promise<void>) {
    this.target = target;
    this.id = info.id;
    this.workspace = info.workspace;
    this.argv = info.argv;
    this.startedAt = info.startedAt;
    this.kill_ = kill;
    this.stdin = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.connect().then((ws) => ws.send(chunk, { binary: true }, (error) => callback(error ?? null)), callback);
      },
      final: (callback) => {
        this.connect().then((ws) => ws.send(JSON.stringify({ type: 'end' }), (error) => callback(error ?? null)), callback);
      },
    });
  }

  onStdout(cb: (chunk: Buffer) => void): () => void {
    return this.subscribe('stdout', cb);
  }

  onStderr(cb: (chunk: Buffer) => void): () => void {
    return this.subscribe('stderr', cb);
  }

  wait(): Promise<RemoteProcessExit> {
    if (this.exit) return Promise.resolve(this.exit);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.connect().catch(reject);
    });
  }

  kill(signal?: NodeJS.Signals): Promise<void> {
    return this.kill_(signal);
  }

  /** Stops following (the process goes on in the workspace). */
  detach(): void {
    this.ws?.close();
  }

  private subscribe(stream: Stream, cb: (chunk: Buffer) => void): () => void {
    const kept = this.kept[stream];
    let active = true;
    queueMicrotask(() => {
      if (!active) return;
      if (kept.tail.length > 0) cb(kept.tail.bytes());
      kept.listeners.add(cb);
    });
    void this.connect().catch(() => undefined);
    return () => {
      active = false;
      kept.listeners.delete(cb);
    };
  }

  private add(stream: Stream, chunk: Buffer): void {
    const kept = this.kept[stream];
    kept.tail.add(chunk);
    for (const listener of kept.listeners) listener(chunk);
  }

  private connect(): Promise<WebSocket> {
    this.opened ??= new Promise<WebSocket>((resolve, reject) => {
      const path = `/workspaces/${encodeURIComponent(this.workspace)}/processes/${encodeURIComponent(this.id)}`;
      const ws =
        this.target.socket !== undefined
          ? new WebSocket(`ws+unix://${this.target.socket}:${path}`)
          : new WebSocket(new URL(path, (this.target.url ?? '').replace(/^http/, 'ws')), { headers: this.target.token === undefined ? {} : { authorization: `Bearer ${this.target.token}` } });
      this.ws = ws;
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        if (isBinary) {
          if (bytes[0] === STDOUT_CHANNEL) this.add('stdout', bytes.subarray(1));
          else if (bytes[0] === STDERR_CHANNEL) this.add('stderr', bytes.subarray(1));
          return;
        }
        const message = JSON.parse(bytes.toString('utf8')) as StreamServerMessage;
        if (message.type === 'opened') resolve(ws);
        else if (message.type === 'exit') this.ended({ exitCode: message.exitCode, signal: message.signal ?? null });
        else this.failed(new BerthError(message.code === 'E_NOT_FOUND' ? 'E_NOT_FOUND' : 'E_RUNTIME_FAILED', message.message, { hint: message.hint }), reject);
      });
      ws.on('error', (error) => this.failed(new BerthError('E_RUNTIME_UNAVAILABLE', `Cannot follow process ${this.id}: ${error.message}.`, { hint: '`berth daemon status` says whether the daemon runs.' }), reject));
      ws.on('close', () => {
        if (!this.exit && !this.failure) this.failed(new BerthError('E_RUNTIME_FAILED', `The daemon stopped following process ${this.id}.`, { hint: 'The process goes on in the workspace: processes(id) attaches to it again.' }), reject);
      });
    });
    return this.opened;
  }

  private ended(exit: RemoteProcessExit): void {
    this.exit = exit;
    for (const waiter of this.waiters.splice(0)) waiter.resolve(exit);
  }

  private failed(error: BerthError, reject: (error: unknown) => void): void {
    this.failure ??= error;
    reject(error);
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    // A later connect tries again (the daemon restarted, say).
    this.opened = null;
  }
}
