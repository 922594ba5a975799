import { expect } from 'vitest';
import { BerthError, type BerthErrorCode } from '../../src/errors.js';

/** Awaits a promise that must reject with a BerthError of this code, and hands the error back. */
export async function expectCode(promise: Promise<unknown>, code: BerthErrorCode): Promise<BerthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(BerthError);
  expect((error as BerthError).code).toBe(code);
  return error as BerthError;
}

/** Runs a function that must throw a BerthError, and hands the error back. */
export function thrownBy(fn: () => unknown): BerthError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a BerthError').toBeInstanceOf(BerthError);
  return error as BerthError;
}
