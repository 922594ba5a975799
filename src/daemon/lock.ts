import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { BerthError } from '../errors.js';
import { ensurePrivateHome, touchPrivateFile } from '../state/private-files.js';

/**
 * One daemon per `$BERTH_HOME`, by a kernel lock: the daemon opens `daemon.lock` (a SQLite file)
 * and holds an exclusive transaction on it for its whole life. SQLite takes an fcntl lock, which
 * the kernel drops when the process ends in any way (kill -9 included), so a crashed daemon never
 * leaves the lock stuck, and two daemons starting at once cannot both win (no check-then-act race).
 * A pid file checked for liveness can do neither: a pid is reused, and "dead, so remove the file"
 * races with the next starter.
 */
export class DaemonLock {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  /** Takes the lock, or fails with E_CONFLICT naming the daemon that holds it. */
  static acquire(file: string, describeHolder: () => string): DaemonLock {
    const require = createRequire(import.meta.url);
    const Sqlite = require('better-sqlite3') as typeof Database;
    ensurePrivateHome(dirname(file));
    touchPrivateFile(file);
    const db = new Sqlite(file, { timeout: 0 });
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (error) {
      db.close();
      if (error instanceof Error && /locked|busy/i.test(error.message)) {
        throw new BerthError('E_CONFLICT', `A Berth daemon already runs for this state folder (${describeHolder()}).`, {
          hint: 'Use that one (the CLI finds it by itself), or stop it with `kill <pid>` first; one daemon per $BERTH_HOME.',
        });
      }
      throw error;
    }
    return new DaemonLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}

/** The holder as its pid file describes it, for the conflict message. */
export function describePidFile(file: string): string {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; socket?: string };
    return `pid ${String(info.pid ?? '?')}, socket ${info.socket ?? '?'}`;
  } catch {
    return 'it is still starting';
  }
}
