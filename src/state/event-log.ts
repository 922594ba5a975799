import type { RecordedEvent } from '../events.js';
import type { Statement } from 'better-sqlite3';
import { Repository } from './repository.js';

export interface StoredEvent extends RecordedEvent {
  seq: number;
}

export interface EventQuery {
  /** Only events after this sequence number (for --follow). */
  afterSeq?: number | undefined;
  /** Only events at or after this ISO time. */
  since?: string | undefined;
  workspace?: string | undefined;
  type?: string | undefined;
  limit?: number | undefined;
}

/** The `events` table: the append-only log every change is written to, numbered by `seq`. */
export interface EventLog {
  appendEvent(event: RecordedEvent): number;
  /** Several events in one transaction, in order (bursts: one commit instead of one per event). */
  appendEvents(events: readonly RecordedEvent[]): void;
  /** The newest event's sequence number (0 for an empty log): where a live feed starts. */
  lastEventSeq(): number;
  events(query?: EventQuery): StoredEvent[];
}

interface EventRow {
  seq: number;
  time: string;
  type: string;
  level: RecordedEvent['level'];
  workspace: string | null;
  message: string;
  data_json: string | null;
}

export class EventRepository extends Repository implements EventLog {
  /** Prepared once: the proxy appends an event per connection, and preparing cost as much as the insert. */
  private insert: Statement | undefined;

  appendEvent(event: RecordedEvent): number {
    this.insert ??= this.db.prepare('INSERT INTO events (time, type, level, workspace, message, data_json) VALUES (?, ?, ?, ?, ?, ?)');
    const result = this.insert.run(event.time, event.type, event.level, event.workspace ?? null, event.message, event.data === undefined ? null : JSON.stringify(event.data));
    return Number(result.lastInsertRowid);
  }

  appendEvents(events: readonly RecordedEvent[]): void {
    this.db.transaction(() => {
      for (const event of events) this.appendEvent(event);
    })();
  }

  lastEventSeq(): number {
    const row = this.db.prepare('SELECT MAX(seq) AS seq FROM events').get() as { seq: number | null };
    return row.seq ?? 0;
  }

  events(query: EventQuery = {}): StoredEvent[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const filter = (clause: string, ...values: (string | number)[]): void => {
      where.push(clause);
      params.push(...values);
    };
    if (query.afterSeq !== undefined) filter('seq > ?', query.afterSeq);
    if (query.since !== undefined) filter('time >= ?', query.since);
    if (query.workspace !== undefined) filter('workspace = ?', query.workspace);
    // A type matches itself and its sub-types: `workspace` finds `workspace.created` too.
    if (query.type !== undefined) filter('(type = ? OR type LIKE ?)', query.type, `${query.type}.%`);
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${query.limit ? `LIMIT ${String(Math.floor(query.limit))}` : ''}`;
    return (this.db.prepare(sql).all(...params) as EventRow[]).map(toEvent);
  }
}

function toEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = { seq: row.seq, time: row.time, type: row.type, level: row.level, message: row.message };
  if (row.workspace !== null) event.workspace = row.workspace;
  if (row.data_json !== null) event.data = JSON.parse(row.data_json) as Record<string, unknown>;
  return event;
}
