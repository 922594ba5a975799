import { createServer } from 'node:net';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import { publishedHostPorts } from '../../src/workspace/preview-ports.js';
import { engineEnv } from './engines.js';

let cached: OciRuntime[] | undefined;
/** One runtime per engine for the whole test process (their idle API sockets do not hold it open). */
function engines(): OciRuntime[] {
  cached ??= (['docker', 'podman'] as const).map((kind) => new OciRuntime(kind, { env: engineEnv() }));
  return cached;
}

/**
 * The host ports the test engines' containers publish (docker's and podman's, any test's). A bind
 * probe alone misses some: rootful podman with netavark publishes a port as an nftables DNAT rule
 * with no host socket, and loopback traffic to it then goes to that container. One API list call per
 * engine; an engine that does not answer adds nothing.
 */
export async function enginePublishedPorts(): Promise<Set<number>> {
  const sets = await Promise.all(
    engines().map(async (runtime) => {
      try {
        return (await runtime.apiSocket()) === null ? new Set<number>() : await publishedHostPorts(runtime);
      } catch {
        return new Set<number>();
      }
    }),
  );
  return new Set(sets.flatMap((s) => [...s]));
}

/** A loopback port that is free now (the OS picks it; it is released before this returns) and no engine publishes. */
export async function freePort(): Promise<number> {
  const taken = await enginePublishedPorts();
  const held: ReturnType<typeof createServer>[] = [];
  try {
    for (;;) {
      const server = createServer();
      held.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      // Held while we look on, so the OS offers another one.
      if (!taken.has(address.port)) return address.port;
    }
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
