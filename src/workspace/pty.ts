import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError } from '../errors.js';
import { spawnOnPty, type HostPty } from '../process/pty.js';
import { EngineApiUnreachable } from '../runtime/oci/engine-socket.js';
import { inspectExec, startApiExec, type ApiExecSession } from '../runtime/oci/engine-exec.js';
import type { HostPtyRoute, Runtime } from '../runtime/types.js';
import { EXEC_MARKER, killMarked } from './exec-cancel.js';
import { killMarkedOnHost } from './kill-marked-host.js';

/**
 * A terminal in a workspace, for an app's terminal view (xterm.js and the like): bytes in, bytes
 * out, a size that follows the view. Two routes, one handle (docs/DESIGN.md, "Terminals"):
 * - docker and podman: a TTY exec over the engine's API socket (runtime/oci/engine-exec.ts), the
 *   engine's own terminal, resized through its resize endpoint; no process on this machine;
 * - Apple `container` (no API socket Berth can reach) and host mode: `node-pty` runs the CLI's
 *   `exec --interactive --tty`, or host mode's sandbox entry, on a pseudo-terminal here; a resize
 *   is the pseudo-terminal's, which the CLI passes on as its own SIGWINCH handler does.
 * The command carries the exec marker (exec-cancel.ts), so kill() ends it inside the workspace
 * and not only the client that holds its terminal.
 */
export interface PtyOptions {
  cols: number;
  rows: number;
  /** Working directory inside the workspace (default: the workspace's). */
  cwd?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  user?: string | undefined;
}

export interface PtyHandle {
  /** The exec marker's value: what kill() finds the terminal's processes by. */
  readonly id: string;
  /** Output as it comes; what came before the first subscriber is replayed to it. */
  onData(cb: (data: Buffer) => void): () => void;
  write(data: string | Uint8Array): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Ends the terminal's processes inside the workspace (`signal` first, default SIGHUP; KILL after a grace). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  wait(): Promise<{ exitCode: number | null }>;
}

/** Output kept for the first subscriber (a prompt printed before the app subscribed). */
const BACKLOG_BYTES = 1 << 20;
/** How often an open engine terminal asks the engine whether its command ended. */
const ENGINE_LOOK_MS = 1_000;
/** What the stream gets, once the engine says the command ended, to deliver its last bytes. */
const STREAM_END_GRACE_MS = 300;
/** Between the first signal and KILL, as exec-cancel.ts gives. */
const KILL_GRACE_MS = 2_000;
/** How long kill() waits for the client to notice its command ended, before dropping it. */
const CLIENT_EXIT_GRACE_MS = 5_000;

/** The terminal's client on this side: an engine API session or a process on a host pseudo-terminal. */
interface Client {
  write(data: string | Uint8Array): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Drops the client (the command inside is not stopped by this: kill() does that first). */
  drop(): void;
  readonly exited: Promise<{ exitCode: number | null }>;
}

export async function openPty(runtime: Runtime, target: string, argv: readonly string[], options: PtyOptions): Promise<PtyHandle> {
  checkSize(options.cols, options.rows);
  if (argv.length === 0) throw new BerthError('E_INVALID_INPUT', 'The terminal\'s command is empty.', { hint: 'Leave `command` out for the login shell, or pass argv.' });
  const id = randomUUID();
  const env = { TERM: 'xterm-256color', ...options.env, [EXEC_MARKER]: id };
  const output = new Output();
  const route = await runtime.terminal(target, argv, { env, workdir: options.cwd, user: options.user });
  let client: Client;
  if (route.via === 'engine-api') {
    try {
      const session = await startApiExec(
        route.socketPath,
        { container: route.container, argv, env, workdir: options.cwd, user: options.user, tty: { cols: options.cols, rows: options.rows }, stdin: true },
        { onStdout: output.push, onStderr: output.push },
      );
      client = apiClient(session, route.socketPath);
    } catch (error) {
      // A socket that stopped answering: the engine's CLI, as every other call falls back to it.
      if (!(error instanceof EngineApiUnreachable)) throw error;
      client = await hostPtyClient(route.fallback, options, output);
    }
  } else {
    client = await hostPtyClient(route, options, output);
  }

  let exit: { exitCode: number | null } | undefined;
  const exited = client.exited.then((result) => {
    exit = result;
    return result;
  });
  return {
    id,
    onData: (cb) => output.subscribe(cb),
    write: (data) => {
      if (exit === undefined) client.write(data);
    },
    resize: async (cols, rows) => {
      checkSize(cols, rows);
      if (exit === undefined) await client.resize(cols, rows);
    },
    kill: async (signal = 'SIGHUP') => {
      if (exit !== undefined) return;
      if (runtime.kind === 'host') {
        // Sandboxed, the terminal lives in a pid namespace of its own that the script (another
        // exec, another namespace) cannot see; this machine's /proc sees it.
        if (!(await killMarkedOnHost(id, signal, KILL_GRACE_MS))) await killMarked(runtime, target, id, '0', signal);
        // The client is the workspace's end of it (a sandbox's entry ends its namespace with it).
        client.drop();
      } else {
        await killMarked(runtime, target, id, '0', signal);
      }
      // In a container the command is gone now and its client ends with it; one that does not (a
      // lost connection) is dropped.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLIENT_EXIT_GRACE_MS)));
      if ((await Promise.race([exited, late])) === 'late') client.drop();
      clearTimeout(timer);
      await exited;
    },
    wait: () => exited,
  };
}

function apiClient(session: ApiExecSession, socketPath: string): Client {
  return {
    write: (data) => session.write(typeof data === 'string' ? data : Buffer.from(data)),
    resize: (cols, rows) => session.resize(cols, rows),
    drop: () => session.detach(),
    exited: Promise.race([session.done, endedPerEngine(session, socketPath)]),
  };
}

/**
 * The engine's record says when the command ended, even when the stream does not: docker 20.10
 * (API 1.41) can keep a TTY exec's hijacked stream open after its command exited (`Running: false`,
 * its `ExitCode` set) while other TTY execs with stdin run in the same container; seen in about one
 * of five quick `sh -c 'exit 7'` terminals next to three open `bash -i`. One look per second while
 * the terminal is open; once the engine says it ended, the stream gets a moment to deliver its last
 * bytes and is then dropped.
 */
async function endedPerEngine(session: ApiExecSession, socketPath: string): Promise<{ exitCode: number | null }> {
  let open = true;
  void session.done.finally(() => (open = false)).catch(() => undefined);
  while (open) {
    await sleep(ENGINE_LOOK_MS);
    if (!open) break;
    const state = await inspectExec(socketPath, session.id).catch(() => ({ running: true, exitCode: null }));
    if (state.running) continue;
    const late = await Promise.race([session.done, sleep(STREAM_END_GRACE_MS).then(() => null)]);
    if (late !== null) return late;
    session.detach();
    return { exitCode: state.exitCode };
  }
  return session.done;
}

async function hostPtyClient(route: HostPtyRoute, options: PtyOptions, output: Output): Promise<Client> {
  const pty: HostPty = await spawnOnPty(route.argv, { cols: options.cols, rows: options.rows, cwd: route.cwd, env: route.env });
  pty.onData(output.push);
  const exited = new Promise<{ exitCode: number | null }>((resolve) => pty.onExit((exitCode) => resolve({ exitCode })));
  return {
    write: (data) => pty.write(data),
    resize: (cols, rows) => {
      pty.resize(cols, rows);
      return Promise.resolve();
    },
    // The client (engine CLI, or host mode's sandbox entry whose pid namespace ends with it).
    drop: () => pty.kill('SIGKILL'),
    exited,
  };
}

/** Output to subscribers; until the first one comes, kept (bounded) so a prompt is not lost. */
class Output {
  private readonly subscribers = new Set<(data: Buffer) => void>();
  private backlog: Buffer[] | null = [];
  private backlogBytes = 0;

  readonly push = (data: Buffer): void => {
    if (this.backlog !== null) {
      this.backlog.push(data);
      this.backlogBytes += data.length;
      while (this.backlogBytes > BACKLOG_BYTES && this.backlog.length > 1) this.backlogBytes -= this.backlog.shift()?.length ?? 0;
      return;
    }
    for (const cb of this.subscribers) cb(data);
  };

  subscribe(cb: (data: Buffer) => void): () => void {
    this.subscribers.add(cb);
    const replay = this.backlog;
    this.backlog = null;
    for (const data of replay ?? []) cb(data);
    return () => void this.subscribers.delete(cb);
  }
}

function checkSize(cols: number, rows: number): void {
  const ok = (n: number): boolean => Number.isInteger(n) && n > 0 && n <= 0xffff;
  if (!ok(cols) || !ok(rows)) {
    throw new BerthError('E_INVALID_INPUT', `A terminal of ${String(cols)}x${String(rows)} cannot be made.`, { hint: 'cols and rows are whole numbers from 1 to 65535.' });
  }
}
