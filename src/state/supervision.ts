import { Repository } from './repository.js';
import { now } from './clock.js';

/**
 * What the reconciler remembers about one workspace (`server` '') or one of its dev servers, so
 * backoff, health and "stopped on request" survive a restart of Berth itself.
 */
export interface Supervision {
  workspace: string;
  /** '' for the workspace, else the dev server's name. */
  server: string;
  /** Failed fixes in a row; 0 after a success. */
  failures: number;
  /** No fix is tried before this time (ISO), while failures > 0. */
  nextAttemptAt: string | null;
  lastError: string | null;
  /** Restarts the restart policy (or a failed probe) caused. */
  restarts: number;
  health: 'unknown' | 'healthy' | 'unhealthy';
  /** Failed probes in a row. */
  probeFailures: number;
  lastProbeAt: string | null;
  /** Stopped on request (`berth stop`, `berth dev stop`): no policy restarts it until it is started again. */
  held: boolean;
}

export function freshSupervision(workspace: string, server = ''): Supervision {
  return { workspace, server, failures: 0, nextAttemptAt: null, lastError: null, restarts: 0, health: 'unknown', probeFailures: 0, lastProbeAt: null, held: false };
}

/** The `supervision` table: the reconciler's memory, one row per workspace and per dev server. */
export interface SupervisionStore {
  /** The reconciler's memory of one workspace (server '') or dev server; a fresh record when there is none. */
  supervision(workspace: string, server?: string): Supervision;
  putSupervision(record: Supervision): void;
  /** Marks a workspace (server '') or dev server as stopped on request, or released again. */
  setHeld(workspace: string, server: string, held: boolean): void;
}

interface SupervisionRow {
  workspace: string;
  server: string;
  failures: number;
  next_attempt_at: string | null;
  last_error: string | null;
  restarts: number;
  health: Supervision['health'];
  probe_failures: number;
  last_probe_at: string | null;
  held: number;
}

export class SupervisionRepository extends Repository implements SupervisionStore {
  supervision(workspace: string, server = ''): Supervision {
    const row = this.db.prepare('SELECT * FROM supervision WHERE workspace = ? AND server = ?').get(workspace, server) as SupervisionRow | undefined;
    if (!row) return freshSupervision(workspace, server);
    return {
      workspace: row.workspace,
      server: row.server,
      failures: row.failures,
      nextAttemptAt: row.next_attempt_at,
      lastError: row.last_error,
      restarts: row.restarts,
      health: row.health,
      probeFailures: row.probe_failures,
      lastProbeAt: row.last_probe_at,
      held: row.held === 1,
    };
  }

  putSupervision(record: Supervision): void {
    this.db
      .prepare(
        `INSERT INTO supervision (workspace, server, failures, next_attempt_at, last_error, restarts, health, probe_failures, last_probe_at, held, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace, server) DO UPDATE SET failures = excluded.failures, next_attempt_at = excluded.next_attempt_at,
           last_error = excluded.last_error, restarts = excluded.restarts, health = excluded.health, probe_failures = excluded.probe_failures,
           last_probe_at = excluded.last_probe_at, held = excluded.held, updated_at = excluded.updated_at`,
      )
      .run(record.workspace, record.server, record.failures, record.nextAttemptAt, record.lastError, record.restarts, record.health, record.probeFailures, record.lastProbeAt, record.held ? 1 : 0, now());
  }

  setHeld(workspace: string, server: string, held: boolean): void {
    const record = this.supervision(workspace, server);
    if (record.held !== held) this.putSupervision({ ...record, held });
  }
}
