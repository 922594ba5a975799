import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { BerthError } from '../errors.js';
import { ProcessError, type ProcessFailure } from './process-error.js';
import { resolveExecutable } from './resolve-executable.js';

export interface RunOptions {
  /** Milliseconds before the process tree is killed. Default 60 s; `Infinity` for none (say so on purpose). */
  timeoutMs?: number;
  /** Cancels the run: the process tree gets TERM, then KILL after `killGraceMs`. */
  signal?: AbortSignal | undefined;
  /** Written to stdin, which is then closed (a stream: piped until it ends). Without it stdin is /dev/null. */
  input?: string | Uint8Array | NodeJS.ReadableStream | undefined;
  cwd?: string | undefined;
  /** The child's whole environment. Default: this process's environment. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Exit codes that count as success (default `[0]`); `'any'` hands every exit code back to the caller. */
  okExitCodes?: readonly number[] | 'any';
  /** Time between TERM and KILL when the tree is stopped for a timeout or cancel. Default 2 s. */
  killGraceMs?: number;
  /**
   * The signal a timeout or cancel sends first. Default TERM (then KILL after the grace); KILL ends
   * the tree at once, with no chance to clean up: what a crash test means by kill -9.
   */
  stopSignal?: 'SIGTERM' | 'SIGKILL';
  /** Bytes of stdout plus stderr kept before the run is killed as runaway. Default 64 MiB. */
  maxOutputBytes?: number;
}

export interface StreamingOptions extends RunOptions {
  /** Receives stdout as it arrives; stdout is then not collected into the result. */
  onStdout?: (chunk: Buffer) => void;
  /** Receives stderr as it arrives; the tail is still kept for errors. */
  onStderr?: (chunk: Buffer) => void;
}

export interface RunResult {
  command: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_KILL_GRACE_MS = 2_000;
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const STREAMED_STDERR_KEPT = 64 * 1024;

/** Runs argv (never through a shell) and collects its output. Rejects with ProcessError on failure. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runStreaming(argv, options);
}

/** Like run(), but hands output to callbacks as it arrives (logs --follow, builds, long execs). */
export function runStreaming(argv: readonly string[], options: StreamingOptions = {}): Promise<RunResult> {
  try {
    return startRun(argv, options);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function startRun(argv: readonly string[], options: StreamingOptions): Promise<RunResult> {
  const timeoutMs = validateMs('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const killGraceMs = validateMs('killGraceMs', options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);

  return new Promise<RunResult>((resolvePromise, rejectPromise) => {
    const fail = (failure: ProcessFailure, extra: Partial<FailureFacts> = {}): void => {
      rejectPromise(
        new ProcessError(
          {
            command: argv,
            failure,
            exitCode: extra.exitCode ?? null,
            signal: extra.signal ?? null,
            durationMs: elapsed(),
            stdout: extra.stdout ?? '',
            stderr: extra.stderr ?? '',
          },
          { cause: extra.cause, timeoutMs },
        ),
      );
    };

    const [file, ...args] = argv;
    if (file === undefined) return rejectPromise(invalid('argv is empty; pass at least the program to run.'));
    if (options.signal?.aborted) return fail('aborted', { cause: options.signal.reason });
    const env = options.env ?? process.env;
    const executable = resolveExecutable(file, env);
    if (executable === undefined) return fail('not-found');

    let child: ChildProcess;
    try {
      // detached: the child leads its own process group, so a timeout or cancel can end
      // the whole tree it started (a docker CLI, a build, a shell a user asked for), not just it.
      child = spawn(executable, args, {
        cwd: options.cwd,
        env,
        detached: true,
        shell: false,
        windowsHide: true,
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (cause) {
      return fail('spawn', { cause });
    }

    const stdoutChunks: Buffer[] = [];
    const stderrChunks: Buffer[] = [];
    let stderrKept = 0;
    let outputBytes = 0;
    let stopReason: 'timeout' | 'aborted' | 'output-limit' | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const stopTree = (reason: NonNullable<typeof stopReason>): void => {
      if (stopReason !== undefined) return;
      stopReason = reason;
      signalGroup(child, options.stopSignal ?? 'SIGTERM');
      if (options.stopSignal === 'SIGKILL') return;
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), killGraceMs);
      killTimer.unref();
    };

    const countOutput = (chunk: Buffer): void => {
      outputBytes += chunk.length;
      if (outputBytes > maxOutputBytes) stopTree('output-limit');
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      countOutput(chunk);
      if (options.onStdout) options.onStdout(chunk);
      else stdoutChunks.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      countOutput(chunk);
      options.onStderr?.(chunk);
      stderrChunks.push(chunk);
      stderrKept += chunk.length;
      // When streaming, keep only a tail of stderr for the error message.
      while (options.onStderr && stderrKept > STREAMED_STDERR_KEPT && stderrChunks.length > 1) {
        stderrKept -= stderrChunks.shift()?.length ?? 0;
      }
    });

    if (options.input !== undefined && child.stdin) {
      // A child that exits without reading its stdin makes the write fail with EPIPE; its exit
      // status is what matters then, so the stream error is deliberately ignored.
      child.stdin.on('error', () => undefined);
      const input = options.input;
      if (typeof input === 'string' || input instanceof Uint8Array) child.stdin.end(input);
      else {
        const stdin = child.stdin;
        input.pipe(stdin);
        // A source that outlives the child (a terminal, a pipe nobody closes) must not keep this
        // process reading on the child's behalf.
        child.on('close', () => input.unpipe(stdin));
      }
    }

    const timeoutTimer = Number.isFinite(timeoutMs) ? setTimeout(() => stopTree('timeout'), timeoutMs) : undefined;
    const onAbort = (): void => stopTree('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    liveGroups.add(child);
    ensureExitCleanup();

    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });

    child.on('close', (code, signal) => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      liveGroups.delete(child);
      const stdout = Buffer.concat(stdoutChunks).toString('utf8');
      const stderr = Buffer.concat(stderrChunks).toString('utf8');
      const facts = { exitCode: code, signal, stdout, stderr };
      if (stopReason !== undefined) {
        return fail(stopReason, { ...facts, cause: stopReason === 'aborted' ? options.signal?.reason : undefined });
      }
      if (spawnError !== undefined || code === null && signal === null) return fail('spawn', { ...facts, cause: spawnError });
      if (code === null) return fail('signal', facts);
      const accepted = options.okExitCodes ?? [0];
      if (accepted !== 'any' && !accepted.includes(code)) return fail('exit', facts);
      resolvePromise({ command: argv, exitCode: code, stdout, stderr, durationMs: elapsed() });
    });
  });
}

export interface InteractiveOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Interactive sessions have no timeout unless one is given. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs argv attached to this terminal (stdin, stdout and stderr inherited) and resolves to its exit
 * code; a child ended by a signal resolves to 128 + the signal number, as shells report it.
 * The child stays in the terminal's process group so Ctrl-C and job control reach it; Berth itself
 * ignores SIGINT meanwhile, so it outlives the child and can report the exit code.
 */
export function runInteractive(argv: readonly string[], options: InteractiveOptions = {}): Promise<number> {
  try {
    return startInteractive(argv, options);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function startInteractive(argv: readonly string[], options: InteractiveOptions): Promise<number> {
  const timeoutMs = validateMs('timeoutMs', options.timeoutMs ?? Infinity);
  const startedAt = performance.now();
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(invalid('argv is empty; pass at least the program to run.'));
  const env = options.env ?? process.env;
  const executable = resolveExecutable(file, env);
  const facts = (failure: ProcessFailure, cause?: unknown): ProcessError =>
    new ProcessError(
      { command: argv, failure, exitCode: null, signal: null, durationMs: Math.round(performance.now() - startedAt), stdout: '', stderr: '' },
      { cause, timeoutMs },
    );
  if (executable === undefined) return Promise.reject(facts('not-found'));
  if (options.signal?.aborted) return Promise.reject(facts('aborted', options.signal.reason));

  return new Promise<number>((resolvePromise, rejectPromise) => {
    const ignoreInterrupt = (): void => undefined;
    process.on('SIGINT', ignoreInterrupt);
    const child = spawn(executable, args, { cwd: options.cwd, env, stdio: 'inherit', shell: false });
    let stopReason: 'timeout' | 'aborted' | undefined;
    const stop = (reason: 'timeout' | 'aborted'): void => {
      stopReason ??= reason;
      child.kill('SIGTERM');
    };
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
    const onAbort = (): void => stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', ignoreInterrupt);
      options.signal?.removeEventListener('abort', onAbort);
      if (stopReason !== undefined) return rejectPromise(facts(stopReason, options.signal?.reason));
      if (spawnError !== undefined) return rejectPromise(facts('spawn', spawnError));
      resolvePromise(code ?? 128 + signalNumber(signal));
    });
  });
}

interface FailureFacts {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  cause: unknown;
}

/** Children still running; ended if this process exits first, so nothing outlives Berth by accident. */
const liveGroups = new Set<ChildProcess>();
let exitCleanupInstalled = false;

function ensureExitCleanup(): void {
  if (exitCleanupInstalled) return;
  exitCleanupInstalled = true;
  process.on('exit', () => {
    for (const child of liveGroups) signalGroup(child, 'SIGKILL');
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone; nothing left to stop.
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : osConstants.signals[signal];
}

function validateMs(name: string, value: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw invalid(`${name} must be a non-negative number of milliseconds, got ${String(value)} (${typeof value}).`);
  }
  return value;
}

function invalid(message: string): BerthError {
  return new BerthError('E_INVALID_INPUT', message);
}

export interface DetachedOptions {
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
  /** stdout and stderr are appended here (the file is created 0600 when missing). */
  logFile: string;
}

/**
 * Starts argv as a background service that outlives this process: its own session (setsid), no
 * terminal, stdin /dev/null, output appended to `logFile`, not tracked or ended with this process.
 * Resolves to its pid once it has been spawned. The only caller is the daemon's on-demand start.
 */
export function spawnDetached(argv: readonly string[], options: DetachedOptions): Promise<number> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(invalid('argv is empty; pass at least the program to run.'));
  const env = options.env ?? process.env;
  const executable = resolveExecutable(file, env);
  if (executable === undefined) return Promise.reject(new ProcessError({ command: argv, failure: 'not-found', exitCode: null, signal: null, durationMs: 0, stdout: '', stderr: '' }));
  const log = openSync(options.logFile, 'a', 0o600);
  try {
    const child = spawn(executable, args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', log, log], shell: false });
    return new Promise<number>((resolvePromise, rejectPromise) => {
      child.once('error', (error) => rejectPromise(new ProcessError({ command: argv, failure: 'spawn', exitCode: null, signal: null, durationMs: 0, stdout: '', stderr: '' }, { cause: error })));
      child.once('spawn', () => {
        child.unref();
        resolvePromise(child.pid ?? 0);
      });
    });
  } finally {
    closeSync(log);
  }
}
