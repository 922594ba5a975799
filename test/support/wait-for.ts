import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this many ms (the condition is always tried at least once). */
  timeout: number;
  /** Pause between tries, ms; default 50. */
  interval?: number;
  /** What was awaited, for the failure message. */
  message?: string;
}

/**
 * The one way tests wait for the system to get somewhere: polls `condition` until it returns a
 * truthy value without throwing (so `() => { expect(...); return true; }` works too), and returns
 * that value.
 * Past the deadline it throws, naming what was awaited and the last thing the condition said (its
 * error, or the value it returned), so a timeout explains itself. No fixed sleeps: a test waits
 * exactly as long as the system needs and fails at a known bound when it never gets there.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const { timeout, interval = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeout;
  let last: string;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      last = `returned ${String(value)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) throw new Error(`waitFor: ${message} not reached within ${String(timeout)} ms (last try: ${last})`);
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
}
