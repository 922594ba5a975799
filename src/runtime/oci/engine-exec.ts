import { engineJson, engineUpgrade } from './engine-http.js';
import { EngineApiError } from './engine-socket.js';

/**
 * `exec` over the engine's API socket: create an exec instance, start it on a hijacked connection
 * (HTTP 101, then raw bytes both ways), read its exit code. Compared with the CLI this streams
 * output as it comes, keeps bytes as bytes, can resize a TTY, and costs no engine CLI process
 * (a `podman exec` spends ~85 ms of CPU before the command runs).
 *
 * Docker's and podman's compat endpoints are the same here, so one path serves both:
 * - `POST /containers/{id}/exec` → `{Id}`; `POST /exec/{id}/start` with `Connection: Upgrade` and
 *   `Upgrade: tcp` answers `101 UPGRADED` and hands over the connection (podman:
 *   libpod/util.go `writeHijackHeader`@v4.3.1, the literal header copied from moby's
 *   api/server/router/container/exec.go);
 * - without a TTY, stdout and stderr arrive multiplexed: 8-byte frames `[stream, 0, 0, 0, size
 *   (uint32 BE)]` then `size` bytes (stream 1 stdout, 2 stderr; podman: `makeHTTPAttachHeader`,
 *   same file); with a TTY the stream is raw;
 * - `POST /exec/{id}/resize?h=&w=`; `GET /exec/{id}/json` → `{Running, ExitCode, Pid}`.
 *
 * The requests go over engine-http.ts (node:net), not node:http: `berth exec` starts a process per
 * command, and node:http was most of what it loaded.
 */
export interface ApiExecRequest {
  container: string;
  argv: readonly string[];
  env?: Readonly<Record<string, string>> | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  /** A TTY of this size (one raw stream, resizable); none: stdout and stderr apart. */
  tty?: { cols: number; rows: number } | undefined;
  /** Keep stdin open for `write()`; without it the command's stdin is empty. */
  stdin?: boolean | undefined;
}

export interface ApiExecHandlers {
  onStdout: (chunk: Buffer) => void;
  onStderr: (chunk: Buffer) => void;
}

export interface ApiExecSession {
  /** The engine's exec instance id. */
  readonly id: string;
  write(data: Buffer | string): void;
  /** Ends the command's stdin (it reads EOF). */
  endInput(): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Resolves when the output ends, with the command's exit code (null when the engine has none). */
  readonly done: Promise<{ exitCode: number | null }>;
  /** Drops the connection (the command is not stopped by this: that is the caller's job). */
  detach(): void;
}

const CONTROL_TIMEOUT_MS = 30_000;
/** How long the engine may take to record the exit code after the stream ended. */
const EXIT_CODE_DEADLINE_MS = 5_000;

export async function startApiExec(socketPath: string, spec: ApiExecRequest, handlers: ApiExecHandlers): Promise<ApiExecSession> {
  const created = await jsonCall(socketPath, 'POST', `/containers/${encodeURIComponent(spec.container)}/exec`, {
    AttachStdin: spec.stdin === true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: spec.tty !== undefined,
    Cmd: spec.argv,
    ...(spec.env ? { Env: Object.entries(spec.env).map(([name, value]) => `${name}=${value}`) } : {}),
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
  });
  const id = (created as { Id?: unknown } | null)?.Id;
  if (typeof id !== 'string') throw new EngineApiError(500, `exec create answered without an Id: ${JSON.stringify(created)}`, 'POST exec');
  const socket = await engineUpgrade(socketPath, `/exec/${encodeURIComponent(id)}/start`, {
    Detach: false,
    Tty: spec.tty !== undefined,
    // docker reads ConsoleSize [rows, cols] (API 1.42+); podman reads `h`/`w` (ExecStartConfig in
    // pkg/api/handlers/types.go@v4.3.1), applied before the process starts.
    ...(spec.tty ? { ConsoleSize: [spec.tty.rows, spec.tty.cols], h: spec.tty.rows, w: spec.tty.cols } : {}),
  });

  // docker before API 1.42 (Engine 23) ignores ConsoleSize: size it right after the start, as the
  // docker CLI does (a command that reads its size at once may still see 0x0 there).
  if (spec.tty) await resize(socketPath, id, spec.tty.cols, spec.tty.rows).catch(() => undefined);
  const streamEnded = new Promise<void>((resolve, reject) => {
    const deliver = spec.tty ? (chunk: Buffer) => handlers.onStdout(chunk) : demultiplexer(handlers);
    socket.on('data', deliver);
    socket.on('end', () => resolve());
    socket.on('close', () => resolve());
    socket.on('error', reject);
    // engineUpgrade hands the socket over paused, so no byte passes before these listeners.
    socket.resume();
  });
  if (!spec.stdin) socket.end();
  const done = streamEnded.then(() => exitCodeOf(socketPath, id));
  return {
    id,
    write: (data) => void socket.write(data),
    endInput: () => void socket.end(),
    resize: (cols, rows) => resize(socketPath, id, cols, rows),
    done,
    detach: () => socket.destroy(),
  };
}

/** `[stream, 0, 0, 0, size BE]` frames to the two handlers; frames may span or share chunks. */
export function demultiplexer(handlers: ApiExecHandlers): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const payload = pending.subarray(8, 8 + size);
      if (pending[0] === 2) handlers.onStderr(payload);
      else handlers.onStdout(payload);
      pending = pending.subarray(8 + size);
    }
  };
}

/** The exit code once the engine has it: the stream can end a moment before the exec is recorded done. */
async function exitCodeOf(socketPath: string, id: string): Promise<{ exitCode: number | null }> {
  const deadline = Date.now() + EXIT_CODE_DEADLINE_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    const info = (await jsonCall(socketPath, 'GET', `/exec/${encodeURIComponent(id)}/json`)) as { Running?: boolean; ExitCode?: number | null } | null;
    if (info?.Running === false || Date.now() > deadline) return { exitCode: typeof info?.ExitCode === 'number' ? info.ExitCode : null };
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** The engine's record of an exec: running, and its exit code once it has one. */
export async function inspectExec(socketPath: string, id: string): Promise<{ running: boolean; exitCode: number | null }> {
  const info = (await jsonCall(socketPath, 'GET', `/exec/${encodeURIComponent(id)}/json`)) as { Running?: boolean; ExitCode?: number | null } | null;
  return { running: info?.Running !== false, exitCode: typeof info?.ExitCode === 'number' ? info.ExitCode : null };
}

async function resize(socketPath: string, id: string, cols: number, rows: number): Promise<void> {
  await jsonCall(socketPath, 'POST', `/exec/${encodeURIComponent(id)}/resize?${new URLSearchParams({ h: String(rows), w: String(cols) }).toString()}`);
}

function jsonCall(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  return engineJson(socketPath, method, path, body, CONTROL_TIMEOUT_MS);
}
