import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectDaemon, type BerthClient } from '../../src/client/index.js';
import { runStreaming } from '../../src/process/index.js';
import { waitFor } from './wait-for.js';

export const BERTHD_BIN = join(import.meta.dirname, '../../dist/cli/berthd.js');

export interface RunningDaemon {
  pid: number;
  /** The unix-socket client (no token needed). */
  client: BerthClient;
  /** `http://127.0.0.1:PORT` when started with --http. */
  http: string | null;
  /** Everything the daemon wrote to stderr so far. */
  stderr: () => string;
  /** Resolves when the process ends, with its exit code (null after a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit. */
  stop: () => Promise<number | null>;
}

/**
 * Starts the built `berthd` on a state folder and waits until its socket answers. The process
 * is a real separate daemon, as a user runs it; tests kill it by its own pid only.
 */
export async function startDaemon(home: string, env: NodeJS.ProcessEnv, args: string[] = [], options: { umask?: string; berthd?: string } = {}): Promise<RunningDaemon> {
  const berthd = options.berthd ?? BERTHD_BIN;
  if (!existsSync(berthd)) throw new Error(`${berthd} is missing: run \`npm run build\` first (scripts/test.sh does).`);
  let stderr = '';
  // A umask is the shell's to set: node cannot give a child one of its own.
  const argv = [process.execPath, berthd, ...args];
  const exited = runStreaming(options.umask === undefined ? argv : ['sh', '-c', `umask ${options.umask} && exec "$@"`, 'sh', ...argv], {
    env: { ...env, BERTH_HOME: home },
    timeoutMs: Infinity,
    okExitCodes: 'any',
    onStderr: (chunk) => (stderr += chunk.toString('utf8')),
  }).then(
    (result) => result.exitCode,
    () => null,
  );
  let ended = false;
  void exited.then(() => (ended = true));
  // The daemon's own exit ends the wait at once: the condition answers 'ended' instead of polling on.
  const answered = await waitFor(
    async () => {
      if (ended) return 'ended' as const;
      const client = await connectDaemon({ home });
      const health = client ? await client.health().catch(() => null) : null;
      return client && health && health.pid > 0 ? { client, health } : null;
    },
    { timeout: 30_000, message: 'berthd to answer on its socket' },
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${stderr}`);
  });
  if (answered === 'ended') throw new Error(`berthd exited before answering:\n${stderr}`);
  const { client, health } = answered;
  const pid = health.pid;
  return {
    pid,
    client,
    http: health.http,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (!ended) process.kill(pid, 'SIGTERM');
      return exited;
    },
  };
}

export { freePort } from './free-port.js';
