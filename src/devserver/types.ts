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

/** Starting or running: its processes should exist. */
export function isLive(server: DevServer): boolean {
  return server.state === 'starting' || server.state === 'running';
}

/** The record of a server whose processes are gone because Berth ended them. */
export function stoppedRecord(server: DevServer): DevServer {
  return { ...server, state: 'stopped', url: null, pgid: null, bridgePgid: null, bridgeSlot: null };
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function isValidDevServerName(name: string): boolean {
  return NAME.test(name);
}
