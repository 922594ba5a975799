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
  `
  CREATE TABLE dev_servers (
    workspace TEXT NOT NULL,
    name TEXT NOT NULL,
    command_json TEXT NOT NULL,
    cwd TEXT NOT NULL,
    env_json TEXT NOT NULL,
    port INTEGER,
    pgid INTEGER,
    state TEXT NOT NULL,
    url TEXT,
    detected_port INTEGER,
    bridge_pgid INTEGER,
    bridge_slot INTEGER,
    exit_code INTEGER,
    started_at TEXT,
    restarts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, name)
  );
  `,
  `
  CREATE TABLE egress (
    workspace TEXT PRIMARY KEY,
    runtime TEXT NOT NULL,
    token TEXT NOT NULL,
    allow_json TEXT NOT NULL,
    deny_json TEXT NOT NULL,
    network TEXT,
    bridge TEXT,
    proxy_host TEXT NOT NULL,
    proxy_port INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE declared (
    workspace TEXT PRIMARY KEY,
    manifest TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE supervision (
    workspace TEXT NOT NULL,
    server TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    restarts INTEGER NOT NULL DEFAULT 0,
    health TEXT NOT NULL DEFAULT 'unknown',
    probe_failures INTEGER NOT NULL DEFAULT 0,
    last_probe_at TEXT,
    held INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace, server)
  );
  `,
  `
  CREATE TABLE egress_requests (
    id TEXT NOT NULL,
    workspace TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_at TEXT,
    PRIMARY KEY (workspace, id)
  );
  `,
  // devcontainer lifecycle hooks that finished, per container (the engine's id): the create hooks
  // run once per container. Here, not in the container, where the workspace could delete them.
  `
  CREATE TABLE devcontainer_hooks (
    workspace TEXT NOT NULL,
    container_id TEXT NOT NULL,
    hook TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (workspace, container_id, hook)
  );
  `,
];
