/**
 * The one interface an app programs against: `Berth` in this process and `BerthClient` over the
 * daemon implement it with the same names, arguments and results, and `openBerth()` returns
 * whichever serves the home. Types only: the client imports this without loading Berth's code.
 */
import type { DevServer } from './state/dev-servers.js';
import type { EgressPolicy } from './state/egress-records.js';
import type { StoredBerthEvent } from './events.js';
import type { FileEntry } from './workspace/files.js';
import type { ForwardedPortView } from './workspace/forwarded-ports.js';
import type { ProcessHandle } from './workspace/processes.js';
import type { PtyHandle } from './workspace/pty.js';
import type { WorkspaceSummary } from './workspace/inventory.js';
import type { WorkspaceSpecInput } from './workspace/spec.js';
import type { EgressView, UpReport } from './workspace/up-report.js';

export type { DevServer, EgressPolicy, FileEntry, EgressView, StoredBerthEvent, UpReport, WorkspaceSpecInput, WorkspaceSummary };

/** Which workspaces `list` returns: every label given must be set to exactly that value. */
export interface ListFilter {
  labels?: Readonly<Record<string, string>> | undefined;
  /**
   * Observe the engines now. Through a daemon a listing may otherwise be its last observation
   * (under 1.5 s old, nothing changed through Berth since); in process every listing is live.
   */
  fresh?: boolean | undefined;
}

export interface ApiExecOptions {
  onStdout?: ((chunk: Buffer) => void) | undefined;
  onStderr?: ((chunk: Buffer) => void) | undefined;
  /** Written to stdin, which is then closed. */
  stdin?: string | Uint8Array | undefined;
  cwd?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  user?: string | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ApiExecResult<T extends string | Buffer = string> {
  exitCode: number;
  /** Empty for a stream a callback took (nothing is kept twice). */
  stdout: T;
  stderr: T;
  durationMs: number;
}

export interface ApiPtyOptions {
  cols: number;
  rows: number;
  cwd?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  /** Who the terminal runs as (`name|uid[:group|gid]`); default the workspace's user. */
  user?: string | undefined;
  /** Default: the workspace's login shell with its profile. */
  command?: readonly string[] | undefined;
}

/** A terminal: bytes out through onData, keystrokes in through write (workspace/pty.ts). */
export type ApiPty = PtyHandle;

export interface ApiSpawnOptions {
  cwd?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  user?: string | undefined;
  /** Output kept per stream for replay (default 1 MiB). */
  ringBytes?: number | undefined;
}

/** A spawned process: it, its kept output and its exit live in the workspace (workspace/processes.ts). */
export type ApiProcess = ProcessHandle;

export interface FilesApi {
  read(id: string, path: string, options: { encoding: 'buffer' }): Promise<Buffer>;
  read(id: string, path: string, options?: { encoding?: 'utf8' | undefined }): Promise<string>;
  write(id: string, path: string, data: string | Uint8Array): Promise<void>;
  list(id: string, path?: string, options?: { recursive?: boolean | undefined; limit?: number | undefined }): Promise<FileEntry[]>;
  remove(id: string, path: string, options?: { recursive?: boolean | undefined }): Promise<void>;
}

/** One rule change: allow, deny or revoke one pattern. */
export type EgressChange = { allow: string } | { deny: string } | { revoke: string };

export interface DevStartOptions {
  /** argv, run as given (use `['sh', '-c', '...']` for a shell line). */
  command: string[];
  /** Inside the workspace; relative to /workspace unless absolute. */
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  /** Skip detection: the server listens here (still verified). */
  port?: number | undefined;
  /** Resolve once the server listens (state `running`, with its URL) or ends, not at launch. */
  wait?: boolean | undefined;
}

/** Dev servers: long-running commands with a URL the host can open. */
export interface DevApi {
  start(workspace: string, name: string, options: DevStartOptions): Promise<DevServer>;
  /** Ends its process group; its port is free when this resolves. */
  stop(workspace: string, name: string): Promise<DevServer>;
  restart(workspace: string, name: string, options?: { wait?: boolean | undefined }): Promise<DevServer>;
  /**
   * Every registered server (of one workspace), checked now: a workspace whose running servers all
   * answer a TCP connect at their own URL, on its running container at that address, is confirmed by
   * that; any other with live servers is scanned (one exec). `full`: scan every one.
   */
  list(workspace?: string, options?: { full?: boolean | undefined }): Promise<DevServer[]>;
  /** The end of its output, `tail` lines (default 200). */
  logs(workspace: string, name: string, options?: { tail?: number | undefined }): Promise<string>;
  /**
   * The ports its devcontainer.json forwards, as previews checked now (one scan): `listening` with
   * the URL to open (and its label), `not-listening` with none yet, `other-service` for a compose
   * service's port. Empty for a workspace not brought up from a devcontainer.json with ports.
   */
  forwardedPorts(workspace: string): Promise<ForwardedPortView[]>;
}

/** Which events: the cursor is `after` (a `seq`), everywhere. */
export interface EventFilter {
  /** Only events with a sequence number above this (resume from the last `seq` you saw). */
  after?: number | undefined;
  /** Only events at or after this ISO time. */
  since?: string | undefined;
  workspace?: string | undefined;
  /** This type and its sub-types: `egress` matches `egress.deny`. */
  type?: string | undefined;
  limit?: number | undefined;
}

/** The event log: call it for what is stored, `follow` it for what comes. */
export interface EventsApi {
  (filter?: EventFilter): Promise<StoredBerthEvent[]>;
  /**
   * Each matching event once, in order, as it is written, by this process or any other on the
   * same home, from `after` (default: from now). Ends when `signal` aborts or Berth closes.
   */
  follow(filter?: Omit<EventFilter, 'limit'>, options?: { signal?: AbortSignal | undefined }): AsyncIterable<StoredBerthEvent>;
}

/**
 * Berth as an app sees it, in process or through the daemon. Every method rejects with a
 * `BerthError` (code, message, hint); after `close()` every one rejects with `E_CLOSED`.
 */
export interface BerthApi extends AsyncDisposable {
  /** Who does the work: Berth in this process, or the daemon serving this home. */
  readonly via: 'in-process' | 'daemon';
  /** This installation's workspaces. */
  list(filter?: ListFilter): Promise<WorkspaceSummary[]>;
  /** One workspace, including the states an engine alone cannot tell (missing, drifted, foreign). */
  status(id: string): Promise<WorkspaceSummary>;
  /**
   * Creates, starts, reuses or recreates the workspace. Of an existing workspace `spec` is a patch
   * over what was last declared (fields left out keep their value); without one, as last declared.
   */
  up(id: string, spec?: WorkspaceSpecInput): Promise<UpReport>;
  stop(id: string): Promise<void>;
  /** Removes the workspace's container (its files stay). */
  remove(id: string): Promise<void>;
  readonly dev: DevApi;
  /** The workspace's egress rules and whether the network enforces them; null without egress control. */
  egress(id: string): Promise<EgressView | null>;
  /** Allow, deny or revoke one pattern; in force when this resolves (where a proxy serves it). */
  changeEgress(id: string, change: EgressChange): Promise<EgressPolicy>;
  readonly events: EventsApi;
  /**
   * Runs a command in the workspace: `onStdout`/`onStderr` get chunks as they come, `encoding:
   * 'buffer'` keeps bytes as bytes; a timeout or abort ends the process group inside the workspace
   * and rejects with E_TIMEOUT / E_ABORTED. (Over the daemon: a WebSocket.)
   */
  exec(id: string, argv: readonly string[], options: ApiExecOptions & { encoding: 'buffer' }): Promise<ApiExecResult<Buffer>>;
  exec(id: string, argv: readonly string[], options?: ApiExecOptions & { encoding?: 'utf8' | undefined }): Promise<ApiExecResult>;
  /** A terminal in the workspace (default: its login shell with its profile), behind the exec fence. */
  pty(id: string, options: ApiPtyOptions): Promise<ApiPty>;
  /** Files anywhere in the workspace's filesystem, bytes-safe (relative paths start at /workspace). */
  readonly files: FilesApi;
  /**
   * A long-lived process in the workspace (an LSP server over stdio, a watcher): it, its kept
   * output and its exit live in the workspace, so `processes(id)` attaches to it again later.
   */
  spawn(id: string, argv: readonly string[], options?: ApiSpawnOptions): Promise<ApiProcess>;
  processes(id: string): Promise<ApiProcess[]>;
  /**
   * Ends what is in flight (each rejects with `E_ABORTED`; an `up` it interrupts leaves no
   * container it made) and lets go of the store or connection. Idempotent.
   */
  close(): Promise<void>;
}
