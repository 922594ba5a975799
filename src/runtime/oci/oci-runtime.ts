import { arch, platform } from 'node:os';
import { runInteractive, runStreaming, type StreamingOptions, type RunResult } from '../../process/index.js';
import { ProcessError } from '../../process/process-error.js';
import { validateContainerName, validateContainerSpec, validateEnv } from '../validate-spec.js';
import { unavailable } from '../errors.js';
import type {
  BuildImageOptions,
  ContainerInfo,
  ContainerSpec,
  CreateOptions,
  ExecOptions,
  ExecResult,
  ImageInfo,
  InteractiveExecOptions,
  ListFilter,
  LogsOptions,
  Observation,
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
import {
  buildCommand,
  createCommand,
  execCommand,
  interactiveExecCommand,
  listIdsCommand,
  networkCreateCommand,
} from './argv.js';
import { classifyEngineError, classifyEngineMessage, classifyExecFailure, type Subject } from './classify-error.js';
import type { EngineApi } from './engine-api.js';
import { ensureNetwork, envWith, onlyRecord } from '../cli-adapter.js';
import { lazy } from '../lazy.js';
import { matchesFilter } from '../labels.js';

/**
 * The output schemas (and zod behind them) load on the first call that parses JSON: `berth exec`
 * never does, and the CLI's start-up time is most of its overhead over the raw engine CLI.
 */
const loadParsing = lazy(async () => ({ ...(await import('./records.js')), ...(await import('../parse.js')) }));
/** node:http and the API client load only for the calls that use them (never on `berth exec`). */
const loadApi = lazy(() => import('./engine-api.js'));

export type OciKind = 'docker' | 'podman';

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
const BUILD_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_STOP_GRACE_SECONDS = 10;
/** How both engines say that one of several names given to `inspect` does not exist. */
const NO_SUCH_OBJECT = /no such object/i;

const CAPABILITIES: RuntimeCapabilities = Object.freeze({
  isolation: true,
  confinement: 'container',
  containerIp: true,
  publishPorts: true,
  internalNetworks: true,
  internalNetworkRoutesOut: false,
  resourceLimits: true,
  images: true,
  systemService: false,
});

/**
 * docker and podman through their CLIs: one adapter, two flavours. Their command lines match for
 * everything Berth uses; where their JSON differs, the record schemas accept both shapes.
 */
export class OciRuntime implements Runtime {
  readonly capabilities = CAPABILITIES;
  readonly kind: OciKind;
  readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  /** Undefined until first needed; null once the socket is known to be absent or unreachable. */
  private api: EngineApi | null | undefined;
  private readonly apiSocketOption: string | null | undefined;
  private readonly binaryOverridden: boolean;

  constructor(kind: OciKind, options: OciRuntimeOptions = {}) {
    this.kind = kind;
    this.env = options.env ?? process.env;
    const override = this.env[kind === 'docker' ? 'BERTH_DOCKER_BIN' : 'BERTH_PODMAN_BIN'];
    this.binary = options.binary ?? (override || kind);
    this.timeoutMs = options.timeoutMs ?? ENGINE_TIMEOUT_MS;
    this.apiSocketOption = options.apiSocket;
    this.binaryOverridden = options.binary !== undefined || Boolean(override);
  }

  /** The engine socket the hot-path calls use, or null when they go through the CLI (doctor shows it). */
  async apiSocket(): Promise<string | null> {
    return (await this.engineApi())?.socketPath ?? null;
  }

  private async engineApi(): Promise<EngineApi | null> {
    if (this.api === undefined) {
      const { EngineApi, engineSocketFor } = await loadApi();
      const socket = this.apiSocketOption !== undefined ? this.apiSocketOption : engineSocketFor(this.kind, this.env, this.binaryOverridden);
      this.api = socket === null ? null : new EngineApi(this.kind, socket);
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
    const formats = await loadParsing();
    const ids = (await this.engine(listIdsCommand(filter), {})).stdout.split('\n').filter((id) => id !== '');
    if (ids.length === 0) return [];
    // One inspect for all of them: the cost of a list stays two engine calls however many there are.
    // A container removed between the two calls makes inspect exit non-zero but print the rest.
    const result = await this.engine(['container', 'inspect', ...ids], {}, { okExitCodes: 'any' });
    const records = formats.parseJsonOutput(formats.containerRecords, result.stdout.trim() || '[]', result.command);
    return records.map(formats.normalizeContainer).filter((c) => matchesFilter(c, filter));
  }

  async inspect(name: string): Promise<ContainerInfo> {
    const formats = await loadParsing();
    const viaApi = await this.viaApi(async (api) => {
      const { body } = await api.call('GET', `/containers/${encodeURIComponent(name)}/json`);
      return formats.normalizeContainer(formats.parseRecord(formats.containerRecord, body, apiCommand(api, 'inspect', name)));
    }, { container: name });
    if (viaApi !== undefined) return viaApi;
    const result = await this.engine(['container', 'inspect', name], { container: name });
    const records = formats.parseJsonOutput(formats.containerRecords, result.stdout, result.command);
    return formats.normalizeContainer(onlyRecord(records, this.kind, 'container', name));
  }

  async observe(name: string, imageRef: string): Promise<Observation> {
    const formats = await loadParsing();
    const viaApi = await this.viaApi(async (api) => {
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
    if (viaApi !== undefined) return viaApi;
    // Generic `inspect` takes containers and images together: one engine call for ensure's hot path.
    const result = await this.engine(['inspect', name, imageRef], { container: name }, { okExitCodes: 'any' });
    const unexplained = result.stderr.split('\n').filter((line) => line.trim() !== '' && !NO_SUCH_OBJECT.test(line));
    if (result.exitCode !== 0 && unexplained.length > 0) {
      throw classifyEngineError(this.kind, new ProcessError({ ...result, failure: 'exit', signal: null }), { container: name });
    }
    const items = formats.parseJsonOutput(formats.anyArray, result.stdout.trim() || '[]', result.command);
    let container: ContainerInfo | null = null;
    let image: ImageInfo | null = null;
    for (const item of items) {
      const asContainer = formats.containerRecord.safeParse(item);
      if (asContainer.success) {
        const info = formats.normalizeContainer(asContainer.data);
        if (info.name === name) container = info;
        continue;
      }
      const asImage = formats.imageRecord.safeParse(item);
      if (asImage.success) image = formats.normalizeImage(asImage.data);
    }
    return { container, image };
  }

  async create(spec: ContainerSpec, options: CreateOptions = {}): Promise<string> {
    validateContainerSpec(spec);
    const command = createCommand(spec, options.start);
    const result = await this.engine(command.args, { container: spec.name, image: spec.image, network: spec.network }, { env: this.childEnv(command.env) });
    return lastLine(result.stdout);
  }

  async start(name: string): Promise<void> {
    const started = await this.viaApi(async (api) => {
      await api.call('POST', `/containers/${encodeURIComponent(name)}/start`);
      return true;
    }, { container: name });
    if (started === undefined) await this.engine(['start', name], { container: name });
  }

  async stop(name: string, options: StopOptions = {}): Promise<void> {
    const grace = Math.max(0, Math.round(options.graceSeconds ?? DEFAULT_STOP_GRACE_SECONDS));
    await this.engine(['stop', '--time', String(grace), name], { container: name }, { timeoutMs: this.timeoutMs + grace * 1000 });
  }

  async remove(name: string, options: RemoveOptions = {}): Promise<void> {
    await this.engine(['rm', ...(options.force ? ['--force'] : []), '--volumes', name], { container: name });
  }

  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    validateContainerName(name);
    validateEnv(options.env, 'exec');
    const command = execCommand(name, argv, options);
    const result = await this.engine(command.args, { container: name }, {
      env: this.childEnv(command.env),
      input: options.input,
      signal: options.signal,
      // A user's command runs as long as it runs unless the caller set a limit.
      timeoutMs: options.timeoutMs ?? Infinity,
      okExitCodes: 'any',
    });
    const failure = classifyExecFailure(this.kind, name, result.exitCode, result.stderr);
    if (failure) throw failure;
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, durationMs: result.durationMs };
  }

  async execInteractive(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    validateContainerName(name);
    validateEnv(options.env, 'shell');
    const tty = options.tty ?? process.stdin.isTTY;
    const command = interactiveExecCommand(name, argv, options, tty);
    return runInteractive([this.binary, ...command.args], { env: this.childEnv(command.env) });
  }

  async copyIn(name: string, hostPath: string, containerPath: string): Promise<void> {
    await this.engine(['cp', hostPath, `${name}:${containerPath}`], { container: name });
  }

  async copyOut(name: string, containerPath: string, hostPath: string): Promise<void> {
    await this.engine(['cp', `${name}:${containerPath}`, hostPath], { container: name });
  }

  async logs(name: string, options: LogsOptions = {}): Promise<LogsResult> {
    const args = ['logs'];
    if (options.follow) args.push('--follow');
    if (options.tail !== undefined) args.push('--tail', String(options.tail));
    args.push(name);
    const result = await this.engine(args, { container: name }, {
      signal: options.signal,
      timeoutMs: options.follow ? Infinity : this.timeoutMs,
      onStdout: options.onStdout,
      onStderr: options.onStderr,
    });
    return { stdout: result.stdout, stderr: options.onStderr ? '' : result.stderr };
  }

  async imageInspect(ref: string): Promise<ImageInfo> {
    const formats = await loadParsing();
    const result = await this.engine(['image', 'inspect', ref], { image: ref });
    const records = formats.parseJsonOutput(formats.imageRecords, result.stdout, result.command);
    return formats.normalizeImage(onlyRecord(records, this.kind, 'image', ref));
  }

  async buildImage(options: BuildImageOptions): Promise<ImageInfo> {
    validateEnv(options.buildArgs, 'build args');
    const command = buildCommand(options);
    await this.engine(command.args, {}, {
      env: this.childEnv(command.env),
      timeoutMs: options.timeoutMs ?? BUILD_TIMEOUT_MS,
      signal: options.signal,
      onStdout: options.onOutput,
      onStderr: options.onOutput,
    });
    return this.imageInspect(options.tag);
  }

  async networkEnsure(spec: NetworkSpec): Promise<NetworkInfo> {
    return ensureNetwork(
      () => this.networkInspect(spec.name),
      () => this.engine(networkCreateCommand(spec), { network: spec.name }),
    );
  }

  async networkRemove(name: string): Promise<void> {
    await this.engine(['network', 'rm', name], { network: name });
  }

  private async networkInspect(name: string): Promise<NetworkInfo> {
    const formats = await loadParsing();
    const result = await this.engine(['network', 'inspect', name], { network: name });
    const records = formats.parseJsonOutput(formats.networkRecords, result.stdout, result.command);
    return formats.normalizeNetwork(onlyRecord(records, this.kind, 'network', name));
  }

  private async version(): Promise<{ client: string; server: string | null }> {
    const formats = await loadParsing();
    // docker prints the client half and exits 1 when its daemon is unreachable; that is an answer.
    const result = await this.engine(['version', '--format', '{{json .}}'], {}, { okExitCodes: 'any', timeoutMs: 10_000 });
    if (result.exitCode !== 0 && !result.stdout.trim().startsWith('{')) {
      throw unavailable(this.kind, result.stderr.trim() || `exit code ${String(result.exitCode)}`, `Check that ${this.binary} works: \`${this.binary} version\`.`);
    }
    const record = formats.parseJsonOutput(formats.versionRecord, result.stdout, result.command);
    return { client: record.Client.Version, server: record.Server?.Version ?? null };
  }

  /**
   * Runs `fn` over the engine socket; undefined means "use the CLI" (no socket, or it stopped
   * answering, which is remembered). Engine errors come back as the same typed errors the CLI's do.
   */
  private async viaApi<T>(fn: (api: EngineApi) => Promise<T>, subject: Subject): Promise<T | undefined> {
    const api = await this.engineApi();
    if (api === null) return undefined;
    const { EngineApiError, EngineApiUnreachable } = await loadApi();
    try {
      return await fn(api);
    } catch (error) {
      if (error instanceof EngineApiUnreachable) {
        api.close();
        this.api = null;
        return undefined;
      }
      if (error instanceof EngineApiError) throw classifyEngineMessage(this.kind, error.message, subject, error);
      throw error;
    }
  }

  /** Runs one engine command; failures come back as Berth's typed errors. */
  private async engine(
    args: readonly string[],
    subject: Subject,
    options: StreamingOptions = {},
  ): Promise<RunResult> {
    try {
      return await runStreaming([this.binary, ...args], { timeoutMs: this.timeoutMs, env: this.env, ...options });
    } catch (error) {
      throw classifyEngineError(this.kind, error, subject);
    }
  }

  private childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    return envWith(this.env, extra);
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

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]?.trim() ?? '';
}

