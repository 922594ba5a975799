/** The record types live with the table that stores them (state/ sits below devserver/). */
export type { DevServer, DevServerState } from '../state/dev-servers.js';
import type { DevServer } from '../state/dev-servers.js';

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
