import { setTimeout as sleep } from 'node:timers/promises';
import type { Berth } from '../berth.js';
import { upAndReport } from '../workspace/up-report.js';
import type { EventLog } from '../state/event-log.js';
import type { CliCore, EventSource } from './core.js';

const POLL_MS = 250;

/** The core commands on Berth in this process: what the CLI does when no daemon runs. */
export function localCore(berth: Berth): CliCore {
  return {
    via: 'in-process',
    runtime: berth.runtime.kind,
    isolated: berth.runtime.capabilities.isolation === 'container',
    list: () => berth.list(),
    status: (id) => berth.status(id),
    up: (id, spec) => upAndReport(berth, id, spec),
    stop: (id) => berth.stop(id),
    remove: (id) => berth.remove(id),
    egress: (id) => Promise.resolve(berth.egress(id)),
    changeEgress: (id, change) => Promise.resolve(berth.changeEgress(id, change)),
    async devStart(workspace, name, options, wait) {
      const started = await berth.dev.start(workspace, name, options);
      return wait ? berth.dev.waitUntilReady(workspace, name) : started;
    },
    async devRestart(workspace, name) {
      await berth.dev.restart(workspace, name);
      return berth.dev.waitUntilReady(workspace, name);
    },
    devStop: (workspace, name) => berth.dev.stop(workspace, name),
    devList: (workspace) => berth.dev.list(workspace),
  };
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
