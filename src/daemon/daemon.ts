import { readFileSync, rmSync } from 'node:fs';
import { createBerth, type Berth } from '../berth.js';
import { BerthError, isErrno } from '../errors.js';
import { ensurePrivateHome, writePrivateFile } from '../state/private-files.js';
import { isLive } from '../devserver/types.js';
import { IdleWatch } from './idle.js';
import { acceptStreams, loopbackApi, socketApi } from './api.js';
import { PtySessions } from './pty-sessions.js';
import { McpHttpSessions } from '../mcp/http-sessions.js';
import { EventFeed } from './event-feed.js';
import { ListingCache, listingFreshMsFromEnv } from './listing-cache.js';
import type { ApiDeps } from './http/routes.js';
import { closeServer, listenOnLoopback, listenOnSocket } from './listeners.js';
import { LivenessLoop } from './liveness.js';
import { DaemonLock, describePidFile } from './lock.js';
import { FileLock, describeHolder, lockPaths } from '../state/file-lock.js';
import { daemonPaths, type DaemonPaths } from './paths.js';
import { createReconciler } from './reconcile-seam.js';
import { loadOrCreateToken } from './token.js';
import { dashboardLink } from './dashboard.js';
import { RUNTIME_KINDS, type RuntimeKind } from '../runtime/kinds.js';

export interface DaemonOptions {
  home: string;
  runtime?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Loopback TCP listener for the dashboard and remote-less clients: `127.0.0.1:PORT` (0 picks one). */
  http?: { host: string; port: number } | undefined;
  /** A berth.yaml the daemon keeps the workspaces matching. */
  manifest?: string | undefined;
  livenessMs?: number | undefined;
  reconcileMs?: number | undefined;
  /** Workspaces the reconcile loop fixes at once (default from the cores and the memory budget). */
  concurrency?: number | undefined;
  /** Started by a command that needed it (the CLI, startDaemon()), not by a person or service manager. */
  onDemand?: boolean | undefined;
  /** Exit (resolve `idle`) after this long with nothing to serve; undefined or 0: never. */
  idleMs?: number | undefined;
}

/** Where a running daemon answers; also written to `$BERTH_HOME/daemon.json` for `berth daemon status`. */
export interface DaemonInfo {
  pid: number;
  version: string;
  startedAt: string;
  /** The default runtime: where new workspaces go unless they name one (what older clients read). */
  runtime: string;
  /**
   * Every runtime it serves: workspaces on each are served on the runtime they live on, the
   * runtime connected when one of them is first addressed (`GET /health` says how each stands).
   */
  runtimes: RuntimeKind[];
  socket: string;
  /** `http://127.0.0.1:PORT`, when the loopback listener is on. */
  http: string | null;
  /** Started on demand by a command, and so ends by itself when idle. */
  onDemand: boolean;
  /** Seconds with nothing to serve before it ends by itself (null: never). */
  idleSeconds: number | null;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * berthd: one long-lived process per `$BERTH_HOME` that owns the egress proxy, dev-server liveness
 * and the reconcile loop, and answers the API on a unix socket (and optionally loopback TCP).
 * It keeps no state of its own: everything is in SQLite and the engines, so a restart (even after
 * kill -9) picks up where the last one was. Stopping it closes its listeners and leaves workspaces
 * and dev servers running.
 */
export class Daemon {
  readonly info: DaemonInfo;
  readonly token: string;
  readonly paths: DaemonPaths;
  private readonly berth: Berth;
  private readonly stopParts: (() => Promise<void> | void)[];
  private stopping: Promise<void> | undefined;
  /** Resolves when the daemon has had nothing to serve for its idle period (never without one). */
  readonly idle: Promise<void>;

  private constructor(parts: { info: DaemonInfo; token: string; paths: DaemonPaths; berth: Berth; stopParts: (() => Promise<void> | void)[]; idle: Promise<void> }) {
    this.idle = parts.idle;
    this.info = parts.info;
    this.token = parts.token;
    this.paths = parts.paths;
    this.berth = parts.berth;
    this.stopParts = parts.stopParts;
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    if (options.http && !LOOPBACK.has(options.http.host)) {
      throw new BerthError('E_INVALID_INPUT', `--http must be a loopback address, got ${options.http.host}.`, { hint: 'Use --http 127.0.0.1:7777; the API is for this machine only.' });
    }
    const paths = daemonPaths(options.home);
    ensurePrivateHome(options.home);
    const lock = DaemonLock.acquire(paths.lock, () => describePidFile(paths.pidFile));
    const cleanup: (() => Promise<void> | void)[] = [() => lock.release()];
    try {
      const berth = await createBerth({ home: options.home, runtime: options.runtime, env: options.env });
      cleanup.unshift(() => berth.close());
      // Served through Berth, so its up and egress changes return once the proxy applies them.
      const egress = await berth.serveEgress();
      cleanup.unshift(() => egress.close());
      const feed = new EventFeed(berth.store.events);
      cleanup.unshift(() => feed.close());
      const liveness = new LivenessLoop({ dev: berth.dev, registry: berth.store.devServers, emit: (event) => berth.record(event), intervalMs: options.livenessMs ?? 10_000 });
      liveness.start();
      cleanup.unshift(() => liveness.stop());
      const token = loadOrCreateToken(paths.token);
      const idleMs = options.idleMs ?? 0;
      const info: DaemonInfo = {
        pid: process.pid,
        version: packageVersion(),
        startedAt: new Date().toISOString(),
        runtime: berth.runtime.kind,
        runtimes: [...RUNTIME_KINDS],
        socket: paths.socket,
        http: null,
        onDemand: options.onDemand ?? false,
        idleSeconds: idleMs > 0 ? idleMs / 1000 : null,
      };
      const ptys = new PtySessions((workspace, options) => berth.pty(workspace, options));
      cleanup.unshift(() => ptys.closeAll());
      const deps: ApiDeps = {
        berth,
        listing: new ListingCache({ observe: () => berth.list(), changeStamp: () => berth.store.changeStamp(), freshMs: listingFreshMsFromEnv(options.env ?? process.env) }),
        feed,
        egress,
        about: info,
        exec: async (workspace, argv, options) => {
          const { exitCode, durationMs } = await berth.exec(workspace, argv, { ...options, encoding: 'buffer' });
          return { exitCode, durationMs };
        },
        ptys,
        // The MCP server's modules load with the first session, not with the daemon.
        mcp: new McpHttpSessions(async (workspace) => (await import('../mcp/servable.js')).serveWorkspace(berth, workspace, { version: info.version, how: 'http' })),
      };
      cleanup.unshift(() => deps.mcp?.closeAll());
      const watch =
        idleMs > 0 && !options.manifest
          ? new IdleWatch({ idleMs, busy: () => berth.store.egress.egress().length > 0 || berth.store.devServers.devServers().some(isLive) })
          : null;
      const api = socketApi(deps);
      const socket = await listenOnSocket(paths.socket, (req, res) => {
        // Work keeps it alive; someone asking whether it runs (status, a CLI looking for it) does not.
        if (req.url !== '/health') watch?.touch();
        api(req, res);
      });
      cleanup.unshift(() => closeServer(socket).then(() => rmSync(paths.socket, { force: true })));
      cleanup.unshift(acceptStreams(socket, deps));
      if (options.http) {
        let port = options.http.port;
        const loopback = await listenOnLoopback(options.http.host, port, loopbackApi(deps, token, () => port));
        port = loopback.port;
        cleanup.unshift(acceptStreams(loopback.server, deps, { token, port: () => port }));
        info.http = `http://${options.http.host === '::1' ? '[::1]' : options.http.host}:${String(port)}`;
        cleanup.unshift(() => closeServer(loopback.server));
      }

      // The one place the daemon touches reconciling: started once it answers, stopped before its listeners close.
      if (options.manifest) {
        // One reconciler per home: `berth apply`/`reconcile` are refused while this daemon lives.
        const held = await FileLock.acquire(lockPaths.reconciler(options.home), {
          role: 'daemon',
          detail: `reconciling ${options.manifest}`,
          onWait: (holder) => process.stderr.write(`berth daemon: waiting for the reconciler already running (${describeHolder(holder)})\n`),
        });
        cleanup.unshift(() => held.release());
        const reconciler = createReconciler(berth, { manifest: options.manifest, intervalMs: options.reconcileMs ?? 30_000, home: options.home, env: options.env, concurrency: options.concurrency });
        reconciler.start();
        cleanup.unshift(() => reconciler.stop());
      }

      if (watch) {
        watch.start();
        cleanup.unshift(() => watch.stop());
      }

      writePrivateFile(paths.pidFile, `${JSON.stringify(info, null, 2)}\n`);
      cleanup.unshift(() => rmSync(paths.pidFile, { force: true }));
      berth.record({ type: 'daemon.started', message: `Daemon ${String(process.pid)} serving ${[paths.socket, info.http].filter(Boolean).join(' and ')}; new workspaces on ${berth.runtime.kind}, existing ones on their own runtime.`, data: { ...info } });
      return new Daemon({ info, token, paths, berth, stopParts: cleanup, idle: watch?.idle ?? new Promise<void>(() => undefined) });
    } catch (error) {
      await runAll(cleanup);
      throw error;
    }
  }

  /** The dashboard link, token included: for this user's eyes only (printed on a terminal, never logged). */
  dashboardUrl(): string | null {
    return this.info.http === null ? null : dashboardLink(this.info.http, this.token);
  }

  /** Closes the listeners and loops, releases the lock; workspaces and dev servers keep running. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.berth.record({ type: 'daemon.stopped', message: `Daemon ${String(process.pid)} stopped; workspaces keep running.` });
      await runAll(this.stopParts);
    })();
    return this.stopping;
  }
}

/** The running daemon's record, or null when none runs (the file is removed on a clean stop). */
export function readDaemonInfo(home: string): DaemonInfo | null {
  try {
    return JSON.parse(readFileSync(daemonPaths(home).pidFile, 'utf8')) as DaemonInfo;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null;
    throw error;
  }
}

async function runAll(parts: (() => Promise<void> | void)[]): Promise<void> {
  for (const part of parts) {
    try {
      await part();
    } catch (error) {
      process.stderr.write(`berth daemon: while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
