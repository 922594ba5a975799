import type Database from 'better-sqlite3';

/** One table's statements over the Store's one connection (so a Store transaction spans them all). */
export abstract class Repository {
  protected readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }
}
