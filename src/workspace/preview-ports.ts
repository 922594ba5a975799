import { createServer, type Server } from 'node:net';
import type { PublishedPort } from '../runtime/types.js';

/** Inside the container, the pool listens from here up; dev servers are bridged onto these ports. */
export const PREVIEW_CONTAINER_PORT_BASE = 41000;

/** Apple cannot publish ports after create; elsewhere the container IP is reachable, so none by default. */
export const APPLE_DEFAULT_PREVIEW_PORTS = 8;
export const MAX_PREVIEW_PORTS = 64;

/**
 * Publishes `count` loopback ports for dev-server previews: free host ports (asked of the OS by
 * binding port 0) mapped to PREVIEW_CONTAINER_PORT_BASE and up. Loopback only: a preview is for
 * this machine, never the network.
 */
export async function allocatePreviewPorts(count: number): Promise<PublishedPort[]> {
  const servers: Server[] = [];
  try {
    const hostPorts: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port from the OS');
      hostPorts.push(address.port);
    }
    return hostPorts.map((hostPort, i) => ({ hostAddress: '127.0.0.1', hostPort, containerPort: PREVIEW_CONTAINER_PORT_BASE + i, protocol: 'tcp' }));
  } finally {
    // Held until every port is chosen, so the OS never hands out the same one twice.
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
