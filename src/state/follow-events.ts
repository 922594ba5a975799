import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredBerthEvent } from '../events.js';
import type { EventLog, EventQuery } from './event-log.js';

/** How often the log is read while following: other processes' writes show up within this. */
const POLL_MS = 100;
/** Read per query, so a large backlog streams instead of loading whole. */
const PAGE = 500;

/** A filter as apps give it (`after`; `afterSeq` is the old name, still read) as the table's query. */
export function toEventQuery(filter: { after?: number | undefined; afterSeq?: number | undefined; since?: string | undefined; workspace?: string | undefined; type?: string | undefined; limit?: number | undefined }): EventQuery {
  return { afterSeq: filter.after ?? filter.afterSeq, since: filter.since, workspace: filter.workspace, type: filter.type, limit: filter.limit };
}

/**
 * Follows the event log by sequence number: every matching event once, in order, whoever wrote it
 * (this process, a CLI, the daemon: they all write the same SQLite table). `wake` lets this
 * process's own writes through at once instead of at the next poll. Ends when `signal` aborts.
 */
export async function* followEvents(
  log: Pick<EventLog, 'events' | 'lastEventSeq'>,
  filter: { after?: number | undefined; since?: string | undefined; workspace?: string | undefined; type?: string | undefined },
  options: { signal: AbortSignal; wake?: (listener: () => void) => () => void },
): AsyncGenerator<StoredBerthEvent> {
  const { signal } = options;
  if (signal.aborted) return;
  let last = filter.after ?? log.lastEventSeq();
  let poke: (() => void) | null = null;
  const unsubscribe = options.wake?.(() => poke?.());
  try {
    while (!signal.aborted) {
      const page = log.events({ ...toEventQuery(filter), afterSeq: last, limit: PAGE });
      for (const event of page) {
        last = event.seq;
        // The log holds what Berth's emitters wrote, whose types BerthEvent lists.
        yield event as StoredBerthEvent;
        if (signal.aborted) return;
      }
      if (page.length === PAGE) continue;
      // Sleep until the next poll, a write in this process, or the end.
      const ticker = new AbortController();
      const stop = (): void => ticker.abort();
      poke = stop;
      signal.addEventListener('abort', stop, { once: true });
      await sleep(POLL_MS, undefined, { signal: ticker.signal }).catch(() => undefined);
      signal.removeEventListener('abort', stop);
      poke = null;
    }
  } finally {
    unsubscribe?.();
  }
}
