/**
 * Every error Berth means to show a person is a BerthError: a stable code that programs match on,
 * a message that says what went wrong and where, and a hint that says how to fix it.
 * Each process has one boundary that maps it to an exit code (CLI) or an HTTP status (daemon).
 */
export type BerthErrorCode =
  /** A container, image or network that was asked for does not exist. */
  | 'E_NOT_FOUND'
  /** A name is already taken (container, network). */
  | 'E_CONFLICT'
  /** The operation needs a running container. */
  | 'E_NOT_RUNNING'
  /** The runtime's binary, daemon or system service cannot be reached. */
  | 'E_RUNTIME_UNAVAILABLE'
  /** The runtime printed something we could not parse into our types. */
  | 'E_RUNTIME_OUTPUT'
  /** The runtime refused or failed an operation for a reason we have no better code for. */
  | 'E_RUNTIME_FAILED'
  /** The adapter cannot do this at all (see Runtime.capabilities). */
  | 'E_UNSUPPORTED'
  /** The caller passed something invalid. */
  | 'E_INVALID_INPUT'
  /** A subprocess failed, timed out or was cancelled. */
  | 'E_PROCESS'
  /** The daemon refused the caller: no or wrong token, or a Host/Origin that is not loopback. */
  | 'E_UNAUTHORIZED'
  /** An operation ran out of the time it was given (its work in the workspace was ended). */
  | 'E_TIMEOUT'
  /** The caller cancelled an operation (AbortSignal, close()); its work in the workspace was ended. */
  | 'E_ABORTED'
  /** The Berth object (or client) was closed: open a new one with createBerth() / openBerth(). */
  | 'E_CLOSED';

/** Every code, for code that must know them all (the typed client); the compiler keeps it complete. */
const EVERY_CODE: Record<BerthErrorCode, true> = {
  E_NOT_FOUND: true,
  E_CONFLICT: true,
  E_NOT_RUNNING: true,
  E_RUNTIME_UNAVAILABLE: true,
  E_RUNTIME_OUTPUT: true,
  E_RUNTIME_FAILED: true,
  E_UNSUPPORTED: true,
  E_INVALID_INPUT: true,
  E_PROCESS: true,
  E_UNAUTHORIZED: true,
  E_TIMEOUT: true,
  E_ABORTED: true,
  E_CLOSED: true,
};
export const BERTH_ERROR_CODES = Object.keys(EVERY_CODE) as readonly BerthErrorCode[];

export interface BerthErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /**
   * Structured facts for programs (--json output, the daemon's error body, the client's errors):
   * what a caller matches on besides the code, so nothing parses the message. Never secrets.
   */
  details?: Record<string, unknown> | undefined;
}

export class BerthError extends Error {
  override readonly name = 'BerthError';
  readonly code: BerthErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: BerthErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  /** What crosses a process boundary (`--json`, the daemon's error body): never the cause. */
  toJSON(): { code: BerthErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** True when `error` is a Node system error with this code (ENOENT, EEXIST, ...). */
export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

/** True when `error` is a BerthError, optionally with one of the given codes. */
export function isBerthError(error: unknown, ...codes: BerthErrorCode[]): error is BerthError {
  return error instanceof BerthError && (codes.length === 0 || codes.includes(error.code));
}
