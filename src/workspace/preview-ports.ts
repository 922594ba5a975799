import { createServer, type Server } from 'node:net';
import type { PublishedPort, Runtime } from '../runtime/types.js';

/** Inside the container, the pool listens from here up; dev servers are bridged onto these ports. */
export const PREVIEW_CONTAINER_PORT_BASE = 41000;

/** Apple cannot publish ports after create; elsewhere the container IP is reachable, so none by default. */
export const APPLE_DEFAULT_PREVIEW_PORTS = 8;
export const MAX_PREVIEW_PORTS = 64;

/**
 * A port handed out here stays out of later allocations in this process this long: time enough for
 * the create that publishes it (parallel apply allocates for several workspaces at once, and a port
 * just released is free to the OS again before its container holds it).
 */
const RESERVED_MS = 120_000;
/** Ports the OS offered that were taken anyway, before giving up: a machine that full has no preview to give. */
const MAX_REFUSALS = 512;
const reserved = new Map<number, number>();

/**
 * Publishes `count` loopback ports for dev-server previews: free host ports (asked of the OS by
 * binding port 0) mapped to PREVIEW_CONTAINER_PORT_BASE and up. Loopback only: a preview is for
 * this machine, never the network.
 *
 * `taken`: ports an engine already publishes. A bind probe cannot see them all: rootful podman with
 * netavark (4.x) publishes a port as an nftables DNAT rule with no host socket, so the port binds
 * fine here while 127.0.0.1 traffic to it goes to that other container.
 */
export async function allocatePreviewPorts(count: number, taken: ReadonlySet<number> = new Set(), options: { offer?: () => Promise<OfferedPort>; now?: number } = {}): Promise<PublishedPort[]> {
  const now = options.now ?? Date.now();
  const offer = options.offer ?? offerLoopbackPort;
  for (const [port, until] of reserved) if (until <= now) reserved.delete(port);
  const held: OfferedPort[] = [];
  try {
    const hostPorts: number[] = [];
    let refusals = 0;
    while (hostPorts.length < count) {
      const offered = await offer();
      // Kept bound either way, so the OS offers another next time.
      held.push(offered);
      if (taken.has(offered.port) || reserved.has(offered.port)) {
        if (++refusals > MAX_REFUSALS) throw new Error(`no free loopback port for previews: ${String(refusals)} offered by the OS were already published`);
        continue;
      }
      hostPorts.push(offered.port);
    }
    for (const port of hostPorts) reserved.set(port, now + RESERVED_MS);
    return hostPorts.map((hostPort, i) => ({ hostAddress: '127.0.0.1', hostPort, containerPort: PREVIEW_CONTAINER_PORT_BASE + i, protocol: 'tcp' }));
  } finally {
    // Held until every port is chosen, so the OS never hands out the same one twice.
    await Promise.all(held.map((p) => p.release()));
  }
}

/**
 * Whether a create failed because a published host port was taken between allocation and create
 * (another process, or another engine, bound it meanwhile): then a create with fresh ports can
 * succeed. The texts: podman/netavark and the Apple double "bind: address already in use"; docker
 * "port is already allocated"; Apple's SocketForwarder binds with SwiftNIO, whose IOError reads
 * "Address already in use (errno: 48)" (Sources/SocketForwarder/TCPForwarder.swift@1.2.2 l.66).
 */
export function isHostPortTaken(error: unknown): boolean {
  // The adapters put the engine's own text in the message (BerthError 'podman failed: ...').
  const text = error instanceof Error ? error.message : String(error);
  return /address already in use|port is already allocated/i.test(text);
}

/** A port the OS offered, bound until released. */
export interface OfferedPort {
  port: number;
  release: () => Promise<void>;
}

/** Binds port 0 on loopback: the OS's choice of a port no socket holds. */
async function offerLoopbackPort(): Promise<OfferedPort> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const release = (): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    await release();
    throw new Error('no port from the OS');
  }
  return { port: address.port, release };
}

/**
 * The host ports the runtime's containers publish (running or not: a stopped one takes its ports
 * back when it starts), from one list call (`listBrief`: one engine API call on docker and podman).
 */
export async function publishedHostPorts(runtime: Pick<Runtime, 'list' | 'listBrief'>): Promise<Set<number>> {
  const containers = runtime.listBrief ? await runtime.listBrief() : await runtime.list();
  return new Set(containers.flatMap((c) => c.ports.map((p) => p.hostPort)));
}
