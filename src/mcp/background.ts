import { BerthError } from '../errors.js';
import type { ProcessExit, ProcessHandle } from '../workspace/processes.js';

/** What the server keeps of one process's output for the agent: the newest bytes, numbered. */
const KEPT_BYTES = 1024 * 1024;
/** The longest an agent may ask `process_output` to wait for something new. */
export const MAX_OUTPUT_WAIT_MS = 30_000;

interface Chunk {
  seq: number;
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/**
 * An agent's background processes, as the MCP server sees them: each `spawn`ed process's output
 * numbered chunk by chunk, so `process_output {since}` returns only what is new, and its exit once
 * known. The processes themselves live in the workspace (workspace/processes.ts): a process
 * started by an earlier server (or another client) is found again through `processes()`.
 */
export class BackgroundProcesses {
  private readonly watched = new Map<string, Watched>();
  private readonly list: () => Promise<ProcessHandle[]>;

  constructor(list: () => Promise<ProcessHandle[]>) {
    this.list = list;
  }

  /** Starts following a handle the server just spawned. */
  adopt(handle: ProcessHandle): void {
    if (!this.watched.has(handle.id)) this.watched.set(handle.id, new Watched(handle));
  }

  async get(id: string): Promise<Watched> {
    const known = this.watched.get(id);
    if (known) return known;
    const handle = (await this.list()).find((h) => h.id === id);
    if (!handle) {
      throw new BerthError('E_NOT_FOUND', `No background process ${JSON.stringify(id)} in this workspace.`, { hint: 'process_list shows the processes exec {background: true} started.' });
    }
    this.adopt(handle);
    return this.watched.get(id) as Watched;
  }

  async all(): Promise<{ handle: ProcessHandle; exit: ProcessExit | null }[]> {
    const handles = await this.list();
    return Promise.all(handles.map(async (handle) => ({ handle, exit: this.watched.get(handle.id)?.exit ?? (await settledExit(handle)) })));
  }

  close(): void {
    for (const watched of this.watched.values()) watched.stop();
    this.watched.clear();
  }
}

/** A handle's exit when it is already known (an ended process's status file), without waiting. */
async function settledExit(handle: ProcessHandle): Promise<ProcessExit | null> {
  const pending = Symbol('pending');
  const first = await Promise.race([handle.wait().catch(() => pending), new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending)))]);
  return first === pending ? null : (first as ProcessExit);
}

export class Watched {
  readonly handle: ProcessHandle;
  exit: ProcessExit | null = null;
  private readonly chunks: Chunk[] = [];
  private kept = 0;
  private seq = 0;
  private readonly wakers = new Set<() => void>();
  private readonly unsubscribe: (() => void)[];

  constructor(handle: ProcessHandle) {
    this.handle = handle;
    this.unsubscribe = [handle.onStdout((data) => this.add('stdout', data)), handle.onStderr((data) => this.add('stderr', data))];
    void handle.wait().then(
      (exit) => {
        this.exit = exit;
        this.wake();
      },
      () => this.wake(),
    );
  }

  /** Output after chunk `since` (0: everything kept), waiting up to `waitMs` for some when there is none yet. */
  async output(since: number, waitMs: number): Promise<{ stdout: string; stderr: string; next: number; dropped: boolean; exit: ProcessExit | null }> {
    if (waitMs > 0 && this.seq <= since && this.exit === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(waitMs, MAX_OUTPUT_WAIT_MS));
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakers.add(done);
      });
    }
    const fresh = this.chunks.filter((c) => c.seq > since);
    const text = (stream: Chunk['stream']): string => Buffer.concat(fresh.filter((c) => c.stream === stream).map((c) => c.data)).toString('utf8');
    // Chunks after `since` that were already let go of (more than the kept bytes came since).
    const dropped = since < (this.chunks[0]?.seq ?? this.seq + 1) - 1;
    return { stdout: text('stdout'), stderr: text('stderr'), next: this.seq, dropped, exit: this.exit };
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.wake();
  }

  private add(stream: Chunk['stream'], data: Buffer): void {
    this.chunks.push({ seq: ++this.seq, stream, data });
    this.kept += data.length;
    while (this.kept > KEPT_BYTES && this.chunks.length > 1) this.kept -= this.chunks.shift()?.data.length ?? 0;
    this.wake();
  }

  private wake(): void {
    for (const waker of this.wakers) waker();
    this.wakers.clear();
  }
}
