import type { EventLog, StoredEvent } from '../state/event-log.js';

const POLL_MS = 200;

/**
 * The event log as a live feed. Events are written to SQLite by every process (this daemon, a CLI
 * run without the daemon), so the feed follows the table by sequence number rather than listening
 * in-process: one indexed query per tick, and no timer at all while nobody listens.
 */
export class EventFeed {
  private readonly log: Pick<EventLog, 'events' | 'lastEventSeq'>;
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Every event up to here has been handed to the current listeners. */
  private cursor = 0;

  constructor(log: Pick<EventLog, 'events' | 'lastEventSeq'>) {
    this.log = log;
  }

  /**
   * Hands `listener` every event after `afterSeq` in order: the backlog from the log at once, then
   * each new one as it is written. Returns the unsubscribe.
   */
  subscribe(afterSeq: number, listener: (event: StoredEvent) => void): () => void {
    if (this.listeners.size === 0) this.cursor = this.log.lastEventSeq();
    for (const event of this.log.events({ afterSeq })) {
      if (event.seq > this.cursor) break;
      listener(event);
    }
    this.listeners.add(listener);
    this.timer ??= setInterval(() => this.tick(), POLL_MS);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopTimer();
    };
  }

  private tick(): void {
    for (const event of this.log.events({ afterSeq: this.cursor, limit: 1000 })) {
      this.cursor = event.seq;
      for (const listener of this.listeners) listener(event);
    }
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopTimer();
    this.listeners.clear();
  }
}
