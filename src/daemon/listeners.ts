import { chmodSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, isErrno } from '../errors.js';

/**
 * Listens on the unix socket, created 0600 from the start (umask while binding; chmod after, for
 * platforms that ignore it). The caller holds the daemon lock, so a socket file still there is a
 * crashed daemon's: removed.
 */
export async function listenOnSocket(path: string, handler: RequestListener): Promise<Server> {
  const server = createServer(handler);
  rmSync(path, { force: true });
  const umask = process.umask(0o177);
  try {
    await listen(server, (done) => server.listen(path, done));
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  return server;
}

/** Listens on a loopback address; port 0 picks a free one. Returns the server and the port it got. */
export async function listenOnLoopback(host: string, port: number, handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  try {
    await listen(server, (done) => server.listen(port, host, done));
  } catch (error) {
    if (isErrno(error, 'EADDRINUSE')) {
      throw new BerthError('E_CONFLICT', `Cannot listen on ${host}:${String(port)}: the port is taken.`, { hint: 'Choose another port with --http 127.0.0.1:PORT (0 picks a free one).' });
    }
    throw error;
  }
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops accepting, and ends open connections (SSE streams never end by themselves). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function listen(server: Server, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    start(() => {
      server.off('error', reject);
      resolve();
    });
  });
}
