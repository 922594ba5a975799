import { randomUUID } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { join, posix } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, isBerthError } from '../errors.js';
import { ByteTail } from '../process/byte-tail.js';
import type { ExecOptions, ExecResult, Runtime } from '../runtime/types.js';
import { execCancellable } from './exec-cancel.js';
import { FrameParser, type EndFrame, type StreamName } from './process-frames.js';
import { CLOSE_STDIN_SCRIPT, FOLLOW_SCRIPT, KILL_SCRIPT, LAUNCH_SCRIPT, LIST_SCRIPT, SUPERVISE_SCRIPT, WRITE_SCRIPT } from './process-scripts.js';

/*
 * Long-lived processes in a workspace (`berth.spawn`, `berth.processes`): an LSP server over stdio,
 * a watcher, a build. The process, its output and its exit status live in the workspace, kept by a
 * small sh supervisor (process-scripts.ts), so a handle is only a view: any Berth, in this process or
 * a later one, lists them and attaches again. A handle reads output through a follower exec that
 * replays the workspace's ring and then streams, writes stdin through one exec per batch of writes
 * into the process's FIFO, and kills with one exec.
 */

export interface SpawnOptions {
  /** Working folder in the workspace (default: the workspace's, `/workspace`). */
  cwd?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  /** The user it runs as (engines; host mode runs as Berth's user). */
  user?: string | undefined;
  /** Bytes of stdout, and as many of stderr, kept for replay in the workspace and in each handle. Default 1 MiB. */
  ringBytes?: number | undefined;
}

/** How a process ended. `exitCode` null with a `signal`: a signal ended it; both null: it vanished (its workspace stopped). */
export interface ProcessExit {
  exitCode: number | null;
  signal?: string | null;
}

export interface ProcessHandle {
  /** Stable across app restarts: `processes(workspace)` finds it again by this id. */
  readonly id: string;
  readonly workspace: string;
  readonly argv: readonly string[];
  /** When it was spawned (ISO 8601); null where the record did not say (a daemon's older answer). */
  readonly startedAt: string | null;
  /**
   * The process's stdin. Writes are delivered in order, a batch per exec; `end()` closes it (the
   * process reads end of file). Writes after the process ended are discarded, as a closed pipe would.
   */
  readonly stdin: NodeJS.WritableStream;
  /** Output as raw bytes: first what the ring still holds, then as it comes. Returns the unsubscribe. */
  onStdout(cb: (chunk: Buffer) => void): () => void;
  onStderr(cb: (chunk: Buffer) => void): () => void;
  wait(): Promise<ProcessExit>;
  /** Ends the process group inside the workspace: `signal` (default SIGTERM), KILL after 2 s. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Where a workspace's processes are and how to reach them; the facade resolves one per call. */
export interface ProcessSite {
  runtime: Runtime;
  workspace: string;
  /** The engine address of the workspace's container. */
  target: string;
  /** The folder holding one folder per process, as the workspace sees it. */
  base: string;
  /** Its mode when a launch makes it: 1777 in a container (each of its users may spawn), 700 on the host. */
  baseMode: string;
  /** The exec fence, in front of every launch (as in front of every exec). */
  fence: readonly string[];
}

export const DEFAULT_RING_BYTES = 1024 * 1024;
const MIN_RING_BYTES = 1024;
const MAX_RING_BYTES = 256 * 1024 * 1024;
/** The most one `dd` reads: a pipe's default capacity. */
const MAX_READ_BYTES = 64 * 1024;
/** Ended processes kept (with their rings and status) beyond the running ones. */
const KEEP_ENDED = 16;
/** A follower ends after ~25 s without output (50 polls of 20 ms, then 100 ms each), or after this much output; another continues. */
const FOLLOW_IDLE_POLLS = 300;
const FOLLOW_BUDGET_BYTES = 16 * 1024 * 1024;
const KILL_GRACE_TENTHS = 20;
/** In a container, beside the dev servers' `/tmp/berth-dev`. */
export const CONTAINER_PROCESS_BASE = '/tmp/berth-processes';
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Where a workspace's processes live: the container's /tmp, or on the host under Berth's own
 * `dev/<workspace>/` (which host mode's sandbox binds in, as for dev servers).
 */
export function processSite(runtime: Runtime, home: string, workspace: string, target: string, fence: readonly string[]): ProcessSite {
  return runtime.capabilities.isolation === 'container'
    ? { runtime, workspace, target, base: CONTAINER_PROCESS_BASE, baseMode: '1777', fence }
    : { runtime, workspace, target, base: join(home, 'dev', workspace, 'processes'), baseMode: '700', fence };
}

interface ProcessRecord {
  id: string;
  workspace: string;
  argv: readonly string[];
  cwd: string | null;
  user: string | null;
  ringBytes: number;
  startedAt: string;
}

/** Starts `argv` under a supervisor in the workspace; resolves once it runs there. */
export async function spawnProcess(site: ProcessSite, argv: readonly string[], options: SpawnOptions = {}): Promise<ProcessHandle> {
  if (argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
    throw new BerthError('E_INVALID_INPUT', 'spawn needs a command: a non-empty array of strings.', { hint: "For example ['node', 'server.js']." });
  }
  const ringBytes = options.ringBytes ?? DEFAULT_RING_BYTES;
  if (!Number.isInteger(ringBytes) || ringBytes < MIN_RING_BYTES || ringBytes > MAX_RING_BYTES) {
    throw new BerthError('E_INVALID_INPUT', `ringBytes must be a whole number from ${String(MIN_RING_BYTES)} to ${String(MAX_RING_BYTES)}, not ${String(ringBytes)}.`, {
      hint: `The default, ${String(DEFAULT_RING_BYTES)}, keeps the last MiB of each stream.`,
    });
  }
  const half = Math.floor(ringBytes / 2);
  const record: ProcessRecord = {
    id: randomUUID(),
    workspace: site.workspace,
    argv: [...argv],
    cwd: options.cwd ?? null,
    user: options.user ?? null,
    ringBytes,
    startedAt: new Date().toISOString(),
  };
  // What a later Berth needs to show and follow it; env values stay out (they may be secrets).
  const meta = JSON.stringify({ v: 1, argv: record.argv, cwd: record.cwd, user: record.user, ringBytes, startedAt: record.startedAt });
  const launch = [...site.fence, 'sh', '-c', LAUNCH_SCRIPT, 'sh', site.base, site.baseMode, record.id, String(half), String(Math.min(MAX_READ_BYTES, half)), meta, String(KEEP_ENDED), SUPERVISE_SCRIPT, ...argv];
  const result = await site.runtime.exec(site.target, launch, {
    env: options.env,
    workdir: options.cwd,
    ...(options.user === undefined ? {} : { user: options.user }),
    workspaceProcesses: true,
  });
  if (result.exitCode === 94) {
    throw new BerthError('E_NOT_FOUND', `No command "${argv[0] ?? ''}" in workspace "${site.workspace}".`, {
      hint: 'Install it in the workspace (its image), or give its full path.',
      details: { command: argv[0] },
    });
  }
  if (result.exitCode !== 0) throw failed(`start \`${argv.join(' ')}\` in workspace "${site.workspace}"`, result);
  return new WorkspaceProcess(site, record, null);
}

/** Every process Berth started in the workspace that it still keeps (running, and the last ended ones), oldest first. */
export async function listProcesses(site: ProcessSite): Promise<ProcessHandle[]> {
  const result = await site.runtime.exec(site.target, ['sh', '-c', LIST_SCRIPT, 'sh', site.base], { ...asRoot(site.runtime), workspaceProcesses: true });
  if (result.exitCode !== 0) throw failed(`list the processes of workspace "${site.workspace}"`, result);
  const found: WorkspaceProcess[] = [];
  for (const line of result.stdout.split('\n')) {
    const [id, state, status, ...rest] = line.split('\t');
    const record = id !== undefined && ID.test(id) ? recordFrom(id, site.workspace, rest.join('\t')) : null;
    if (!record) continue;
    const known = state === 'ended' ? exitFrom(endFrame(status ?? '')) : state === 'gone' ? { exitCode: null, signal: null } : null;
    found.push(new WorkspaceProcess(site, record, known));
  }
  return found.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

function recordFrom(id: string, workspace: string, text: string): ProcessRecord | null {
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof meta !== 'object' || meta === null) return null;
  const { argv, cwd, user, ringBytes, startedAt } = meta as Record<string, unknown>;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string') || typeof ringBytes !== 'number' || typeof startedAt !== 'string') return null;
  return {
    id,
    workspace,
    argv,
    cwd: typeof cwd === 'string' ? cwd : null,
    user: typeof user === 'string' ? user : null,
    ringBytes: Math.max(MIN_RING_BYTES, Math.min(MAX_RING_BYTES, Math.floor(ringBytes))),
    startedAt,
  };
}

function endFrame(text: string): EndFrame {
  const [status, signal] = text.trim().split(' ');
  return { status: status && /^\d+$/.test(status) ? Number(status) : null, signal: signal && /^[A-Z0-9+-]+$/.test(signal) ? signal : null };
}

/** As Node reports a child: a signal that ended it, else its exit code; both null when unknown. */
function exitFrom(frame: EndFrame): ProcessExit {
  if (frame.status === null) return { exitCode: null, signal: null };
  if (frame.signal !== null) return { exitCode: null, signal: `SIG${frame.signal}` };
  return { exitCode: frame.status, signal: null };
}

/** Kills and listings read every process's files and environment: as root where the runtime has users. */
function asRoot(runtime: Runtime): ExecOptions {
  return runtime.kind === 'host' ? {} : { user: '0' };
}

function failed(what: string, result: ExecResult): BerthError {
  return new BerthError('E_RUNTIME_FAILED', `Could not ${what}: ${result.stderr.trim() || `exit ${String(result.exitCode)}`}.`, {
    hint: 'Is the workspace running (`berth status`)? Its /tmp must be writable.',
    details: { exitCode: result.exitCode },
  });
}

/** The last `limit` bytes of one stream as this handle received them, and who listens. */
class Mirror {
  /** The ring offset just past the last byte received: where a new follower continues. */
  offset = 0;
  readonly listeners = new Set<(chunk: Buffer) => void>();
  private readonly tail: ByteTail;

  constructor(limit: number) {
    this.tail = new ByteTail(limit);
  }

  add(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const copy = this.tail.add(chunk);
    this.offset += copy.length;
    for (const listener of this.listeners) listener(copy);
  }

  replay(): Buffer {
    return this.tail.bytes();
  }
}

/** A listener's exception must not stop the stream for the others, nor crash the follower. */
function guarded(cb: (chunk: Buffer) => void): (chunk: Buffer) => void {
  return (chunk) => {
    try {
      cb(chunk);
    } catch (error) {
      process.emitWarning(`berth: a process output listener threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

class WorkspaceProcess implements ProcessHandle {
  readonly id: string;
  readonly workspace: string;
  readonly argv: readonly string[];
  readonly startedAt: string;
  readonly stdin: Writable;
  private readonly dir: string;
  private readonly streams: Record<StreamName, Mirror>;
  private exit: ProcessExit | null;
  /** The follower reported the end: nothing more will come. */
  private drained = false;
  private failure: Error | null = null;
  private readonly waiters: { resolve: (exit: ProcessExit) => void; reject: (error: unknown) => void }[] = [];
  private follower: AbortController | null = null;
  /** Ends writes still waiting on a full pipe once the process has ended. */
  private readonly ended = new AbortController();

  private readonly site: ProcessSite;
  private readonly record: ProcessRecord;

  constructor(site: ProcessSite, record: ProcessRecord, known: ProcessExit | null) {
    this.site = site;
    this.record = record;
    this.id = record.id;
    this.workspace = record.workspace;
    this.argv = record.argv;
    this.startedAt = record.startedAt;
    this.dir = posix.join(site.base, record.id);
    this.streams = { stdout: new Mirror(record.ringBytes), stderr: new Mirror(record.ringBytes) };
    this.exit = known;
    this.stdin = new Writable({
      write: (chunk: Buffer, _encoding, callback) => this.settleWrite(this.writeIn(chunk), callback),
      writev: (chunks, callback) => this.settleWrite(this.writeIn(Buffer.concat(chunks.map((c) => c.chunk as Buffer))), callback),
      final: (callback) => this.settleWrite(this.closeIn(), callback),
    });
  }

  onStdout(cb: (chunk: Buffer) => void): () => void {
    return this.subscribe(this.streams.stdout, cb);
  }

  onStderr(cb: (chunk: Buffer) => void): () => void {
    return this.subscribe(this.streams.stderr, cb);
  }

  wait(): Promise<ProcessExit> {
    if (this.exit !== null) return Promise.resolve(this.exit);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.follow();
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!(signal in osConstants.signals) || !signal.startsWith('SIG')) {
      throw new BerthError('E_INVALID_INPUT', `Unknown signal ${String(signal)}.`, { hint: "Use a name such as 'SIGTERM', 'SIGINT' or 'SIGKILL'." });
    }
    const result = await this.site.runtime.exec(this.site.target, ['sh', '-c', KILL_SCRIPT, 'sh', this.dir, signal.slice(3), String(KILL_GRACE_TENTHS)], {
      ...asRoot(this.site.runtime),
      workspaceProcesses: true,
    });
    if (result.exitCode !== 0) throw failed(`end process ${this.id} in workspace "${this.workspace}"`, result);
  }

  /** The replay comes first, then live chunks; both from a microtask, so the caller holds the unsubscribe before any arrives. */
  private subscribe(mirror: Mirror, cb: (chunk: Buffer) => void): () => void {
    const listener = guarded(cb);
    let active = true;
    queueMicrotask(() => {
      if (!active) return;
      const replay = mirror.replay();
      if (replay.length > 0) listener(replay);
      mirror.listeners.add(listener);
    });
    this.follow();
    return () => {
      active = false;
      mirror.listeners.delete(listener);
      if (!this.wanted()) this.follower?.abort();
    };
  }

  private wanted(): boolean {
    return this.streams.stdout.listeners.size > 0 || this.streams.stderr.listeners.size > 0 || this.waiters.length > 0;
  }

  private follow(): void {
    // A follower being stopped (its exec ends in the workspace first) is not one: start another.
    if ((this.follower !== null && !this.follower.signal.aborted) || this.drained) return;
    const controller = new AbortController();
    this.follower = controller;
    void this.followLoop(controller).finally(() => {
      if (this.follower === controller) this.follower = null;
    });
  }

  /** One follower at a time; each continues at the offsets the last one reached. */
  private async followLoop(controller: AbortController): Promise<void> {
    let failures = 0;
    // Subscriptions listen from a microtask (subscribe): let them, before deciding nobody listens.
    await Promise.resolve();
    const live = (): boolean => !controller.signal.aborted;
    while (live() && !this.drained && this.wanted()) {
      // A stopped follower's last chunks are dropped: the next one continues from the offsets taken here.
      const parser = new FrameParser({
        data: (stream, chunk) => {
          if (live()) this.streams[stream].add(chunk);
        },
        gap: (stream, offset) => {
          if (live()) this.streams[stream].offset = offset;
        },
        end: (frame) => {
          if (live()) this.finish(exitFrom(frame));
        },
      });
      const argv = ['sh', '-c', FOLLOW_SCRIPT, 'sh', this.dir, String(this.streams.stdout.offset), String(this.streams.stderr.offset), String(FOLLOW_IDLE_POLLS), String(FOLLOW_BUDGET_BYTES)];
      try {
        const result = await execCancellable(this.site.runtime, this.site.target, argv, { ...this.asOwner(), signal: controller.signal, onStdout: (chunk) => parser.push(chunk) });
        if (result.exitCode === 94) return this.finish({ exitCode: null, signal: null });
        if (result.exitCode !== 0 || parser.error !== null) throw parser.error ?? failed(`follow process ${this.id} in workspace "${this.workspace}"`, result);
        failures = 0;
      } catch (error) {
        if (controller.signal.aborted) return;
        // The workspace stopped or went: so did the process.
        if (isBerthError(error, 'E_NOT_RUNNING') || isBerthError(error, 'E_NOT_FOUND')) return this.finish({ exitCode: null, signal: null });
        failures += 1;
        if (failures >= 3) return this.fail(error);
        await sleep(500 * failures);
      }
    }
  }

  private finish(exit: ProcessExit): void {
    this.drained = true;
    this.exit ??= exit;
    this.ended.abort();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(this.exit);
  }

  private fail(error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failure = failure;
    for (const waiter of this.waiters.splice(0)) waiter.reject(failure);
  }

  private async writeIn(bytes: Buffer): Promise<void> {
    if (this.exit !== null || bytes.length === 0) return;
    try {
      const result = await execCancellable(this.site.runtime, this.site.target, ['sh', '-c', WRITE_SCRIPT, 'sh', this.dir], { ...this.asOwner(), input: bytes, signal: this.ended.signal });
      // 3: the process ended or its stdin was closed; the bytes are discarded, as a closed pipe's.
      if (result.exitCode !== 0 && result.exitCode !== 3) throw failed(`write to the stdin of process ${this.id} in workspace "${this.workspace}"`, result);
    } catch (error) {
      if (!isBerthError(error, 'E_ABORTED')) throw error;
    }
  }

  private async closeIn(): Promise<void> {
    if (this.exit !== null) return;
    const result = await this.site.runtime.exec(this.site.target, ['sh', '-c', CLOSE_STDIN_SCRIPT, 'sh', this.dir], this.asOwner());
    if (result.exitCode !== 0) throw failed(`close the stdin of process ${this.id} in workspace "${this.workspace}"`, result);
  }

  private settleWrite(work: Promise<void>, callback: (error?: Error | null) => void): void {
    work.then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Follows and writes run as the process's user, who owns its folder; among the workspace's processes (host sandbox). */
  private asOwner(): ExecOptions {
    return { ...(this.record.user === null ? {} : { user: this.record.user }), workspaceProcesses: true };
  }
}
