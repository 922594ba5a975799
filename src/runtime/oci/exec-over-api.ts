import { BerthError } from '../../errors.js';
import { ProcessError } from '../../process/process-error.js';
import { ExecOutputCollector, execCwd, execStdin, isReadableStream, type ExecStdin } from '../exec-io.js';
import type { ExecEncoding, ExecOptions, ExecOutput, ExecResult } from '../types.js';
import { startApiExec, type ApiExecSession } from './engine-exec.js';

/**
 * `Runtime.exec` over the engine's API socket (engine-exec.ts): no engine CLI process, output to
 * the caller as it comes, bytes as bytes. It behaves as the CLI path does where the caller can
 * see it: the command's exit code is the answer, a timeout or abort drops the connection and
 * rejects with the same ProcessError (`timeout` / `aborted`) the CLI path rejects with, and ending
 * the command inside the workspace stays workspace/exec-cancel.ts's job (dropping the connection
 * does not end it, exactly as killing `docker exec` does not).
 *
 * Once the engine has started the command, a failure of the socket is NOT "socket unreachable":
 * the caller must not fall back to the CLI and run the command a second time.
 */
export async function execOverApi<E extends ExecEncoding>(
  socketPath: string,
  container: string,
  argv: readonly string[],
  options: ExecOptions<E>,
): Promise<ExecResult<ExecOutput<E>>> {
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks on first use,
  // a cost every `berth exec` would pay for one duration.
  const startedAt = process.hrtime.bigint();
  const elapsed = (): number => Math.round(Number(process.hrtime.bigint() - startedAt) / 1e6);
  const command = [`${socketPath}:`, 'exec', container, ...argv];
  const stop = stopOf(options, command, elapsed);
  if (options.signal?.aborted) throw stop.error('aborted');
  const output = new ExecOutputCollector(options);
  const stdin = execStdin(options);
  const session = await startApiExec(
    socketPath,
    { container, argv, env: options.env, workdir: execCwd(options), user: options.user, stdin: stdin !== undefined },
    { onStdout: output.onStdout, onStderr: output.onStderr },
  );
  const stopped = stop.watch(session);
  try {
    if (stdin !== undefined) feed(session, stdin);
    const { exitCode } = await Promise.race([session.done.catch((error: unknown) => Promise.reject(afterStart(error, command))), stopped]);
    // The engine keeps no exit code only when the exec vanished under it (the container was removed).
    if (exitCode === null) throw afterStart(new Error('the engine recorded no exit code (was the container removed?)'), command);
    return output.result(exitCode, elapsed());
  } finally {
    stop.release();
  }
}

/** Writes the command's stdin, then ends it; a stream is copied until it ends. */
function feed(session: ApiExecSession, stdin: ExecStdin): void {
  if (!isReadableStream(stdin)) {
    session.write(Buffer.from(stdin));
    session.endInput();
    return;
  }
  const onData = (chunk: Buffer | string): void => session.write(chunk);
  const onEnd = (): void => session.endInput();
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  // A source that outlives the command (a terminal, a pipe nobody closes) is let go when it ends.
  void session.done
    .catch(() => undefined)
    .finally(() => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.pause();
    });
}

/** The caller's timeout and signal: each drops the connection and rejects as the CLI path does. */
function stopOf(options: ExecOptions<ExecEncoding>, command: readonly string[], elapsed: () => number) {
  const timeoutMs = options.timeoutMs ?? Infinity;
  const error = (failure: 'timeout' | 'aborted'): ProcessError =>
    new ProcessError(
      { command, failure, exitCode: null, signal: null, durationMs: elapsed(), stdout: '', stderr: '' },
      { timeoutMs, cause: failure === 'aborted' ? options.signal?.reason : undefined },
    );
  let release = (): void => undefined;
  return {
    error,
    release: () => release(),
    watch: (session: ApiExecSession): Promise<never> =>
      new Promise<never>((_resolve, reject) => {
        const end = (failure: 'timeout' | 'aborted'): void => {
          session.detach();
          reject(error(failure));
        };
        const timer = Number.isFinite(timeoutMs) ? setTimeout(() => end('timeout'), timeoutMs) : undefined;
        const onAbort = (): void => end('aborted');
        options.signal?.addEventListener('abort', onAbort, { once: true });
        // Aborted while the exec was being started: the listener above never fires for that.
        if (options.signal?.aborted) onAbort();
        release = () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        };
      }),
  };
}

/** A failure after the command started: an error of its own kind, never "use the CLI instead". */
function afterStart(error: unknown, command: readonly string[]): BerthError {
  const message = error instanceof Error ? error.message : String(error);
  return new BerthError('E_RUNTIME_FAILED', `${command.slice(0, 3).join(' ')}: the engine connection failed while the command ran: ${message}`, {
    hint: 'The command may still be running in the workspace; `berth doctor` checks the engine.',
    cause: error,
  });
}
