import { randomBytes } from 'node:crypto';
import { BerthError } from '../errors.js';
import { Repository } from './repository.js';

export type EgressRequestState = 'pending' | 'approved' | 'denied';

/** An agent's request to reach a target its workspace's egress rules do not allow; a human decides. */
export interface EgressRequest {
  id: string;
  workspace: string;
  /** host[:port], as an egress rule spells it. */
  target: string;
  reason: string;
  state: EgressRequestState;
  requestedAt: string;
  decidedAt: string | null;
}

interface Row {
  id: string;
  workspace: string;
  target: string;
  reason: string;
  state: EgressRequestState;
  requested_at: string;
  decided_at: string | null;
}

const toRequest = (row: Row): EgressRequest => ({
  id: row.id,
  workspace: row.workspace,
  target: row.target,
  reason: row.reason,
  state: row.state,
  requestedAt: row.requested_at,
  decidedAt: row.decided_at,
});

/** Pending requests per workspace are bounded: an agent asking in a loop cannot fill the disk. */
export const MAX_PENDING_PER_WORKSPACE = 50;

/** The `egress_requests` table: pending requests (from an agent) and their decisions (from a human). */
export class EgressRequestRepository extends Repository {
  create(workspace: string, target: string, reason: string, now: Date = new Date()): EgressRequest {
    // IMMEDIATE: the count is read and the row written under one write lock. A deferred transaction
    // that reads first gets SQLITE_BUSY_SNAPSHOT at once, busy timeout or not, when another process
    // (the proxy writing its events) committed in between: a CI run saw this tool fail that way.
    return this.db.transaction(() => {
      const pending = (this.db.prepare("SELECT count(*) AS n FROM egress_requests WHERE workspace = ? AND state = 'pending'").get(workspace) as { n: number }).n;
      if (pending >= MAX_PENDING_PER_WORKSPACE) {
        throw new BerthError('E_CONFLICT', `Workspace "${workspace}" already has ${String(pending)} pending egress requests.`, {
          hint: `Wait for a person to decide them (\`berth egress requests ${workspace}\`).`,
        });
      }
      // Short and unguessable enough to type: `berth egress approve <id> r-1a2b3c4d`.
      const row: Row = { id: `r-${randomBytes(4).toString('hex')}`, workspace, target, reason, state: 'pending', requested_at: now.toISOString(), decided_at: null };
      this.db
        .prepare('INSERT INTO egress_requests (id, workspace, target, reason, state, requested_at, decided_at) VALUES (@id, @workspace, @target, @reason, @state, @requested_at, @decided_at)')
        .run(row);
      return toRequest(row);
    }).immediate();
  }

  /** A workspace's requests, newest first. */
  list(workspace: string, state?: EgressRequestState): EgressRequest[] {
    const rows = (
      state === undefined
        ? this.db.prepare('SELECT * FROM egress_requests WHERE workspace = ? ORDER BY requested_at DESC, rowid DESC').all(workspace)
        : this.db.prepare('SELECT * FROM egress_requests WHERE workspace = ? AND state = ? ORDER BY requested_at DESC, rowid DESC').all(workspace, state)
    ) as Row[];
    return rows.map(toRequest);
  }

  /** Every workspace's requests in one state (the dashboard's pending list), newest first. */
  listAll(state: EgressRequestState): EgressRequest[] {
    return (this.db.prepare('SELECT * FROM egress_requests WHERE state = ? ORDER BY requested_at DESC, rowid DESC').all(state) as Row[]).map(toRequest);
  }

  get(workspace: string, id: string): EgressRequest {
    const row = this.db.prepare('SELECT * FROM egress_requests WHERE workspace = ? AND id = ?').get(workspace, id) as Row | undefined;
    if (!row) {
      throw new BerthError('E_NOT_FOUND', `Workspace "${workspace}" has no egress request ${id}.`, { hint: `\`berth egress requests ${workspace}\` lists them.` });
    }
    return toRequest(row);
  }

  /** Decides a pending request once; a decided one is E_CONFLICT (the first decision stands). */
  decide(workspace: string, id: string, state: 'approved' | 'denied', now: Date = new Date()): EgressRequest {
    const request = this.get(workspace, id);
    const changed = this.db
      .prepare("UPDATE egress_requests SET state = ?, decided_at = ? WHERE workspace = ? AND id = ? AND state = 'pending'")
      .run(state, now.toISOString(), workspace, id).changes;
    if (changed === 0) {
      throw new BerthError('E_CONFLICT', `Egress request ${id} of workspace "${workspace}" was already ${request.state}.`, { hint: 'A decided request stays decided; change the rules with `berth egress allow|revoke`.' });
    }
    return { ...request, state, decidedAt: now.toISOString() };
  }

  forget(workspace: string): void {
    this.db.prepare('DELETE FROM egress_requests WHERE workspace = ?').run(workspace);
  }
}
