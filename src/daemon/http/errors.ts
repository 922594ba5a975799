import { z } from 'zod';
import { BerthError, type BerthErrorCode } from '../../errors.js';

/** The HTTP status for each error code: the API's one mapping, so clients can match on either. */
const STATUS: Record<BerthErrorCode, number> = {
  E_INVALID_INPUT: 400,
  E_UNAUTHORIZED: 401,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_NOT_RUNNING: 409,
  E_UNSUPPORTED: 501,
  E_RUNTIME_FAILED: 502,
  E_RUNTIME_OUTPUT: 502,
  E_PROCESS: 502,
  E_RUNTIME_UNAVAILABLE: 503,
  E_TIMEOUT: 504,
  // The client gave up; nginx's 499 ("client closed request") is the closest established status.
  E_ABORTED: 499,
  // The daemon's Berth is closing (the daemon stops).
  E_CLOSED: 503,
};

export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
  /** The error's structured facts (BerthError.details), for programs to match on. */
  details?: Record<string, unknown>;
}

/** Any error as a status and a `{code, message, hint, details}` body; unknown ones are our bugs (500). */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof BerthError) return { status: STATUS[error.code], body: error.toJSON() };
  if (error instanceof z.ZodError) return toHttpError(invalidBody(error));
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { code: 'E_INTERNAL', message: `Internal error: ${message}`, hint: 'This is a bug in Berth; the daemon log has the stack. Please report it.' } };
}

/** A request body that does not fit its schema: every problem, each with where it is. */
export function invalidBody(error: z.ZodError, where = 'body'): BerthError {
  const problems = error.issues.map((issue) => {
    // A strict object's own message is about its shape; the useful fact is which key is unknown.
    const message = issue.code === 'unrecognized_keys' ? `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}` : issue.message;
    return `${[where, ...issue.path.map(String)].join('.')}: ${message}`;
  });
  return new BerthError('E_INVALID_INPUT', `Invalid request: ${problems.join('; ')}.`, { hint: 'GET /openapi.json describes every request body.' });
}
