import { join } from 'node:path';

/** Where a daemon of one `$BERTH_HOME` keeps its lock, socket, pid and token. */
export interface DaemonPaths {
  /** A SQLite file whose exclusive lock the daemon holds for its whole life. */
  lock: string;
  /** The API's unix socket (mode 0600). */
  socket: string;
  /** Informational: the running daemon's pid and addresses (the lock decides, not this file). */
  pidFile: string;
  /** The bearer token the loopback TCP listener requires (mode 0600). */
  token: string;
}

export function daemonPaths(home: string): DaemonPaths {
  return {
    lock: join(home, 'daemon.lock'),
    socket: join(home, 'berth.sock'),
    pidFile: join(home, 'daemon.json'),
    token: join(home, 'daemon.token'),
  };
}
