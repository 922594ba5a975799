import type { BerthClient, Health } from '../client/index.js';
import type { CliCore, EventSource } from './core.js';

/**
 * The core commands through the running daemon: the client is the same `BerthApi` (it makes paths
 * absolute against this shell's folder, as the in-process path reads them).
 */
export function daemonCore(client: BerthClient, health: Health): CliCore {
  return { api: client, runtime: health.runtime, isolated: health.runtime !== 'host' };
}

/** The event log through the daemon: the live part as its SSE stream. */
export function daemonEvents(client: BerthClient): EventSource {
  return {
    events: (query) => client.events({ after: query.afterSeq, since: query.since, workspace: query.workspace, type: query.type, limit: query.limit }),
    follow: (query, afterSeq, signal) => client.streamEvents({ after: afterSeq, since: query.since, workspace: query.workspace, type: query.type }, signal),
  };
}
