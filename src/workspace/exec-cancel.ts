import { closeSync, openSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { BerthError } from '../errors.js';
import type { ExecEncoding, ExecOptions, ExecOutput, ExecResult, Runtime } from '../runtime/types.js';

/**
 * A command run in a workspace must end when its caller stops waiting. Killing the engine CLI (or
 * dropping the API connection) does not do that: `docker exec`/`podman exec`/`container exec`
 * leave the command running inside. So every exec that can be cancelled carries a marker in its
 * environment, which its children inherit, and a cancel finds the marked processes from inside
 * the workspace (`/proc/<pid>/environ`) and signals them: TERM, then KILL after a grace. The same
 * works on every runtime with a Linux guest (docker, podman, Apple's VM) and on a Linux host;
 * host mode also ends the process group it started itself, and a sandboxed host exec lives in a
 * process namespace of its own that ends with it (`unshare --kill-child`, runtime/host/sandbox.ts).
 */
export const EXEC_MARKER = 'BERTH_EXEC_ID';

/** How long marked processes get between TERM and KILL. */
const KILL_GRACE_MS = 2_000;
/** The kill exec itself must not hang a cancel forever. */
const KILL_EXEC_TIMEOUT_MS = 15_000;

/**
 * sh: `marked` prints the pids whose environment carries `$m` (`BERTH_EXEC_ID=<id>`), read from
 * /proc as root reads every process's. Shared by the cancel below and `kill()` of a spawned process.
 */
export const MARKED_FUNCTION = `marked() {
  for d in /proc/[0-9]*; do
    # The marker is a random UUID: finding it anywhere in the NUL-separated environment is enough
    # (GNU grep -q answers 0 for a binary match; busybox reads it as text).
    grep -qF -- "$m" "$d/environ" 2>/dev/null && echo "\${d#/proc/}"
  done
}`;

/**
 * Signals every process whose environment carries `BERTH_EXEC_ID=<id>` (with `$4`, default TERM),
 * then waits (up to `$3` tenths of a second) until none is left and KILLs what is. Plain POSIX
 * sh + /proc: it runs in any image Berth supports. Prints what it had to KILL (for the event log); the kill exec has
 * no marker, so it never signals itself.
 */
export const KILL_MARKED_SCRIPT = `
m="BERTH_EXEC_ID=$1"
${MARKED_FUNCTION}
pids=$(marked)
[ -n "$pids" ] || exit 0
kill -"\${4:-TERM}" $pids 2>/dev/null
i=0
while [ "$i" -lt "$2" ]; do
  pids=$(marked)
  [ -n "$pids" ] || exit 0
  sleep 0.1
  i=$((i + 1))
done
pids=$(marked)
[ -n "$pids" ] || exit 0
echo "killed $pids"
kill -KILL $pids 2>/dev/null
exit 0
`;

export interface CancellableExecOptions<E extends ExecEncoding = 'utf8'> extends ExecOptions<E> {
  /** The user the kill runs as: root reads every process's environment (default "0"). */
  killUser?: string | undefined;
}

/**
 * `runtime.exec` whose timeout and abort end the command inside the workspace, then reject with a
 * BerthError `E_TIMEOUT` or `E_ABORTED` (the engine client is ended too). Without a timeout or
 * signal this is `runtime.exec` unchanged.
 */
export async function execCancellable<E extends ExecEncoding = 'utf8'>(
  runtime: Runtime,
  target: string,
  argv: readonly string[],
  options: CancellableExecOptions<E> = {},
): Promise<ExecResult<ExecOutput<E>>> {
  const { timeoutMs, signal, killUser, ...rest } = options;
  if (timeoutMs === undefined && signal === undefined) return runtime.exec(target, argv, rest);
  if (signal?.aborted) throw aborted(argv, signal);
  const id = await randomExecId();
  const controller = new AbortController();
  let ended: 'timeout' | 'aborted' | undefined;
  const onAbort = (): void => {
    ended ??= 'aborted';
    controller.abort();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs === undefined || !Number.isFinite(timeoutMs)
      ? undefined
      : setTimeout(() => {
          ended ??= 'timeout';
          controller.abort();
        }, timeoutMs);
  try {
    return await runtime.exec(target, argv, { ...rest, env: { ...rest.env, [EXEC_MARKER]: id }, timeoutMs: Infinity, signal: controller.signal });
  } catch (error) {
    if (ended === undefined) throw error;
    await killMarked(runtime, target, id, killUser);
    throw ended === 'timeout'
      ? new BerthError('E_TIMEOUT', `\`${argv.join(' ')}\` did not finish within ${String(timeoutMs)} ms; it was ended in the workspace.`, {
          hint: 'Give it more time (timeoutMs), or run it in the background.',
          details: { timeoutMs },
          cause: error,
        })
      : aborted(argv, signal, error);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Ends every process of one cancelled exec; a workspace that is gone has nothing left to end.
 * `first` is the signal they get before the KILL (a terminal's hangup is SIGHUP: an interactive
 * shell ignores TERM).
 */
export async function killMarked(runtime: Runtime, target: string, id: string, user = '0', first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!(first in constants.signals)) throw new BerthError('E_INVALID_INPUT', `Unknown signal "${first}".`, { hint: 'Use a name such as SIGTERM, SIGHUP or SIGKILL.' });
  await runtime
    .exec(target, ['sh', '-c', KILL_MARKED_SCRIPT, 'sh', id, String(Math.ceil(KILL_GRACE_MS / 100)), first.slice(3)], {
      ...(runtime.kind === 'host' ? {} : { user }),
      timeoutMs: KILL_EXEC_TIMEOUT_MS,
    })
    .catch(() => undefined);
}

/**
 * A random UUID (v4) for the marker. Every `berth exec` makes one, so it is read from the kernel's
 * CSPRNG (/dev/urandom, Linux and macOS) rather than through node:crypto, which a fresh process
 * would compile ~15 internal modules to load; node:crypto's randomUUID where there is no /dev/urandom.
 */
export async function randomExecId(): Promise<string> {
  const bytes = Buffer.alloc(16);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, bytes, 0, 16, null) !== 16) throw new Error('short read from /dev/urandom');
    } finally {
      closeSync(fd);
    }
  } catch {
    return (await import('node:crypto')).randomUUID();
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40; // version 4
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function aborted(argv: readonly string[], signal: AbortSignal | undefined, cause?: unknown): BerthError {
  const reason: unknown = signal?.reason;
  return new BerthError('E_ABORTED', `\`${argv.join(' ')}\` was cancelled; it was ended in the workspace.`, {
    details: { reason: reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : null },
    cause: cause ?? reason,
  });
}
