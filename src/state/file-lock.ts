import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { BerthError } from '../errors.js';
import { ensurePrivateDir, touchPrivateFile } from './private-files.js';

/**
 * Cross-process locks of one `$BERTH_HOME`, as kernel locks: a lock is a small SQLite file under
 * `$BERTH_HOME/locks/` on which the holder keeps an exclusive transaction (an fcntl lock). Chosen
 * over a lock *table* with owner pid + start time because the kernel drops the lock however the
 * holder ends (kill -9 included) and never hands it to a reused pid, so there is no staleness to
 * judge and no "dead, so break it" race between two waiters; and it costs no write to state.db,
 * whose single WAL writer the ledger already contends for. The daemon's own lock works the same way.
 *
 * Waiting is asynchronous (a try every few ms, not SQLite's busy handler): a daemon waiting for a
 * workspace another process holds must keep answering its other callers meanwhile.
 */
export interface LockHolder {
  pid: number;
  /** What holds it: `up`, `daemon`, `apply`, ... (for the message a waiter or refusal prints). */
  role: string;
  since: string;
  /** Anything else worth saying (the manifest a reconciler applies). */
  detail?: string | undefined;
}

export interface AcquireOptions {
  role: string;
  detail?: string | undefined;
  /** How long to wait for the holder; 0 tries once. Default 120 s. */
  waitMs?: number | undefined;
  /** Called once, when the lock is held by someone else and this call starts to wait. */
  onWait?: ((holder: LockHolder | null) => void) | undefined;
  /**
   * Write the holder note in the background: for short holds on a hot path (a workspace's ensure),
   * where the write would cost more than the lock. Long holds whose holder others must be told
   * at once (the daemon's reconciler role) write it before acquire returns.
   */
  noteInBackground?: boolean | undefined;
}

const DEFAULT_WAIT_MS = 120_000;
const FIRST_RETRY_MS = 1;
const MAX_RETRY_MS = 25;

export class FileLock {
  private readonly db: Database.Database;
  readonly file: string;

  private constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
  }

  /** Takes the lock, waiting up to `waitMs`; fails with E_CONFLICT naming the holder. */
  static async acquire(file: string, options: AcquireOptions): Promise<FileLock> {
    const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
    const db = openLockFile(file);
    let delay = FIRST_RETRY_MS;
    let waited = false;
    for (;;) {
      if (tryBegin(db)) break;
      if (Date.now() >= deadline) {
        db.close();
        throw held(file, readHolder(file));
      }
      if (!waited) {
        waited = true;
        options.onWait?.(readHolder(file));
      }
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
    const holder: LockHolder = { pid: process.pid, role: options.role, since: new Date().toISOString(), ...(options.detail ? { detail: options.detail } : {}) };
    // Informational only (the kernel lock decides), for the messages of waiters and refusals; written
    // after taking the lock, so it names the holder.
    const note = JSON.stringify(holder);
    if (options.noteInBackground) void writeFile(holderFile(file), note, { mode: 0o600 }).catch(() => undefined);
    else writeFileSync(holderFile(file), note, { mode: 0o600 });
    return new FileLock(db, file);
  }

  /** Ends the transaction and closes the file: the next waiter gets it. */
  release(): void {
    if (!this.db.open) return;
    try {
      this.db.exec('ROLLBACK');
    } finally {
      this.db.close();
    }
  }
}

/** Runs `work` holding the lock, released however it ends. */
export async function withFileLock<T>(file: string, options: AcquireOptions, work: () => Promise<T>): Promise<T> {
  const lock = await FileLock.acquire(file, options);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/** Where the locks of one home live: one file per workspace, one for the reconciler, one for starting the daemon. */
export const lockPaths = {
  workspace: (home: string, id: string): string => join(home, 'locks', `workspace-${id}.lock`),
  reconciler: (home: string): string => join(home, 'locks', 'reconciler.lock'),
  daemonStart: (home: string): string => join(home, 'locks', 'daemon-start.lock'),
};

/** Who holds the lock now, as the holder wrote it (null when unknown). */
export function readHolder(file: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(holderFile(file), 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

export function describeHolder(holder: LockHolder | null): string {
  if (holder === null) return 'another Berth process';
  return `${holder.role}, pid ${String(holder.pid)}${holder.detail ? `, ${holder.detail}` : ''}, since ${holder.since}`;
}

function held(file: string, holder: LockHolder | null): BerthError {
  return new BerthError('E_CONFLICT', `Another Berth process holds ${file} (${describeHolder(holder)}).`, {
    hint: holder ? `Wait for it to finish, or end it (pid ${String(holder.pid)}); the lock goes with its process.` : 'Wait for it to finish; the lock goes with its process.',
    details: { lock: file, holder },
  });
}

function holderFile(file: string): string {
  return `${file}.holder`;
}

function openLockFile(file: string): Database.Database {
  const require = createRequire(import.meta.url);
  const Sqlite = require('better-sqlite3') as typeof Database;
  ensurePrivateDir(dirname(file));
  // Made 0600 before SQLite opens it, which would create it 0644 (under the usual umask).
  touchPrivateFile(file);
  // timeout 0: no busy handler; waiting is this module's (asynchronous) business.
  return new Sqlite(file, { timeout: 0 });
}

function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN EXCLUSIVE');
    return true;
  } catch (error) {
    if (error instanceof Error && /locked|busy/i.test(error.message)) return false;
    throw error;
  }
}
