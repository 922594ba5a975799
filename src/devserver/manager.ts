import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import type { ExecOptions, ExecResult, PublishedPort, Runtime } from '../runtime/types.js';
import type { DevServerStore } from '../state/dev-servers.js';
import type { SupervisionStore } from '../state/supervision.js';
import { MAX_PREVIEW_PORTS, PREVIEW_CONTAINER_PORT_BASE } from '../workspace/preview-ports.js';
import type { ForwardedPort, ForwardedPortView } from '../workspace/forwarded-ports.js';
import { WORKSPACE_TARGET } from '../workspace/mounts.js';
import { groupAlive, isLoopback, parseScan, portsOfGroup, scanComplete, SCAN_SCRIPT, type Listener, type ScanResult } from './scan.js';
import { BRIDGE_NODE, BRIDGE_PYTHON, BRIDGE_SCRIPT, LAUNCH_SCRIPT, STOP_BRIDGE_SCRIPT, STOP_GROUP_SCRIPT } from './scripts.js';
import { isLive, isValidDevServerName, stoppedRecord, type DevServer } from './types.js';
import { allAnswer, hasOwnUrl, reachesWorkspace, type ContainerSighting } from './answering.js';
import { defaultFanOut, settleBounded } from '../process/bounded.js';

/** Where a workspace's container is and how the host reaches it, looked up once per operation. */
export interface WorkspaceHandle {
  /** The engine address of the workspace's container. */
  target: string;
  ip: string | null;
  /** The preview pool published at create, if any (for dev servers: without the forwarded ports' slots). */
  ports: PublishedPort[];
  /** The slot each forwarded port of a devcontainer owns: its port → the published pool port. */
  forwardSlots?: ReadonlyMap<number, PublishedPort> | undefined;
  /** Put in front of the server's command (the guest-firewall fence, where there is one). */
  fence: readonly string[];
  /** Where logs and exit files live, as paths inside the workspace (or on the host in host mode). */
  stateDir: string;
  /** The runtime the workspace lives on, where one manager serves several (Berth); default the manager's. */
  runtime?: Runtime | undefined;
}

export interface DevServerManagerOptions {
  /** The runtime of workspaces whose handle names none. */
  runtime: Runtime;
  /** Where the servers are registered (the `dev_servers` table). */
  registry: Pick<DevServerStore, 'devServers' | 'putDevServer'>;
  /** Where a stop on request is held, so no restart policy undoes it. */
  supervision: Pick<SupervisionStore, 'setHeld'>;
  resolve: (workspace: string) => Promise<WorkspaceHandle>;
  emit: (event: BerthEventInput) => void;
  /**
   * Runs `work` holding the workspace's lock, as up/stop/rm do (WorkspaceManager.exclusively);
   * `onWait` is told when another caller holds it. Default: no lock.
   */
  exclusively?: (<T>(workspace: string, role: string, work: () => Promise<T>, onWait: () => void) => Promise<T>) | undefined;
  /**
   * The containers of these workspaces as one engine list shows them (per runtime), so a listing can
   * trust a connect to a server's address without an exec in each workspace. A workspace left out
   * is scanned. Default: none (every listing scans).
   */
  sight?: ((workspaces: readonly string[]) => Promise<Map<string, ContainerSighting>>) | undefined;
  /** Where the workspace's root is inside it (a devcontainer's workspaceFolder); default /workspace. */
  folderOf?: ((workspace: string) => string) | undefined;
  /** The ports its devcontainer.json forwards (the record kept with the workspace); default none. */
  forwardedOf?: ((workspace: string) => readonly ForwardedPort[]) | undefined;
}

export interface ListOptions {
  /** Scan every workspace with live servers (one exec each), even where every server answers. */
  full?: boolean | undefined;
}

export interface StartOptions {
  command: string[];
  /** Inside the workspace; relative to its root (/workspace, or a devcontainer's workspaceFolder) unless absolute. */
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
  /** Skip detection: the server listens here (still verified). */
  port?: number | undefined;
  /** Resolve once the server listens (state `running`, with its URL) or ends, not at launch. */
  wait?: boolean | undefined;
}

const SCAN_INTERVAL_MS = 100;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_MS = 3_000;

/**
 * Dev servers in workspaces: started detached in their own process group, found by the ports their
 * group listens on (one exec scans every server of a workspace), given a URL the host can open, kept
 * honest by liveness scans, stopped for real. The registry is SQLite, so any process can pick it up.
 */
export class DevServerManager {
  private readonly runtime: Runtime;
  private readonly registry: DevServerManagerOptions['registry'];
  private readonly supervision: DevServerManagerOptions['supervision'];
  private readonly resolve: DevServerManagerOptions['resolve'];
  private readonly emit: DevServerManagerOptions['emit'];
  private readonly exclusively: NonNullable<DevServerManagerOptions['exclusively']>;
  private readonly sight: DevServerManagerOptions['sight'];
  private readonly folderOf: (workspace: string) => string;
  private readonly forwardedOf: (workspace: string) => readonly ForwardedPort[];

  constructor(options: DevServerManagerOptions) {
    this.runtime = options.runtime;
    this.registry = options.registry;
    this.supervision = options.supervision;
    this.resolve = options.resolve;
    this.emit = options.emit;
    this.exclusively = options.exclusively ?? ((_workspace, _role, work) => work());
    this.sight = options.sight;
    this.folderOf = options.folderOf ?? (() => WORKSPACE_TARGET);
    this.forwardedOf = options.forwardedOf ?? (() => []);
  }

  /** Starts (or replaces a dead) dev server; returns at once in state `starting`. */
  async start(workspace: string, name: string, options: StartOptions): Promise<DevServer> {
    if (!isValidDevServerName(name)) {
      throw new BerthError('E_INVALID_INPUT', `Invalid dev server name ${JSON.stringify(name)}.`, { hint: 'Use lower-case letters, digits, ".", "_" or "-" (e.g. web, api).' });
    }
    if (options.command.length === 0) throw new BerthError('E_INVALID_INPUT', 'A dev server needs a command.', { hint: 'berth dev start <id> <name> -- npm run dev' });
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
      throw new BerthError('E_INVALID_INPUT', `Invalid port ${String(options.port)}.`, { hint: 'Use a port from 1 to 65535.' });
    }
    const existing = this.get(workspace, name);
    if (existing && isLive(existing)) {
      throw new BerthError('E_CONFLICT', `Dev server ${workspace}/${name} is already ${existing.state}.`, { hint: `Restart it with \`berth dev restart ${workspace} ${name}\`, or stop it first.` });
    }
    // Observe→launch holds the workspace's lock, so an `rm` or `stop` cannot land between the
    // inspect and the exec (the engine's raw "no such container" otherwise). Only that: the launch
    // returns once the server is detached (one exec), while waiting for it to listen can take a
    // minute, during which up/stop/rm of the workspace must not queue behind it.
    const server: DevServer = {
      workspace,
      name,
      command: [...options.command],
      cwd: posix.resolve(this.folderOf(workspace), options.cwd ?? '.'),
      env: { ...options.env },
      port: options.port ?? null,
      pgid: null,
      state: 'starting',
      url: null,
      detectedPort: null,
      bridgePgid: null,
      bridgeSlot: null,
      exitCode: null,
      startedAt: null,
      restarts: existing?.restarts ?? 0,
    };
    let waited = false;
    const launch = async (): Promise<DevServer> => this.launch(await this.resolveAfterWait(workspace, name, waited), server);
    const started = await this.exclusively(workspace, `dev start ${name} in`, launch, () => (waited = true));
    return options.wait ? this.waitUntilReady(workspace, name) : started;
  }

  /** The workspace to launch in; gone after waiting for its lock means the holder removed it. */
  private async resolveAfterWait(workspace: string, name: string, waited: boolean): Promise<WorkspaceHandle> {
    try {
      return await this.resolve(workspace);
    } catch (error) {
      if (!waited || !isBerthError(error, 'E_NOT_FOUND')) throw error;
      throw new BerthError('E_NOT_FOUND', `Workspace "${workspace}" was removed while \`dev start ${name}\` waited for it; the dev server was not started.`, {
        hint: `Bring it back with \`berth up ${workspace}\`, then start the dev server again.`,
        cause: error,
      });
    }
  }

  /** Scans until the server listens (→ running, with its URL) or ends; one exec per scan. */
  async waitUntilReady(workspace: string, name: string, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<DevServer> {
    const handle = await this.resolve(workspace);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.refreshWith(workspace, handle);
      const server = this.require(workspace, name);
      if (server.state !== 'starting') return server;
      if (Date.now() > deadline) {
        throw new BerthError('E_RUNTIME_FAILED', `Dev server ${workspace}/${name} did not listen within ${String(Math.round(timeoutMs / 1000))} s.`, {
          hint: `See its output: \`berth dev logs ${workspace} ${name}\`.`,
        });
      }
      await sleep(SCAN_INTERVAL_MS);
    }
  }

  /** Liveness: one scan of the workspace updates every server registered there. */
  async refresh(workspace: string): Promise<DevServer[]> {
    if (!this.registry.devServers(workspace).some(isLive)) return this.registry.devServers(workspace);
    await this.refreshWith(workspace, await this.resolve(workspace));
    return this.registry.devServers(workspace);
  }

  /**
   * Liveness at the lowest cost: no scan while every live server of the workspace is running at a
   * URL of its own and accepts a TCP connect there (a crashed one stops answering, and then this is
   * a scan). Servers behind a bridge are always scanned: the bridge keeps listening after them.
   */
  async confirm(workspace: string): Promise<DevServer[]> {
    const live = this.registry.devServers(workspace).filter(isLive);
    if (live.length > 0 && (await allAnswer(live))) return this.registry.devServers(workspace);
    return this.refresh(workspace);
  }

  /**
   * Every registered server, checked now against the workspaces' real processes. A workspace whose
   * live servers all run at URLs of their own is confirmed without an exec when its container is
   * running at the address those URLs name (one engine list for all of them) and every URL accepts
   * a TCP connect; every other workspace with live servers (one starting, one behind a bridge, one
   * that does not answer, a container gone or moved) is scanned, side by side (bounded). So
   * confirming N workspaces costs one list and N connects, not N execs. `full`: scan them all.
   */
  async list(workspace?: string, options: ListOptions = {}): Promise<DevServer[]> {
    const workspaces = [...new Set(this.registry.devServers(workspace).filter(isLive).map((s) => s.workspace))];
    const answering = options.full === true ? new Set<string>() : await this.answering(workspaces);
    const scanned = workspaces.filter((ws) => !answering.has(ws));
    const outcomes = await settleBounded(scanned, defaultFanOut(), (ws) => this.refresh(ws));
    outcomes.forEach((outcome, index) => {
      const ws = scanned[index] ?? '';
      if (outcome.status === 'fulfilled') return;
      const error: unknown = outcome.reason;
      // Its container stopped or went behind Berth's back: its servers went with it (as liveness records it).
      if (isBerthError(error, 'E_NOT_RUNNING', 'E_NOT_FOUND')) return this.markGone(ws, 'its workspace is no longer running');
      // Otherwise (the engine down) nothing is known: its servers are reported as they were recorded.
      this.emit({ type: 'devserver.scan-failed', workspace: ws, level: 'warn', message: `Cannot scan ${ws}: ${error instanceof Error ? error.message : String(error)}` });
    });
    return this.registry.devServers(workspace);
  }

  /**
   * Of these workspaces, those a connect vouches for (see list): every live server at a URL of its
   * own, on the running container the sighting shows at that address, accepting a connection now.
   * Without a sighting (no `sight`, or the list failed) nothing is vouched for: all are scanned.
   */
  private async answering(workspaces: readonly string[]): Promise<Set<string>> {
    const candidates = new Map<string, DevServer[]>();
    for (const ws of workspaces) {
      const live = this.registry.devServers(ws).filter(isLive);
      if (live.length > 0 && live.every(hasOwnUrl)) candidates.set(ws, live);
    }
    if (candidates.size === 0 || this.sight === undefined) return new Set();
    const sighted = await this.sight([...candidates.keys()]).catch(() => new Map<string, ContainerSighting>());
    const vouched = await Promise.all(
      [...candidates].map(async ([ws, servers]) => (servers.every((s) => reachesWorkspace(s, sighted.get(ws))) && (await allAnswer(servers)) ? ws : null)),
    );
    return new Set(vouched.filter((ws) => ws !== null));
  }

  /** TERM the group, wait, KILL what is left and whatever still listens on its port; the port is free after. */
  async stop(workspace: string, name: string, graceMs = DEFAULT_STOP_GRACE_MS): Promise<DevServer> {
    const server = this.require(workspace, name);
    const handle = await this.resolve(workspace);
    await this.stopProcesses(handle, server, graceMs);
    const stopped = stoppedRecord(server);
    this.registry.putDevServer(stopped);
    // Stopped on request: the reconciler's restart policy leaves it stopped until it is started again.
    this.supervision.setHeld(workspace, name, true);
    this.emit({ type: 'devserver.stopped', workspace, message: `Stopped dev server ${name}.`, data: { name } });
    return stopped;
  }

  /**
   * The workspace's container was recreated, started, stopped or removed by Berth: its processes
   * ended with it, so its live servers are stopped on record too (no engine call).
   */
  markGone(workspace: string, why: string): void {
    for (const server of this.registry.devServers(workspace).filter(isLive)) {
      this.registry.putDevServer(stoppedRecord(server));
      this.emit({ type: 'devserver.stopped', workspace, message: `Dev server ${server.name} stopped: ${why}.`, data: { name: server.name } });
    }
  }

  /** Stop, then run the registered command again; `wait`: resolve once it listens (or ends). */
  async restart(workspace: string, name: string, options: { wait?: boolean | undefined } = {}): Promise<DevServer> {
    const server = this.require(workspace, name);
    const handle = await this.resolve(workspace);
    if (isLive(server)) await this.stopProcesses(handle, server, DEFAULT_STOP_GRACE_MS);
    const restarted = await this.launch(handle, { ...server, state: 'starting', url: null, pgid: null, bridgePgid: null, bridgeSlot: null, exitCode: null, detectedPort: null, restarts: server.restarts + 1 });
    return options.wait ? this.waitUntilReady(workspace, name) : restarted;
  }

  /** The end of the server's output (stdout and stderr, as written), `tail` lines (default 200, at most 10000). */
  async logs(workspace: string, name: string, options: { tail?: number | undefined } = {}): Promise<string> {
    const tail = Math.min(10_000, Math.max(1, Math.floor(options.tail ?? 200) || 200));
    const { path } = await this.logPath(workspace, name);
    const handle = await this.resolve(workspace);
    return (await this.inWorkspace(handle, [...handle.fence, 'tail', '-n', String(tail), path])).stdout;
  }

  /** The server's log file, as the exec in the workspace sees it. */
  async logPath(workspace: string, name: string): Promise<{ target: string; path: string }> {
    this.require(workspace, name);
    const handle = await this.resolve(workspace);
    return { target: handle.target, path: posix.join(handle.stateDir, `${name}.log`) };
  }

  /**
   * The devcontainer's forwarded ports as previews, checked now (one scan): each port of the
   * workspace's own container that something listens on is bridged onto the pool slot it owns
   * (or reached at the container's address) whoever started the listener: a hook, a shell, a dev
   * server. One that nothing listens on has no URL yet. A compose service's port is listed, not
   * previewed. A stopped workspace: every port not listening.
   */
  async forwardedPorts(workspace: string): Promise<ForwardedPortView[]> {
    const ports = this.forwardedOf(workspace);
    if (ports.length === 0) return [];
    const other = (p: ForwardedPort): ForwardedPortView => ({ ...p, state: 'other-service', url: null, note: `a port of the compose service "${p.service ?? ''}", not of the workspace's container: no preview (reach it from the workspace as ${p.service ?? ''}:${String(p.port)})` });
    let handle: WorkspaceHandle;
    let scan: ScanResult;
    try {
      handle = await this.resolve(workspace);
      scan = await this.scan(handle);
    } catch (error) {
      if (!isBerthError(error, 'E_NOT_RUNNING')) throw error;
      return ports.map((p) => (p.service !== null ? other(p) : { ...p, state: 'not-listening', url: null, note: 'the workspace is not running' }));
    }
    return Promise.all(ports.map(async (p) => (p.service !== null ? other(p) : this.exposeForwarded(handle, scan, p))));
  }

  private async exposeForwarded(handle: WorkspaceHandle, scan: ScanResult, port: ForwardedPort): Promise<ForwardedPortView> {
    // The server's own socket before a bridge Berth put on the container's address for it.
    const listeners = scan.listeners.filter((l) => l.port === port.port);
    const listener = listeners.find((l) => isWildcard(l.address) || isLoopback(l.address)) ?? listeners[0];
    if (!listener) return { ...port, state: 'not-listening', url: null, note: null };
    const scheme = port.protocol === 'https' ? 'https' : 'http';
    const target = isWildcard(listener.address) ? '127.0.0.1' : listener.address;
    // The bridge ends with the listener's process group, as a dev server's does with the server's.
    const pid = listener.pids[0];
    const group = (pid === undefined ? undefined : scan.groups.get(pid)) ?? 0;
    const name = forwardBridgeName(port.port);
    const slot = handle.forwardSlots?.get(port.port);
    if (slot) {
      await this.bridge(handle, name, group, '0.0.0.0', slot.containerPort, target, port.port);
      return { ...port, state: 'listening', url: `${scheme}://127.0.0.1:${String(slot.hostPort)}/`, note: null };
    }
    if (this.on(handle).capabilities.isolation === 'container') {
      if (handle.ip === null) return { ...port, state: 'listening', url: null, note: 'no preview slot and no container address to reach it at' };
      if (isLoopback(listener.address)) await this.bridge(handle, name, group, handle.ip, port.port, target, port.port);
      return { ...port, state: 'listening', url: `${scheme}://${handle.ip}:${String(port.port)}/`, note: null };
    }
    return { ...port, state: 'listening', url: `${scheme}://localhost:${String(port.port)}/`, note: null };
  }

  get(workspace: string, name: string): DevServer | undefined {
    return this.registry.devServers(workspace).find((s) => s.name === name);
  }

  private require(workspace: string, name: string): DevServer {
    const server = this.get(workspace, name);
    if (!server) {
      throw new BerthError('E_NOT_FOUND', `No dev server ${workspace}/${name}.`, { hint: `Start one with \`berth dev start ${workspace} ${name} -- <command>\`.` });
    }
    return server;
  }

  private async launch(handle: WorkspaceHandle, server: DevServer): Promise<DevServer> {
    const launched = await this.inWorkspace(handle, ['sh', '-c', LAUNCH_SCRIPT, 'sh', handle.stateDir, server.name, '.', ...handle.fence, ...server.command], {
      env: server.env,
      workdir: server.cwd,
    });
    const pgid = Number(launched.stdout.trim().split('\n').pop());
    if (launched.exitCode !== 0 || !Number.isInteger(pgid) || pgid <= 0) {
      throw new BerthError('E_RUNTIME_FAILED', `Could not start dev server ${server.workspace}/${server.name}: ${launched.stderr.trim() || `exit ${String(launched.exitCode)}`}`, {
        hint: 'Check the command and the working folder (--cwd).',
      });
    }
    const started: DevServer = { ...server, pgid, state: 'starting', startedAt: new Date().toISOString() };
    this.registry.putDevServer(started);
    this.supervision.setHeld(server.workspace, server.name, false);
    this.emit({ type: 'devserver.starting', workspace: server.workspace, message: `Started dev server ${server.name}: ${server.command.join(' ')}`, data: { name: server.name, pgid } });
    return started;
  }

  private async scan(handle: WorkspaceHandle): Promise<ScanResult> {
    const result = await this.inWorkspace(handle, ['sh', '-c', SCAN_SCRIPT, 'sh', handle.stateDir]);
    if (!scanComplete(result.exitCode, result.stdout)) {
      // Cut short: a `docker stop` behind Berth's back kills the scan with the servers, and its
      // partial output would read as every server crashed. Ask the engine what happened instead.
      const container = await this.on(handle).inspect(handle.target);
      if (container.state !== 'running') {
        throw new BerthError('E_NOT_RUNNING', `The workspace of ${handle.target} stopped during a dev-server scan.`, { hint: 'Start it again with `berth up`.' });
      }
      throw new BerthError('E_RUNTIME_FAILED', `The dev-server scan in ${handle.target} did not complete (exit ${String(result.exitCode)}).`, {
        hint: 'The workspace needs sh and /proc; check `berth exec <id> -- sh -c true`.',
      });
    }
    return parseScan(result.stdout);
  }

  private async refreshWith(workspace: string, handle: WorkspaceHandle): Promise<void> {
    const scan = await this.scan(handle);
    const servers = this.registry.devServers(workspace);
    for (const server of servers.filter(isLive)) {
      const next = await this.advance(handle, scan, server, servers);
      if (next === server) continue;
      this.registry.putDevServer(next);
      if (next.state !== server.state) {
        const detail = next.state === 'running' ? ` at ${next.url ?? '?'}` : next.exitCode === null ? '' : ` (exit ${String(next.exitCode)})`;
        this.emit({
          type: `devserver.${next.state}`,
          workspace,
          level: next.state === 'crashed' ? 'warn' : 'info',
          message: `Dev server ${server.name} is ${next.state}${detail}.`,
          data: { name: server.name, url: next.url, exitCode: next.exitCode },
        });
      }
    }
  }

  /** One step of the state machine: starting → running → exited/crashed, from one scan. */
  private async advance(handle: WorkspaceHandle, scan: ScanResult, server: DevServer, all: readonly DevServer[]): Promise<DevServer> {
    if (server.pgid === null) return server;
    if (!groupAlive(scan, server.pgid)) {
      const exitCode = scan.exits.get(server.name) ?? null;
      if (server.bridgePgid !== null) await this.stopBridge(handle, server);
      await this.unpublish(handle, server);
      return { ...server, state: exitCode === 0 ? 'exited' : 'crashed', exitCode, url: null, bridgePgid: null, bridgeSlot: null };
    }
    const listener = this.listenerOf(scan, server);
    if (!listener) return server.state === 'running' ? { ...server, state: 'starting', url: null } : server;
    if (server.state === 'running' && server.detectedPort === listener.port) return server;
    if (server.detectedPort !== null && server.detectedPort !== listener.port) await this.unpublish(handle, server);
    const others = all.filter((s) => s.name !== server.name && isLive(s));
    return { ...server, state: 'running', detectedPort: listener.port, ...(await this.expose(handle, server, listener, others)) };
  }

  /** The explicit port, verified, or the lowest port the server's own process group listens on. */
  private listenerOf(scan: ScanResult, server: DevServer): Listener | undefined {
    if (server.port !== null) return scan.listeners.find((l) => l.port === server.port);
    return server.pgid === null ? undefined : portsOfGroup(scan, server.pgid)[0];
  }

  /**
   * The URL, best first: a published preview port (bridged to the server), the container IP
   * (bridged when the server binds loopback only), localhost (host mode).
   */
  private async expose(handle: WorkspaceHandle, server: DevServer, listener: Listener, others: readonly DevServer[]): Promise<Pick<DevServer, 'url' | 'bridgePgid' | 'bridgeSlot'>> {
    const target = isWildcard(listener.address) ? '127.0.0.1' : listener.address;
    if (this.on(handle).capabilities.isolation === 'container') {
      const taken = new Set(others.map((s) => s.bridgeSlot));
      const slot = poolOf(handle).find((p) => !taken.has(p.containerPort - PREVIEW_CONTAINER_PORT_BASE));
      if (slot) {
        const bridgePgid = await this.bridge(handle, server.name, server.pgid ?? 0, '0.0.0.0', slot.containerPort, target, listener.port);
        return { url: `http://127.0.0.1:${String(slot.hostPort)}/`, bridgePgid, bridgeSlot: slot.containerPort - PREVIEW_CONTAINER_PORT_BASE };
      }
      if (handle.ip !== null) {
        const url = `http://${handle.ip}:${String(listener.port)}/`;
        if (!isLoopback(listener.address)) return { url, bridgePgid: null, bridgeSlot: null };
        // Loopback-only inside the container: forward the container's own address to it, same port.
        return { url, bridgePgid: await this.bridge(handle, server.name, server.pgid ?? 0, handle.ip, listener.port, target, listener.port), bridgeSlot: null };
      }
    }
    // Host mode's sandbox with a network of its own: relayed out to a host loopback port (the relay ends with the listener).
    const published = (await this.on(handle).publishLoopback?.(handle.target, target, listener.port)) ?? null;
    if (published !== null) return { url: `http://127.0.0.1:${String(published)}/`, bridgePgid: null, bridgeSlot: null };
    return { url: `http://localhost:${String(listener.port)}/`, bridgePgid: null, bridgeSlot: null };
  }

  /** Ends the runtime's relay of the server's port, where the runtime made one. */
  private async unpublish(handle: WorkspaceHandle, server: DevServer): Promise<void> {
    const port = server.detectedPort ?? server.port;
    if (port !== null) await this.on(handle).unpublishLoopback?.(handle.target, port);
  }

  /** `name`: whose bridge (one each, `<stateDir>/<name>.bridge`); `group`: the process group it ends with. */
  private async bridge(handle: WorkspaceHandle, name: string, group: number, listenHost: string, listenPort: number, targetHost: string, targetPort: number): Promise<number> {
    const result = await this.inWorkspace(handle, [
      'sh', '-c', BRIDGE_SCRIPT, 'sh', handle.stateDir, name, listenHost, String(listenPort), targetHost, String(targetPort), String(group), BRIDGE_PYTHON, BRIDGE_NODE,
    ]);
    const pgid = Number(result.stdout.trim());
    if (result.exitCode !== 0 || !Number.isInteger(pgid)) {
      throw new BerthError('E_RUNTIME_FAILED', `Could not bridge ${name}: ${result.stderr.trim()}`, { hint: 'The workspace needs python3 or node to bridge a loopback-only server.' });
    }
    return pgid;
  }

  private async stopProcesses(handle: WorkspaceHandle, server: DevServer, graceMs: number): Promise<void> {
    if (server.pgid !== null) await this.killGroup(handle, server.pgid, graceMs);
    // The bridge on record and the one the workspace records (another process may have made it).
    await this.stopBridge(handle, server);
    await this.unpublish(handle, server);
    // Whatever still listens on the server's port (a child that left the group) is killed too.
    const port = server.port ?? server.detectedPort;
    if (port === null) return;
    const leftovers = (await this.scan(handle)).listeners.filter((l) => l.port === port).flatMap((l) => l.pids);
    if (leftovers.length > 0) await this.inWorkspace(handle, ['kill', '-KILL', ...leftovers.map(String)]);
  }

  private async stopBridge(handle: WorkspaceHandle, server: DevServer): Promise<void> {
    await this.inWorkspace(handle, ['sh', '-c', STOP_BRIDGE_SCRIPT, 'sh', handle.stateDir, server.name, server.bridgePgid === null ? '' : String(server.bridgePgid)]);
  }

  /**
   * Runs among the workspace's own processes: what a launch leaves in the background must outlive
   * it, and scans and kills must see it (a sandboxed host exec otherwise gets a namespace of its own).
   */
  /** The runtime a workspace lives on. */
  private on(handle: WorkspaceHandle): Runtime {
    return handle.runtime ?? this.runtime;
  }

  private inWorkspace(handle: WorkspaceHandle, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.on(handle).exec(handle.target, argv, { ...options, workspaceProcesses: true });
  }

  private async killGroup(handle: WorkspaceHandle, pgid: number, graceMs: number): Promise<void> {
    await this.inWorkspace(handle, ['sh', '-c', STOP_GROUP_SCRIPT, 'sh', String(pgid), String(Math.ceil(graceMs / 100))]);
  }
}

/** A name no dev server can have (those start with a letter or digit), so its bridge record is its own. */
function forwardBridgeName(port: number): string {
  return `_port-${String(port)}`;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*';
}

/** The workspace's preview pool: its loopback ports published onto 41000 and up. */
function poolOf(handle: WorkspaceHandle): PublishedPort[] {
  return handle.ports
    .filter((p) => p.containerPort >= PREVIEW_CONTAINER_PORT_BASE && p.containerPort < PREVIEW_CONTAINER_PORT_BASE + MAX_PREVIEW_PORTS)
    .sort((a, b) => a.containerPort - b.containerPort);
}
