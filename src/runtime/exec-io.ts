import type { ExecEncoding, ExecOptions, ExecOutput, ExecResult } from './types.js';

/**
 * What every adapter's exec does alike with its options: the old and new names (`workdir`/`cwd`,
 * `input`/`stdin`), output handed to the caller's callbacks as it comes and collected for the
 * result, and the result's encoding. The adapters differ only in how bytes get in and out.
 */

export type ExecStdin = NonNullable<ExecOptions['stdin']>;

/** The command's working directory: `cwd`, else the old `workdir`. */
export function execCwd(options: ExecOptions<ExecEncoding>): string | undefined {
  return options.cwd ?? options.workdir;
}

/** What goes to the command's stdin: `stdin`, else the old `input`; undefined for an empty stdin. */
export function execStdin(options: ExecOptions<ExecEncoding>): ExecStdin | undefined {
  return options.stdin ?? options.input;
}

/** A stream (piped until it ends), as opposed to bytes or text written at once. */
export function isReadableStream(value: unknown): value is NodeJS.ReadableStream {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && typeof (value as { pipe?: unknown }).pipe === 'function';
}

/**
 * Hands a command's output to the caller's callbacks as it comes, collects what has no callback,
 * and makes the result in the encoding asked for. A stream that goes to a callback is not kept
 * (its result field is empty), so a long or endless output costs no memory here. Chunks are kept
 * as bytes: text is decoded once, at the end, so a UTF-8 character split across chunks is whole.
 */
export class ExecOutputCollector<E extends ExecEncoding> {
  private readonly stdout: Buffer[] = [];
  private readonly stderr: Buffer[] = [];
  private readonly options: ExecOptions<E>;

  constructor(options: ExecOptions<E>) {
    this.options = options;
  }

  readonly onStdout = (chunk: Buffer): void => {
    if (this.options.onStdout) this.options.onStdout(chunk);
    else this.stdout.push(chunk);
  };

  readonly onStderr = (chunk: Buffer): void => {
    if (this.options.onStderr) this.options.onStderr(chunk);
    else this.stderr.push(chunk);
  };

  /**
   * How a runner spawns the command for this exec (process/run.ts options): its stdin, its
   * cancellation, any exit code taken as an answer (the command's own), output to this collector.
   */
  processIo(): { input: ExecStdin | undefined; signal: AbortSignal | undefined; timeoutMs: number; okExitCodes: 'any'; onStdout: (chunk: Buffer) => void; onStderr: (chunk: Buffer) => void } {
    return {
      input: execStdin(this.options),
      signal: this.options.signal,
      timeoutMs: this.options.timeoutMs ?? Infinity,
      okExitCodes: 'any',
      onStdout: this.onStdout,
      onStderr: this.onStderr,
    };
  }

  result(exitCode: number, durationMs: number): ExecResult<ExecOutput<E>> {
    const out = Buffer.concat(this.stdout);
    const err = Buffer.concat(this.stderr);
    const asBuffer = this.options.encoding === 'buffer';
    return {
      exitCode,
      stdout: (asBuffer ? out : out.toString('utf8')) as ExecOutput<E>,
      stderr: (asBuffer ? err : err.toString('utf8')) as ExecOutput<E>,
      durationMs,
    };
  }
}
