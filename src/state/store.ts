import { auditHome, ensurePrivateHome, touchPrivateFile } from './private-files.js';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { BerthError } from '../errors.js';
import { DeclaredRepository } from './declared.js';
import { DevServerRepository } from './dev-servers.js';
import { EgressRepository } from './egress-records.js';
import { EgressRequestRepository } from './egress-requests.js';
import { EventRepository } from './event-log.js';
import { LedgerRepository } from './ledger.js';
import { MIGRATIONS } from './migrations.js';
import { SupervisionRepository } from './supervision.js';
import { HookMarkerRepository } from './hook-markers.js';

// Callers import the row types from here, as before the split.
export type { Declarations } from './declared.js';
export type { DevServerStore } from './dev-servers.js';
export type { EgressRecord, EgressStore } from './egress-records.js';
export type { EgressRequest, EgressRequestState } from './egress-requests.js';
export type { EventLog, EventQuery, StoredEvent } from './event-log.js';
export type { Ledger, LedgerEntry, NewLedgerEntry, ResourceKind } from './ledger.js';
export { freshSupervision, type Supervision, type SupervisionStore } from './supervision.js';

/**
 * Berth's state: one SQLite file under $BERTH_HOME (WAL, so the CLI and the daemon can read while
 * the other writes) with seven tables, one repository each over this one connection: `ledger`,
 * `events`, `devServers`, `egress`, `egressRequests`, `declared`, `supervision`. The Store itself only opens,
 * migrates and closes, and runs the one write that spans tables (`forgetSecrets`) as one transaction.
 */
export class Store {
  private readonly db: Database.Database;
  private changeStampQuery: Database.Statement | undefined;
  /** What Berth created on the engines (`ledger`). */
  readonly ledger: LedgerRepository;
  /** The append-only event log (`events`). */
  readonly events: EventRepository;
  /** Registered dev servers (`dev_servers`). */
  readonly devServers: DevServerRepository;
  /** Each workspace's egress policy, proxy token and network (`egress`). */
  readonly egress: EgressRepository;
  /** Agents' requests to open egress, and a person's decisions (`egress_requests`). */
  readonly egressRequests: EgressRequestRepository;
  /** Which manifest declared which workspace (`declared`). */
  readonly declared: DeclaredRepository;
  /** The reconciler's backoff, restart counts, health and holds (`supervision`). */
  readonly supervision: SupervisionRepository;
  /** devcontainer lifecycle hooks that finished, per container (`devcontainer_hooks`). */
  readonly hookMarkers: HookMarkerRepository;

  private constructor(db: Database.Database) {
    this.db = db;
    this.ledger = new LedgerRepository(db);
    this.events = new EventRepository(db);
    this.devServers = new DevServerRepository(db);
    this.egress = new EgressRepository(db);
    this.egressRequests = new EgressRequestRepository(db);
    this.declared = new DeclaredRepository(db);
    this.supervision = new SupervisionRepository(db);
    this.hookMarkers = new HookMarkerRepository(db);
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
      const opened = db;
      // Switching a fresh database to WAL takes an exclusive lock, and SQLite can answer BUSY there
      // without waiting on the busy timeout (seen in CI: many processes opening a fresh home at once).
      retryWhileBusy(() => opened.pragma('journal_mode = WAL'));
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

  /**
   * A stamp that differs whenever anything was committed to the state since it was last read, by
   * any process: `data_version` moves with every commit of another connection (another process:
   * a CLI `berth up` beside the daemon) and never with this connection's own, which
   * `total_changes()` counts (SQLite: test/pragma3.test, R-47505-58569; lang_corefunc.html). One
   * read of the connection's own counters, no table: what a cached listing checks before it answers.
   */
  changeStamp(): string {
    this.changeStampQuery ??= this.db.prepare('SELECT (SELECT data_version FROM pragma_data_version) AS version, total_changes() AS changes');
    const { version, changes } = this.changeStampQuery.get() as { version: number; changes: number };
    return `${String(version)}:${String(changes)}`;
  }

  /**
   * `berth rm`: nothing the workspace held in secret stays behind, in the rows or in the files.
   * Removed ledger rows lose their env, its dev servers their env, its egress row (the proxy token)
   * goes, all in one transaction (the repositories share this connection, so their statements run
   * inside it); secure_delete zeroes the freed bytes, and a checkpoint empties the WAL, whose old
   * page images would still hold them (best effort: a reader in another process can hold it back).
   */
  forgetSecrets(workspace: string): void {
    this.db.transaction(() => {
      this.ledger.forgetEnv(workspace);
      this.devServers.forgetEnv(workspace);
      this.egress.deleteEgress(workspace);
      this.egressRequests.forget(workspace);
      this.hookMarkers.forgetHooks(workspace);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
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

/** How long a statement that SQLite answers BUSY without waiting is tried again. */
const BUSY_RETRY_MS = 5000;

/**
 * Runs `fn`, again after a short pause while SQLite says SQLITE_BUSY, up to BUSY_RETRY_MS. The
 * pause blocks the thread (Atomics.wait): opening the store is synchronous, and brief.
 */
function retryWhileBusy<T>(fn: () => T): T {
  const deadline = Date.now() + BUSY_RETRY_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return fn();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 5 + Math.floor(Math.random() * 20));
    }
  }
}
