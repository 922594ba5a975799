/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append only:
 * never edit a migration that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    runtime TEXT NOT NULL,
    name TEXT NOT NULL,
    resource_id TEXT,
    workspace TEXT,
    spec_hash TEXT,
    spec_json TEXT,
    created_at TEXT NOT NULL,
    removed_at TEXT
  );
  CREATE INDEX ledger_active ON ledger (runtime, kind, name) WHERE removed_at IS NULL;
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    type TEXT NOT NULL,
    level TEXT NOT NULL,
    workspace TEXT,
    message TEXT NOT NULL,
    data_json TEXT
  );
  CREATE INDEX events_workspace ON events (workspace, seq);
  `,
];
