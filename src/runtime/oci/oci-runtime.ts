import { arch, platform } from 'node:os';
import { validateContainerName, validateContainerSpec, validateEnv } from '../validate-spec.js';
import type {
  BuildImageOptions,
  ContainerBrief,
  ContainerInfo,
  ContainerSpec,
  CreateOptions,
  ExecEncoding,
  ExecOptions,
  ExecOutput,
  ExecResult,
  ImageInfo,
  InteractiveExecOptions,
  HostPtyRoute,
  TerminalRoute,
  ListFilter,
  LogsOptions,
  Observation,
  VolumeInfo,
  LogsResult,
  NetworkInfo,
  NetworkSpec,
  RemoveOptions,
  Runtime,
  RuntimeCapabilities,
  RuntimeInfo,
  StopOptions,
  SystemStatus,
} from '../types.js';
import { buildTolerantOfCleanup, ensureNetwork } from '../cli-adapter.js';
import { CliRunner, type Subject } from '../command.js';
import { lazy } from '../lazy.js';
import { matchesFilter, matchesLabels } from '../list-filter.js';
import {
  buildCommand,
  copyCommand,
  createCommand,
  volumeCreateCommand,
  volumeInspectCommand,
  volumeListCommand,
  volumeRemoveCommand,
  execCommand,
  imageInspectCommand,
  inspectCommand,
  inspectManyCommand,
  interactiveExecCommand,
  listIdsCommand,
  loadFormats,
  logsCommand,
  networkCreateCommand,
  networkInspectCommand,
  networkRemoveCommand,
  observeCommand,
  removeCommand,
  rootlessCommand,
  startCommand,
  stopCommand,
  versionCommand,
  type HostUserMapping,
  type OciKind,
} from './commands.js';
import { classifyEngineError, classifyEngineMessage, missingUser } from './classify-error.js';
import type { EngineApi } from './engine-api.js';

/**
 * Each piece of the socket path loads only for the calls that use it: finding the socket (small),
 * the JSON client over node:http (observe, inspect, start, ...), and exec's own requests over
 * node:net, so that `berth exec`, a process per command, never loads node:http.
 */
const loadSocket = lazy(() => import('./engine-socket.js'));
const loadApi = lazy(() => import('./engine-api.js'));
const loadApiExec = lazy(() => import('./exec-over-api.js'));

export type { OciKind };

export interface OciRuntimeOptions {
  /** Executable to run; default from BERTH_DOCKER_BIN / BERTH_PODMAN_BIN, else `docker` / `podman` on PATH. */
  binary?: string | undefined;
  /** Environment for the engine CLI (DOCKER_HOST, CONTAINERS_CONF, ...). Default: this process's. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Timeout for engine-management calls (inspect, create, ...). Default 60 s. */
  timeoutMs?: number | undefined;
  /**
   * The engine's API socket for the hot-path calls (observe, inspect, start): a path, `null` for the
   * CLI only, or (default) found the way the CLI finds it. BERTH_DOCKER_API / BERTH_PODMAN_API
   * (`off` or a socket path) override that.
   */
  apiSocket?: string | null | undefined;
}

const ENGINE_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_GRACE_SECONDS = 10;

const CAPABILITIES: RuntimeCapabilities = Object.freeze({
  isolation: 'container',
  containerIp: true,
  publishPorts: true,
  internalNetworks: true,
  internalNetworkRoutesOut: false,
  resourceLimits: true,
  images: true,
  systemService: false,
});

/**
 * docker and podman: one adapter, two flavours. Engine calls are command specs (./commands.ts) run
 * by one CliRunner; the hot-path calls (observe, inspect, start) go over the engine's socket when
 * it answers.
 */
export class OciRuntime implements Runtime {
  readonly capabilities = CAPABILITIES;
  readonly kind: OciKind;
  readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  /** Undefined until first needed; null once the socket is known to be absent or unreachable. */
  private socket: string | null | undefined;
  /** The JSON client over `socket`, made when a call first needs it. */
  private api: EngineApi | undefined;
  private readonly apiSocketOption: string | null | undefined;
  private readonly binaryOverridden: boolean;
  private readonly runner: CliRunner;
  private mapping: Promise<HostUserMapping> | undefined;

  constructor(kind: OciKind, options: OciRuntimeOptions = {}) {
    this.kind = kind;
    this.env = options.env ?? process.env;
    const override = this.env[kind === 'docker' ? 'BERTH_DOCKER_BIN' : 'BERTH_PODMAN_BIN'];
    this.binary = options.binary ?? (override || kind);
    this.timeoutMs = options.timeoutMs ?? ENGINE_TIMEOUT_MS;
    this.apiSocketOption = options.apiSocket;
    this.binaryOverridden = options.binary !== undefined || Boolean(override);
    this.runner = new CliRunner({
      binary: this.binary,
      env: this.env,
      timeoutMs: this.timeoutMs,
      classify: (error, subject) => classifyEngineError(kind, error, subject),
    });
  }

  /** The engine socket the hot-path calls use, or null when they go through the CLI (doctor shows it). */
  async apiSocket(): Promise<string | null> {
    if (this.socket === undefined) {
      const { engineSocketFor } = await loadSocket();
      this.socket = this.apiSocketOption !== undefined ? this.apiSocketOption : engineSocketFor(this.kind, this.env, this.binaryOverridden);
    }
    return this.socket;
  }

  private async engineApi(socket: string): Promise<EngineApi> {
    if (this.api === undefined) {
      const { EngineApi } = await loadApi();
      this.api = new EngineApi(this.kind, socket);
    }
    return this.api;
  }

  async info(): Promise<RuntimeInfo> {
    const version = await this.version();
    return {
      kind: this.kind,
      version: version.client,
      serverVersion: version.server,
      binary: this.binary,
      os: platform(),
      arch: arch(),
    };
  }

  async ensureSystem(): Promise<SystemStatus> {
    try {
      const version = await this.version();
      if (this.kind === 'docker' && version.server === null) {
        return { running: false, detail: `docker ${version.client} cannot reach its daemon (${this.env['DOCKER_HOST'] ?? 'default socket'}).` };
      }
      return { running: true, detail: `${this.kind} ${version.server ?? version.client} is answering.` };
    } catch (error) {
      return { running: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  async list(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    const ids = await this.runner.run(listIdsCommand(filter));
    return ids.length === 0 ? [] : this.runner.run(inspectManyCommand(ids, filter));
  }

  /**
   * One `GET /containers/json` over the engine socket (podman: its docker-compatible list, which
   * carries addresses where the libpod one does not); the CLI's list where there is no socket.
   * The label filter goes to the engine; the name prefix is checked here, as `list` does.
   */
  async listBrief(filter: ListFilter = {}): Promise<ContainerBrief[]> {
    const viaApi = await this.viaApi(async (api) => {
      const formats = await loadFormats();
      const labels = Object.entries(filter.labels ?? {}).map(([key, value]) => (value === true ? key : `${key}=${value}`));
      const query: Record<string, string> = { all: 'true', ...(labels.length > 0 ? { filters: JSON.stringify({ label: labels }) } : {}) };
      const { body } = await api.call('GET', '/containers/json', query, { compat: true });
      return formats.parseRecord(formats.containerSummaryRecords, body, [`${api.socketPath}:`, 'ps']).map(formats.normalizeSummary).filter((c) => matchesFilter(c, filter));
    }, {});
    return viaApi ?? this.list(filter);
  }

  async inspect(name: string): Promise<ContainerInfo> {
    const viaApi = await this.viaApi(async (api) => {
      const formats = await loadFormats();
      const { body } = await api.call('GET', `/containers/${encodeURIComponent(name)}/json`);
      return formats.normalizeContainer(formats.parseRecord(formats.containerRecord, body, apiCommand(api, 'inspect', name)));
    }, { container: name });
    return viaApi ?? this.runner.run(inspectCommand(this.kind, name));
  }

  async observe(name: string, imageRef: string): Promise<Observation> {
    const viaApi = await this.viaApi(async (api) => {
      const formats = await loadFormats();
      // Two questions in parallel on one socket: ~2 ms together, where one CLI process costs 10–30.
      const [container, image] = await Promise.all([
        api.call('GET', `/containers/${encodeURIComponent(name)}/json`).then((r) => r.body, absentOn404),
        api.call('GET', `/images/${encodeURIComponent(imageRef)}/json`).then((r) => r.body, absentOn404),
      ]);
      return {
        container: container === null ? null : formats.normalizeContainer(formats.parseRecord(formats.containerRecord, container, apiCommand(api, 'inspect', name))),
        image: image === null ? null : formats.normalizeImage(formats.parseRecord(formats.imageRecord, image, apiCommand(api, 'image inspect', imageRef))),
      };
    }, { container: name });
    return viaApi ?? this.runner.run(observeCommand(this.kind, name, imageRef));
  }

  async create(spec: ContainerSpec, options: CreateOptions = {}): Promise<string> {
    validateContainerSpec(spec);
    // Named volumes Berth labels are made first (one engine call each, only for specs that have them).
    for (const volume of spec.volumes ?? []) {
      if (volume.name !== null && volume.labels !== undefined) await this.runner.run(volumeCreateCommand(this.kind, volume.name, volume.labels));
    }
    return this.runner.run(createCommand(spec, options.start, spec.hostUser && spec.user === undefined ? await this.hostUserMapping() : undefined));
  }

  /** One engine call, once per runtime and only for a `user: host` create (commands.ts, HostUserMapping). */
  private hostUserMapping(): Promise<HostUserMapping> {
    this.mapping ??= this.runner.run(rootlessCommand(this.kind)).then((rootless) => (!rootless ? 'run-as' : this.kind === 'podman' ? 'keep-id' : 'root-is-host'));
    return this.mapping;
  }

  async start(name: string): Promise<void> {
    const started = await this.viaApi(async (api) => {
      await api.call('POST', `/containers/${encodeURIComponent(name)}/start`);
      return true;
    }, { container: name });
    if (started === undefined) await this.runner.run(startCommand(name));
  }

  async stop(name: string, options: StopOptions = {}): Promise<void> {
    const grace = Math.max(0, Math.round(options.graceSeconds ?? DEFAULT_STOP_GRACE_SECONDS));
    await this.runner.run(stopCommand(name, grace, this.timeoutMs));
  }

  async remove(name: string, options: RemoveOptions = {}): Promise<void> {
    await this.runner.run(removeCommand(name, options.force ?? false));
  }

  /**
   * Over the engine socket when it answers (no engine CLI process, output as it comes); the CLI,
   * which streams too, otherwise. Only a socket that does not answer at all falls back: once the
   * engine has the command, nothing runs it twice.
   */
  async exec<E extends ExecEncoding = 'utf8'>(name: string, argv: readonly string[], options: ExecOptions<E> = {}): Promise<ExecResult<ExecOutput<E>>> {
    validateContainerName(name);
    validateEnv(options.env, 'exec');
    const viaApi = await this.viaSocket(async (socket) => {
      const { execOverApi } = await loadApiExec();
      if (options.user === undefined) return execOverApi(socket, name, argv, options);
      // docker's API reports a user the image lacks as output and exit code 126, not as an error.
      const head = outputHead(options);
      const result = await execOverApi(socket, name, argv, head.options);
      const missing = result.exitCode === 126 ? missingUser(this.kind, head.text(result)) : undefined;
      if (missing) throw missing;
      return result;
    }, { container: name });
    return viaApi ?? this.runner.run(execCommand(this.kind, name, argv, options));
  }

  async execInteractive(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    validateContainerName(name);
    validateEnv(options.env, 'shell');
    return this.runner.interactive(interactiveExecCommand(name, argv, options, options.tty ?? process.stdin.isTTY));
  }

  async terminal(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<TerminalRoute> {
    validateContainerName(name);
    validateEnv(options.env, 'terminal');
    const fallback: HostPtyRoute = { via: 'host-pty', ...this.runner.commandLine(interactiveExecCommand(name, argv, options, true)) };
    const socketPath = await this.apiSocket();
    return socketPath === null ? fallback : { via: 'engine-api', socketPath, container: name, fallback };
  }

  async copyIn(name: string, hostPath: string, containerPath: string): Promise<void> {
    await this.runner.run(copyCommand(name, hostPath, `${name}:${containerPath}`));
  }

  async copyOut(name: string, containerPath: string, hostPath: string): Promise<void> {
    await this.runner.run(copyCommand(name, `${name}:${containerPath}`, hostPath));
  }

  logs(name: string, options: LogsOptions = {}): Promise<LogsResult> {
    return this.runner.run(logsCommand(name, options));
  }

  /** Over the engine socket when there is one (a listing's drift check asks it per image): ~2 ms, where a CLI process costs 10–30. */
  async imageInspect(ref: string): Promise<ImageInfo> {
    const viaApi = await this.viaApi(async (api) => {
      const formats = await loadFormats();
      const { body } = await api.call('GET', `/images/${encodeURIComponent(ref)}/json`);
      return formats.normalizeImage(formats.parseRecord(formats.imageRecord, body, apiCommand(api, 'image inspect', ref)));
    }, { image: ref });
    return viaApi ?? this.runner.run(imageInspectCommand(this.kind, ref));
  }

  async buildImage(options: BuildImageOptions): Promise<ImageInfo> {
    validateEnv(options.buildArgs, 'build args');
    await buildTolerantOfCleanup(() => this.runner.run(buildCommand(options)));
    return this.imageInspect(options.tag);
  }

  networkEnsure(spec: NetworkSpec): Promise<NetworkInfo> {
    return ensureNetwork(
      () => this.runner.run(networkInspectCommand(this.kind, spec.name)),
      () => this.runner.run(networkCreateCommand(spec)),
    );
  }

  async networkRemove(name: string): Promise<void> {
    await this.runner.run(networkRemoveCommand(name));
  }

  async listVolumes(labels: Readonly<Record<string, string>>): Promise<VolumeInfo[]> {
    const names = await this.runner.run(volumeListCommand(labels));
    if (names.length === 0) return [];
    // The engine's filter already chose them; checked again on what inspect says (a label changed since is no match).
    const volumes = await this.runner.run(volumeInspectCommand(names));
    return volumes.filter((v) => matchesLabels(v.labels, labels));
  }

  async removeVolume(name: string): Promise<void> {
    await this.runner.run(volumeRemoveCommand(this.kind, name));
  }

  private version(): Promise<{ client: string; server: string | null }> {
    return this.runner.run(versionCommand(this.kind, this.binary));
  }

  /**
   * Runs `fn` over the engine socket; undefined means "use the CLI" (no socket, or it stopped
   * answering, which is remembered). Engine errors come back as the same typed errors the CLI's do.
   */
  private viaApi<T>(fn: (api: EngineApi) => Promise<T>, subject: Subject): Promise<T | undefined> {
    return this.viaSocket(async (socket) => fn(await this.engineApi(socket)), subject);
  }

  /** `viaApi` for a call that brings its own client (exec's requests over node:net). */
  private async viaSocket<T>(fn: (socket: string) => Promise<T>, subject: Subject): Promise<T | undefined> {
    const socket = await this.apiSocket();
    if (socket === null) return undefined;
    const { EngineApiError, EngineApiUnreachable } = await loadSocket();
    try {
      return await fn(socket);
    } catch (error) {
      if (error instanceof EngineApiUnreachable) {
        this.api?.close();
        this.api = undefined;
        this.socket = null;
        return undefined;
      }
      if (error instanceof EngineApiError) throw classifyEngineMessage(this.kind, error.message, subject, error);
      throw error;
    }
  }
}

/** A 404 is an answer for observe: the thing is not there. */
function absentOn404(error: unknown): null {
  if (error instanceof Error && 'status' in error && error.status === 404) return null;
  throw error;
}

/** How an API call is named in "could not read the output of …" errors. */
function apiCommand(api: EngineApi, what: string, name: string): string[] {
  return [`${api.socketPath}:`, what, name];
}

/**
 * The first bytes of an exec's stdout, kept beside whatever the caller does with it: from the
 * result when it keeps stdout, from the caller's own callback's chunks when it takes them.
 */
function outputHead<E extends ExecEncoding>(options: ExecOptions<E>): { options: ExecOptions<E>; text: (result: ExecResult<ExecOutput<E>>) => string } {
  const onStdout = options.onStdout;
  if (onStdout === undefined) return { options, text: (result) => result.stdout.slice(0, 256).toString() };
  let head = Buffer.alloc(0);
  const keep = (chunk: Buffer): void => {
    if (head.length < 256) head = Buffer.concat([head, chunk.subarray(0, 256 - head.length)]);
    onStdout(chunk);
  };
  return { options: { ...options, onStdout: keep }, text: () => head.toString('utf8') };
}
