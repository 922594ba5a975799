import { stampEvent, type RecordedEvent, type BerthEventInput } from '../events.js';
import type { EventLog } from '../state/event-log.js';

/**
 * The proxy's decisions, written together: a burst of 256 tunnels made 256 SQLite commits on the
 * proxy's one thread, the largest share of its own time in a CPU profile of the burst. Events are
 * stamped when they happen and written, in order, in one transaction at the end of the current
 * turn of the event loop (or at `flush()`, which closing calls). A process killed in between loses
 * at most that turn's events.
 */
export class EventBatch {
  private readonly log: Pick<EventLog, 'appendEvents'>;
  private pending: RecordedEvent[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(log: Pick<EventLog, 'appendEvents'>) {
    this.log = log;
  }

  add(event: BerthEventInput): void {
    this.pending.push(stampEvent(event));
    this.scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    try {
      this.log.appendEvents(events);
    } catch (error) {
      // The log is an observer: a store that cannot take them (busy, closed) must not end the proxy.
      process.emitWarning(`berth egress: ${String(events.length)} event(s) were lost (${error instanceof Error ? error.message : String(error)})`);
    }
  }
}
