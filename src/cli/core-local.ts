import { setTimeout as sleep } from 'node:timers/promises';
import type { Berth } from '../berth.js';
import type { EventLog } from '../state/event-log.js';
import type { CliCore, EventSource } from './core.js';

const POLL_MS = 250;

/** The core commands on Berth in this process: what the CLI does when no daemon runs. */
export function localCore(berth: Berth): CliCore {
  return { api: berth, runtime: berth.runtime.kind, isolated: berth.runtime.capabilities.isolation === 'container' };
}

/** The event log straight from SQLite, polled while following. */
export function storeEvents(log: Pick<EventLog, 'events'>): EventSource {
  return {
    events: (query) => Promise.resolve(log.events(query)),
    async *follow(query, afterSeq, signal) {
      let last = afterSeq;
      while (!signal.aborted) {
        for (const event of log.events({ ...query, afterSeq: last })) {
          last = event.seq;
          yield event;
        }
        await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
      }
    },
  };
}
