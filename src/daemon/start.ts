import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectDaemon, type BerthClient, type Health } from '../client/index.js';
import { berthHome } from '../config.js';
import { BerthError } from '../errors.js';
import { spawnDetached } from '../process/index.js';
import { withFileLock, lockPaths } from '../state/file-lock.js';

export interface StartDaemonOptions {
  /** State folder; default `$BERTH_HOME`, else `~/.berth`. */
  home?: string | undefined;
  /** The runtime it serves (`--runtime`); default: its own selection. */
  runtime?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /**
   * Seconds with nothing to serve (no egress workspace, no live dev server) before it exits by
   * itself. Default `BERTH_DAEMON_IDLE`, else 300; 0 keeps it running until stopped.
   */
  idleSeconds?: number | undefined;
  /** How long to wait for it to answer. Default 20 s. */
  timeoutMs?: number | undefined;
  /** The berthd script to run; default the one installed beside this module. */
  berthd?: string | undefined;
}

export interface StartedDaemon {
  client: BerthClient;
  health: Health;
  /** False when one was already running for this home. */
  started: boolean;
  /** Where an on-demand daemon writes its output. */
  log: string;
}

const DEFAULT_IDLE_SECONDS = 300;

/**
 * The daemon of this home, started in the background when none answers: `berthd --on-demand`,
 * detached in its own session, output appended to `$BERTH_HOME/daemon.log`. One per home: the
 * start itself is serialised by a lock, and the daemon's own lock refuses a second. Runs under
 * Electron too (its binary as node, with ELECTRON_RUN_AS_NODE=1).
 */
export async function startDaemon(options: StartDaemonOptions = {}): Promise<StartedDaemon> {
  const env = options.env ?? process.env;
  const home = options.home ?? berthHome(env);
  const log = join(home, 'daemon.log');
  const running = await answering(home);
  if (running) return { ...running, started: false, log };
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // Many CLI calls may want the daemon at once: the first starts it, the others find it.
  return withFileLock(lockPaths.daemonStart(home), { role: 'daemon start', waitMs: 60_000 }, async () => {
    const already = await answering(home);
    if (already) return { ...already, started: false, log };
    const script = options.berthd ?? berthdPath();
    const idle = options.idleSeconds ?? idleFromEnv(env) ?? DEFAULT_IDLE_SECONDS;
    const argv = [process.execPath, script, '--on-demand', '--idle-timeout', String(idle), ...(options.runtime ? ['--runtime', options.runtime] : [])];
    const childEnv: NodeJS.ProcessEnv = { ...env, BERTH_HOME: home, ...(process.versions['electron'] ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
    const pid = await spawnDetached(argv, { env: childEnv, cwd: home, logFile: log });
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
      const up = await answering(home);
      if (up) return { ...up, started: true, log };
      if (!processAlive(pid) || Date.now() > deadline) {
        throw new BerthError('E_RUNTIME_FAILED', `The Berth daemon (pid ${String(pid)}) ${processAlive(pid) ? 'did not answer in time' : 'exited while starting'}: ${logTail(log)}`, {
          hint: `Its log is ${log}. Run \`berth daemon\` in a terminal to see it start, or set BERTH_NO_DAEMON=1 and serve egress with \`berth egress serve\`.`,
        });
      }
      await sleep(delay);
    }
  });
}

/** Where berthd lives beside this module: dist/cli/berthd.js (and under Electron, inside the app). */
export function berthdPath(): string {
  const path = fileURLToPath(new URL('../cli/berthd.js', import.meta.url));
  if (!existsSync(path)) {
    throw new BerthError('E_NOT_FOUND', `berthd is not at ${path}.`, { hint: 'Pass its path as `berthd` to startDaemon(), or start the daemon yourself (`berth daemon`).' });
  }
  return path;
}

/** BERTH_DAEMON_IDLE in seconds (0: never idle out). */
export function idleFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = env['BERTH_DAEMON_IDLE'];
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!(Number.isFinite(seconds) && seconds >= 0)) {
    throw new BerthError('E_INVALID_INPUT', `BERTH_DAEMON_IDLE takes a number of seconds, got ${JSON.stringify(value)}.`, { hint: 'For example BERTH_DAEMON_IDLE=600, or 0 to keep it running until `berth daemon stop`.' });
  }
  return seconds;
}

/** The home's daemon when one answers on its socket, with what it says of itself. */
export async function answering(home: string): Promise<{ client: BerthClient; health: Health } | null> {
  const client = await connectDaemon({ home });
  const health = client ? await client.health().catch(() => null) : null;
  return client && health ? { client, health } : null;
}

/**
 * Whether a process still runs. One that ended but was not reaped yet (a zombie: its parent is gone
 * and init has not collected it) still answers kill(pid, 0); on Linux its stat says Z.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  } catch {
    return process.platform !== 'linux';
  }
  return !/^\d+ \(.*\) Z/s.test(stat);
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-5).join('\n') || '(nothing logged)';
  } catch {
    return '(no log)';
  }
}
