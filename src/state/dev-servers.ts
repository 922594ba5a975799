import { Repository } from './repository.js';

/** starting: launched, not listening yet. running: listening, URL known. exited: ended with 0. crashed: ended otherwise. stopped: by Berth. */
export type DevServerState = 'starting' | 'running' | 'exited' | 'crashed' | 'stopped';

/** One registered dev server; its id is `<workspace>/<name>`. */
export interface DevServer {
  workspace: string;
  name: string;
  command: string[];
  /** Inside the workspace (absolute, under /workspace unless the user chose otherwise). */
  cwd: string;
  env: Record<string, string>;
  /** The port the user named (detection skipped, still verified), or null. */
  port: number | null;
  /** The process group (its leader's pid) inside the workspace. */
  pgid: number | null;
  state: DevServerState;
  url: string | null;
  detectedPort: number | null;
  /** The bridge forwarding a loopback-only server (or a preview-pool slot) to where the host reaches it. */
  bridgePgid: number | null;
  /** The preview-pool slot the bridge listens on, when the workspace has a pool. */
  bridgeSlot: number | null;
  exitCode: number | null;
  startedAt: string | null;
  restarts: number;
}

/** The `dev_servers` table: each workspace's registered dev servers and their last known process state. */
export interface DevServerStore {
  /** Registered dev servers, of one workspace or all, in registration order. */
  devServers(workspace?: string): DevServer[];
  putDevServer(server: DevServer): void;
  deleteDevServer(workspace: string, name: string): void;
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

export class DevServerRepository extends Repository implements DevServerStore {
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

  deleteDevServer(workspace: string, name: string): void {
    this.db.prepare('DELETE FROM dev_servers WHERE workspace = ? AND name = ?').run(workspace, name);
  }

  /** The workspace's dev servers lose their env values (`Store.forgetSecrets`, with the other tables' part). */
  forgetEnv(workspace: string): void {
    this.db.prepare(`UPDATE dev_servers SET env_json = '{}' WHERE workspace = ?`).run(workspace);
  }
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
