import { tcpProbe } from '../orchestrator/probes.js';
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
