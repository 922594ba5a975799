import { BerthError } from '../errors.js';
import { formatCommand } from './format-command.js';

/** Why a subprocess did not succeed. */
export type ProcessFailure =
  /** It ran and exited with a code the caller did not accept. */
  | 'exit'
  /** It was ended by a signal nobody sent on purpose (OOM killer, a crash). */
  | 'signal'
  /** It ran past its timeout and its process tree was killed. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** The executable is not on PATH (or not executable). */
  | 'not-found'
  /** The OS refused to start it (EACCES, E2BIG, ...). */
  | 'spawn'
  /** It printed more than the output limit and was killed. */
  | 'output-limit';

export interface ProcessFacts {
  command: readonly string[];
  failure: ProcessFailure;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  stdout: string;
  stderr: string;
}

const STDERR_TAIL_CHARS = 2000;

/** A subprocess failed. Carries the same facts as a RunResult, so callers can inspect either. */
export class ProcessError extends BerthError {
  readonly command: readonly string[];
  readonly failure: ProcessFailure;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stderrTail: string;

  constructor(facts: ProcessFacts, options: { cause?: unknown; timeoutMs?: number } = {}) {
    const stderrTail = tail(facts.stderr.trimEnd(), STDERR_TAIL_CHARS);
    const summary = `${describe(facts, options.timeoutMs)}: ${formatCommand(facts.command)}`;
    super('E_PROCESS', stderrTail === '' ? summary : `${summary}\n${stderrTail}`, {
      cause: options.cause,
      hint: facts.failure === 'not-found' ? `Install ${facts.command[0] ?? 'it'} or put it on PATH.` : undefined,
    });
    this.command = facts.command;
    this.failure = facts.failure;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.timedOut = facts.failure === 'timeout';
    this.aborted = facts.failure === 'aborted';
    this.durationMs = facts.durationMs;
    this.stdout = facts.stdout;
    this.stderr = facts.stderr;
    this.stderrTail = stderrTail;
  }
}

function describe(facts: ProcessFacts, timeoutMs: number | undefined): string {
  switch (facts.failure) {
    case 'exit':
      return `Command failed with exit code ${String(facts.exitCode)}`;
    case 'signal':
      return `Command was killed with ${String(facts.signal)}`;
    case 'timeout':
      return `Command timed out after ${String(timeoutMs)} ms`;
    case 'aborted':
      return 'Command was cancelled';
    case 'not-found':
      return 'Command not found';
    case 'spawn':
      return 'Command could not be started';
    case 'output-limit':
      return 'Command printed more than the output limit';
  }
}

function tail(text: string, chars: number): string {
  return text.length <= chars ? text : `…${text.slice(text.length - chars)}`;
}
