import { availableParallelism } from 'node:os';

/**
 * How many engine calls Berth runs at once when one operation covers many workspaces (scans,
 * confirmations). Each is a process (or an engine-side exec) that mostly waits, so a few per core
 * overlap well; more only queue inside the engine.
 */
export function defaultFanOut(): number {
  return Math.max(2, Math.min(8, availableParallelism() * 2));
}

/**
 * `fn` over every item, at most `limit` at a time, results in the items' order. Every item runs
 * even when another fails: each outcome is settled, as Promise.allSettled would report it.
 */
export async function settleBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await fn(items[index] as T) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
