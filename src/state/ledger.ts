import type { RuntimeKind } from '../runtime/types.js';
import { now } from './clock.js';
import { Repository } from './repository.js';

export type ResourceKind = 'container' | 'network';

/** One thing Berth created, on which runtime, when, and when it was removed. */
export interface LedgerEntry {
  id: number;
  kind: ResourceKind;
  runtime: RuntimeKind;
  name: string;
  /** The engine's id; null while the create is in flight (intent recorded, effect not confirmed). */
  resourceId: string | null;
  workspace: string | null;
  specHash: string | null;
  /** The normalized spec it was created from (JSON), so listings can tell drift without the engine. */
  spec: unknown;
  createdAt: string;
  removedAt: string | null;
}

export interface NewLedgerEntry {
  kind: ResourceKind;
  runtime: RuntimeKind;
  name: string;
  workspace?: string | undefined;
  specHash?: string | undefined;
  spec?: unknown;
}

/** The `ledger` table: what Berth created (intent first, engine id after), and what it removed. */
export interface Ledger {
  recordIntent(entry: NewLedgerEntry): number;
  confirmCreated(entryId: number, resourceId: string): void;
  markRemoved(runtime: RuntimeKind, kind: ResourceKind, name: string): void;
  /** The spec last asked for, on the live entry: what listings compare the container against. */
  recordDesired(runtime: RuntimeKind, name: string, spec: unknown): void;
  /** What Berth created and has not removed (on one runtime, or all). */
  activeEntries(runtime?: RuntimeKind): LedgerEntry[];
  /** The runtime a live container of this name was created on, if Berth made one. */
  runtimeOf(name: string): RuntimeKind | undefined;
  /** The runtimes with live containers Berth made (no entry read: a listing asks this first). */
  containerRuntimes(): RuntimeKind[];
}

interface LedgerRow {
  id: number;
  kind: ResourceKind;
  runtime: RuntimeKind;
  name: string;
  resource_id: string | null;
  workspace: string | null;
  spec_hash: string | null;
  spec_json: string | null;
  created_at: string;
  removed_at: string | null;
}

/** A spec's JSON without its `env` (SQL). */
const WITHOUT_ENV = `CASE WHEN json_valid(spec_json) THEN json_remove(spec_json, '$.env') ELSE NULL END`;

export class LedgerRepository extends Repository implements Ledger {
  recordIntent(entry: NewLedgerEntry): number {
    const result = this.db
      .prepare(
        `INSERT INTO ledger (kind, runtime, name, workspace, spec_hash, spec_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(entry.kind, entry.runtime, entry.name, entry.workspace ?? null, entry.specHash ?? null, JSON.stringify(entry.spec ?? null), now());
    return Number(result.lastInsertRowid);
  }

  confirmCreated(entryId: number, resourceId: string): void {
    this.db.prepare('UPDATE ledger SET resource_id = ? WHERE id = ?').run(resourceId, entryId);
  }

  /** A removed row keeps what gc and `ls` need, not the env values (API keys) its spec held. */
  markRemoved(runtime: RuntimeKind, kind: ResourceKind, name: string): void {
    this.db
      .prepare(`UPDATE ledger SET removed_at = ?, spec_json = ${WITHOUT_ENV} WHERE runtime = ? AND kind = ? AND name = ? AND removed_at IS NULL`)
      .run(now(), runtime, kind, name);
  }

  /** The workspace's removed rows lose their env (`Store.forgetSecrets`, with the other tables' part). */
  forgetEnv(workspace: string): void {
    this.db.prepare(`UPDATE ledger SET spec_json = ${WITHOUT_ENV} WHERE workspace = ? AND removed_at IS NOT NULL AND spec_json IS NOT NULL`).run(workspace);
  }

  recordDesired(runtime: RuntimeKind, name: string, spec: unknown): void {
    const json = JSON.stringify(spec);
    this.db
      .prepare(`UPDATE ledger SET spec_json = ? WHERE runtime = ? AND kind = 'container' AND name = ? AND removed_at IS NULL AND spec_json IS NOT ?`)
      .run(json, runtime, name, json);
  }

  activeEntries(runtime?: RuntimeKind): LedgerEntry[] {
    const rows = (
      runtime === undefined
        ? this.db.prepare('SELECT * FROM ledger WHERE removed_at IS NULL ORDER BY id').all()
        : this.db.prepare('SELECT * FROM ledger WHERE removed_at IS NULL AND runtime = ? ORDER BY id').all(runtime)
    ) as LedgerRow[];
    return rows.map(toEntry);
  }

  containerRuntimes(): RuntimeKind[] {
    const rows = this.db.prepare(`SELECT DISTINCT runtime FROM ledger WHERE removed_at IS NULL AND kind = 'container'`).all() as { runtime: RuntimeKind }[];
    return rows.map((r) => r.runtime);
  }

  runtimeOf(name: string): RuntimeKind | undefined {
    const row = this.db.prepare(`SELECT runtime FROM ledger WHERE removed_at IS NULL AND kind = 'container' AND name = ? ORDER BY id DESC LIMIT 1`).get(name) as
      | { runtime: RuntimeKind }
      | undefined;
    return row?.runtime;
  }
}

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    id: row.id,
    kind: row.kind,
    runtime: row.runtime,
    name: row.name,
    resourceId: row.resource_id,
    workspace: row.workspace,
    specHash: row.spec_hash,
    spec: row.spec_json === null ? null : (JSON.parse(row.spec_json) as unknown),
    createdAt: row.created_at,
    removedAt: row.removed_at,
  };
}
