import { createConnection, createServer, type Socket } from 'node:net';

/** A unix socket in front of an engine's API socket that passes every byte on and notes each request line. */
export interface CountingSocket {
  path: string;
  /** Every request line so far (`GET /v1.41/containers/json?... HTTP/1.1`), in order. */
  requests: string[];
  close: () => Promise<void>;
}

const REQUEST_LINE = /^(?:GET|HEAD|POST|PUT|DELETE|PATCH) \S+ HTTP\/1\.[01]$/;

/**
 * Listens on `path` and relays each connection to `target` (the engine's socket), both ways, byte
 * for byte; a daemon pointed at it (BERTH_DOCKER_API / BERTH_PODMAN_API) works as before while the
 * test counts the engine calls it makes. HTTP/1.1 keeps connections open, so request lines are
 * found in the client's byte stream, line by line, across chunk boundaries.
 */
export async function countingSocket(path: string, target: string): Promise<CountingSocket> {
  const requests: string[] = [];
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const engine = createConnection(target);
    open.add(client).add(engine);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      const lines = pending.split('\r\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (REQUEST_LINE.test(line)) requests.push(line);
      // Bodies are JSON without line breaks, or bytes no request line resembles; keep the tail short.
      if (pending.length > 4096) pending = pending.slice(-4096);
    });
    client.pipe(engine).pipe(client);
    const end = (): void => {
      client.destroy();
      engine.destroy();
      open.delete(client);
      open.delete(engine);
    };
    client.on('error', end).on('close', end);
    engine.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
  return {
    path,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
