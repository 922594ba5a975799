import type { BerthApi } from '../api.js';
import type { EventQuery, StoredEvent } from '../state/store.js';

/**
 * What the core commands (ls, status, up, stop, rm, dev, egress) work on: the one `BerthApi`,
 * Berth in this process or the daemon over its socket (`openCore`, open-berth.ts, picks one), and
 * where its workspaces are.
 */
export interface CliCore {
  readonly api: BerthApi;
  /** The runtime the workspaces are on. */
  readonly runtime: string;
  readonly isolated: boolean;
}

/** The event log, from the daemon or straight from SQLite (no runtime chosen, no engine asked). */
export interface EventSource {
  events(query: EventQuery): Promise<StoredEvent[]>;
  /** Every event after `afterSeq` matching the query, as it is written, until `signal` aborts. */
  follow(query: EventQuery, afterSeq: number, signal: AbortSignal): AsyncIterable<StoredEvent>;
}
