import { connect } from 'node:net';
import type { DevServer } from './types.js';

const CONNECT_TIMEOUT_MS = 1000;

/** Whether every server is running at a URL of its own and accepts a TCP connection there now. */
export async function allAnswer(servers: readonly DevServer[]): Promise<boolean> {
  const addresses: { host: string; port: number }[] = [];
  for (const server of servers) {
    const address = directAddress(server);
    if (address === null) return false;
    addresses.push(address);
  }
  const results = await Promise.all(addresses.map((address) => tcpProbe(address.host, address.port, CONNECT_TIMEOUT_MS)));
  return results.every((result) => result.ok);
}

/** What one engine list says of a workspace's container: enough to trust a connect to its address. */
export interface ContainerSighting {
  running: boolean;
  /** Its address as the engine reports it (null: host mode, or no network). */
  ip: string | null;
}

/**
 * Whether a connect to the server's URL reaches the workspace the sighting is of: its container is
 * running and the URL names its address (an address the engine may since have handed to another
 * container, were this one gone), or, where the workspace has no address of its own (host mode, a
 * relay), a loopback one.
 */
export function reachesWorkspace(server: DevServer, sighting: ContainerSighting | undefined): boolean {
  const address = directAddress(server);
  if (address === null || sighting === undefined || !sighting.running) return false;
  return sighting.ip !== null ? address.host === sighting.ip : isLoopbackHost(address.host);
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Running at a URL of its own, not behind a bridge (which keeps listening after its server dies). */
export function hasOwnUrl(server: DevServer): boolean {
  return directAddress(server) !== null;
}

function directAddress(server: DevServer): { host: string; port: number } | null {
  if (server.state !== 'running' || server.url === null || server.bridgePgid !== null) return null;
  try {
    const url = new URL(server.url);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return null;
  }
}

/**
 * Whether host:port accepts a TCP connection within the timeout; never throws. Here, beside the
 * dev servers' liveness check, because the orchestrator's health probes (`tcp`) use it too and the
 * orchestrator sits above this folder.
 */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.once('timeout', () => socket.destroy(new Error(`timed out after ${String(timeoutMs)} ms`)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, detail: error.code === 'ECONNREFUSED' ? 'connection refused' : error.message }));
  });
}
