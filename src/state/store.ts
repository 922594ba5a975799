import { auditHome, ensurePrivateHome, touchPrivateFile } from './private-files.js';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { BerthError } from '../errors.js';
import type { BerthEvent } from '../events.js';
import type { DevServer, DevServerState } from '../devserver/types.js';
import type { EgressPolicy } from '../egress/policy.js';
import type { RuntimeKind } from '../runtime/types.js';
import { MIGRATIONS } from './migrations.js';

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

/** A workspace's egress: its policy, the credential its proxy URL carries, where its proxy listens. */
export interface EgressRecord {
  workspace: string;
  runtime: RuntimeKind;
  token: string;
  policy: EgressPolicy;
  /** The workspace's internal network (null in host mode: not enforced). */
  network: string | null;
  /** The host bridge of that network, shielded so only the proxy port answers there. */
  bridge: string | null;
  proxyHost: string;
  proxyPort: number;
  updatedAt: string;
}

interface EgressRow {
  workspace: string;
  runtime: RuntimeKind;
  token: string;
  allow_json: string;
  deny_json: string;
  network: string | null;
  bridge: string | null;
  proxy_host: string;
  proxy_port: number;
  updated_at: string;
}

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

export function freshSupervision(workspace: string, server = ''): Supervision {
  return { workspace, server, failures: 0, nextAttemptAt: null, lastError: null, restarts: 0, health: 'unknown', probeFailures: 0, lastProbeAt: null, held: false };
}

export interface StoredEvent extends BerthEvent {
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

/** Where the store writes what Berth created; the workspace layer depends only on this. */
export interface Ledger {
  recordIntent(entry: NewLedgerEntry): number;
  confirmCreated(entryId: number, resourceId: string): void;
  markRemoved(runtime: RuntimeKind, kind: ResourceKind, name: string): void;
  /** The spec last asked for, on the live entry: what listings compare the container against. */
  recordDesired(runtime: RuntimeKind, name: string, spec: unknown): void;
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

interface EventRow {
  seq: number;
  time: string;
  type: string;
  level: BerthEvent['level'];
  workspace: string | null;
  message: string;
  data_json: string | null;
}

/**
 * Berth's state: one SQLite file under $BERTH_HOME (WAL, so the CLI and the daemon can read while
 * the other writes), holding the ownership ledger and the append-only event log.
 */
export class Store implements Ledger {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Opens (and migrates) `$home/state.db`; `:memory:` for a throwaway store. */
  static open(home: string): Store {
    // better-sqlite3 is native and only some commands need it: load it on first use, not at import.
    const require = createRequire(import.meta.url);
    const DatabaseConstructor = require('better-sqlite3') as typeof Database;
    let file = ':memory:';
    let db: Database.Database;
    try {
      if (home !== ':memory:') {
        file = join(home, 'state.db');
        // Made 0600 before SQLite sees it: SQLite creates a new database 0644 (less the umask), and
        // its -wal and -shm take the database's mode.
        ensurePrivateHome(home);
        touchPrivateFile(file);
      }
      db = new DatabaseConstructor(file);
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL cannot corrupt the database; it may only lose the newest commit on power loss.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      // What a removed workspace's rows held (env values, tokens) is zeroed, not left in free space.
      db.pragma('secure_delete = ON');
      migrate(db);
      // The -wal and -shm SQLite just made or found (an older Berth's may be 0644).
      if (home !== ':memory:') auditHome(home, true, 'when-home-loose');
    } catch (cause) {
      throw new BerthError('E_INVALID_INPUT', `Cannot open Berth's state at ${file}: ${(cause as Error).message}`, {
        hint: 'Check the folder is writable (berth doctor), or set BERTH_HOME to another folder.',
        cause,
      });
    }
    return new Store(db);
  }

  close(): void {
    this.db.close();
  }

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

  /**
   * `berth rm`: nothing the workspace held in secret stays behind, in the rows or in the files.
   * Removed ledger rows lose their env, its dev servers their env, its egress row (the proxy token)
   * goes; secure_delete zeroes the freed bytes, and a checkpoint empties the WAL, whose old page
   * images would still hold them (best effort: a reader in another process can hold it back).
   */
  forgetSecrets(workspace: string): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE ledger SET spec_json = ${WITHOUT_ENV} WHERE workspace = ? AND removed_at IS NOT NULL AND spec_json IS NOT NULL`).run(workspace);
      this.db.prepare(`UPDATE dev_servers SET env_json = '{}' WHERE workspace = ?`).run(workspace);
      this.db.prepare('DELETE FROM egress WHERE workspace = ?').run(workspace);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  recordDesired(runtime: RuntimeKind, name: string, spec: unknown): void {
    const json = JSON.stringify(spec);
    this.db
      .prepare(`UPDATE ledger SET spec_json = ? WHERE runtime = ? AND kind = 'container' AND name = ? AND removed_at IS NULL AND spec_json IS NOT ?`)
      .run(json, runtime, name, json);
  }

  /** What Berth created and has not removed (on one runtime, or all). */
  activeEntries(runtime?: RuntimeKind): LedgerEntry[] {
    const rows = (
      runtime === undefined
        ? this.db.prepare('SELECT * FROM ledger WHERE removed_at IS NULL ORDER BY id').all()
        : this.db.prepare('SELECT * FROM ledger WHERE removed_at IS NULL AND runtime = ? ORDER BY id').all(runtime)
    ) as LedgerRow[];
    return rows.map(toEntry);
  }

  /** The runtime a live container of this name was created on, if Berth made one. */
  runtimeOf(name: string): RuntimeKind | undefined {
    const row = this.db.prepare(`SELECT runtime FROM ledger WHERE removed_at IS NULL AND kind = 'container' AND name = ? ORDER BY id DESC LIMIT 1`).get(name) as
      | { runtime: RuntimeKind }
      | undefined;
    return row?.runtime;
  }

  /** Registered dev servers, of one workspace or all, in registration order. */
  devServers(workspace?: string): DevServer[] {
    const rows = (
      workspace === undefined
        ? this.db.prepare('SELECT * FROM dev_servers ORDER BY rowid').all()
        : this.db.prepare('SELECT * FROM dev_servers WHERE workspace = ? ORDER BY rowid').all(workspace)
    ) as DevServerRow[];
    return rows.map(toDevServer);
  }

  putDevServer(server: DevServer): void {
    this.db
      .prepare(
        `INSERT INTO dev_servers (workspace, name, command_json, cwd, env_json, port, pgid, state, url, detected_port, bridge_pgid, bridge_slot, exit_code, started_at, restarts)
         VALUES (@workspace, @name, @command_json, @cwd, @env_json, @port, @pgid, @state, @url, @detected_port, @bridge_pgid, @bridge_slot, @exit_code, @started_at, @restarts)
         ON CONFLICT (workspace, name) DO UPDATE SET command_json = excluded.command_json, cwd = excluded.cwd, env_json = excluded.env_json,
           port = excluded.port, pgid = excluded.pgid, state = excluded.state, url = excluded.url, detected_port = excluded.detected_port,
           bridge_pgid = excluded.bridge_pgid, bridge_slot = excluded.bridge_slot, exit_code = excluded.exit_code,
           started_at = excluded.started_at, restarts = excluded.restarts`,
      )
      .run({
        workspace: server.workspace,
        name: server.name,
        command_json: JSON.stringify(server.command),
        cwd: server.cwd,
        env_json: JSON.stringify(server.env),
        port: server.port,
        pgid: server.pgid,
        state: server.state,
        url: server.url,
        detected_port: server.detectedPort,
        bridge_pgid: server.bridgePgid,
        bridge_slot: server.bridgeSlot,
        exit_code: server.exitCode,
        started_at: server.startedAt,
        restarts: server.restarts,
      });
  }

  /** Egress settings of one workspace, or of all. */
  egress(workspace?: string): EgressRecord[] {
    const rows = (
      workspace === undefined ? this.db.prepare('SELECT * FROM egress ORDER BY workspace').all() : this.db.prepare('SELECT * FROM egress WHERE workspace = ?').all(workspace)
    ) as EgressRow[];
    return rows.map((row) => ({
      workspace: row.workspace,
      runtime: row.runtime,
      token: row.token,
      policy: { allow: JSON.parse(row.allow_json) as string[], deny: JSON.parse(row.deny_json) as string[] },
      network: row.network,
      bridge: row.bridge,
      proxyHost: row.proxy_host,
      proxyPort: row.proxy_port,
      updatedAt: row.updated_at,
    }));
  }

  putEgress(record: Omit<EgressRecord, 'updatedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO egress (workspace, runtime, token, allow_json, deny_json, network, bridge, proxy_host, proxy_port, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace) DO UPDATE SET runtime = excluded.runtime, token = excluded.token, allow_json = excluded.allow_json, deny_json = excluded.deny_json,
           network = excluded.network, bridge = excluded.bridge, proxy_host = excluded.proxy_host, proxy_port = excluded.proxy_port, updated_at = excluded.updated_at`,
      )
      .run(record.workspace, record.runtime, record.token, JSON.stringify(record.policy.allow), JSON.stringify(record.policy.deny), record.network, record.bridge, record.proxyHost, record.proxyPort, now());
  }

  deleteEgress(workspace: string): void {
    this.db.prepare('DELETE FROM egress WHERE workspace = ?').run(workspace);
  }

  /** The workspaces a manifest has declared (and apply created): the only ones its apply may remove. */
  declaredBy(manifest: string): string[] {
    return (this.db.prepare('SELECT workspace FROM declared WHERE manifest = ? ORDER BY workspace').all(manifest) as { workspace: string }[]).map((r) => r.workspace);
  }

  /** The manifest that declared this workspace (and may remove it), if one did. */
  declaringManifest(workspace: string): string | undefined {
    return (this.db.prepare('SELECT manifest FROM declared WHERE workspace = ?').get(workspace) as { manifest: string } | undefined)?.manifest;
  }

  /** Forgets that a manifest declared the workspace (gc removed it). */
  undeclare(workspace: string): void {
    this.db.prepare('DELETE FROM declared WHERE workspace = ?').run(workspace);
  }

  setDeclared(manifest: string, workspaces: readonly string[]): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM declared WHERE manifest = ?').run(manifest);
      const insert = this.db.prepare('INSERT OR REPLACE INTO declared (workspace, manifest) VALUES (?, ?)');
      for (const workspace of workspaces) insert.run(workspace, manifest);
    })();
  }

  /** The reconciler's memory of one workspace (server '') or dev server; a fresh record when there is none. */
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

  /** Marks a workspace (server '') or dev server as stopped on request, or released again. */
  setHeld(workspace: string, server: string, held: boolean): void {
    const record = this.supervision(workspace, server);
    if (record.held !== held) this.putSupervision({ ...record, held });
  }

  deleteDevServer(workspace: string, name: string): void {
    this.db.prepare('DELETE FROM dev_servers WHERE workspace = ? AND name = ?').run(workspace, name);
  }

  appendEvent(event: BerthEvent): number {
    const result = this.db
      .prepare('INSERT INTO events (time, type, level, workspace, message, data_json) VALUES (?, ?, ?, ?, ?, ?)')
      .run(event.time, event.type, event.level, event.workspace ?? null, event.message, event.data === undefined ? null : JSON.stringify(event.data));
    return Number(result.lastInsertRowid);
  }

  /** The newest event's sequence number (0 for an empty log): where a live feed starts. */
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

/**
 * Brings the schema up to date once, however many processes open a fresh state folder at the same
 * moment: the version is read again inside an exclusive transaction, so whoever waited for the
 * first opener finds its work done instead of creating the tables a second time.
 */
function migrate(db: Database.Database): void {
  const version = (): number => {
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > MIGRATIONS.length) {
      throw new Error(`the state was written by a newer Berth (schema ${String(found)}, this one knows ${String(MIGRATIONS.length)})`);
    }
    return found;
  };
  if (version() === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let next = version(); next < MIGRATIONS.length; next++) {
      db.exec(MIGRATIONS[next] ?? '');
      db.pragma(`user_version = ${String(next + 1)}`);
    }
  }).exclusive();
}

interface DevServerRow {
  workspace: string;
  name: string;
  command_json: string;
  cwd: string;
  env_json: string;
  port: number | null;
  pgid: number | null;
  state: DevServerState;
  url: string | null;
  detected_port: number | null;
  bridge_pgid: number | null;
  bridge_slot: number | null;
  exit_code: number | null;
  started_at: string | null;
  restarts: number;
}

function toDevServer(row: DevServerRow): DevServer {
  return {
    workspace: row.workspace,
    name: row.name,
    command: JSON.parse(row.command_json) as string[],
    cwd: row.cwd,
    env: JSON.parse(row.env_json) as Record<string, string>,
    port: row.port,
    pgid: row.pgid,
    state: row.state,
    url: row.url,
    detectedPort: row.detected_port,
    bridgePgid: row.bridge_pgid,
    bridgeSlot: row.bridge_slot,
    exitCode: row.exit_code,
    startedAt: row.started_at,
    restarts: row.restarts,
  };
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

function toEvent(row: EventRow): StoredEvent {
  const event: StoredEvent = { seq: row.seq, time: row.time, type: row.type, level: row.level, message: row.message };
  if (row.workspace !== null) event.workspace = row.workspace;
  if (row.data_json !== null) event.data = JSON.parse(row.data_json) as Record<string, unknown>;
  return event;
}

/** A spec's JSON without its `env` (SQL). */
const WITHOUT_ENV = `CASE WHEN json_valid(spec_json) THEN json_remove(spec_json, '$.env') ELSE NULL END`;

function now(): string {
  return new Date().toISOString();
}
