import { existsSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { BerthError, isBerthError } from '../../errors.js';
import { runInteractive, runStreaming, type RunResult, type StreamingOptions } from '../../process/index.js';
import { APPLE_CONTAINER_DEFAULT_BIN } from '../apple-binary.js';
import { invalidSpec } from '../errors.js';
import { ensureNetwork, envWith, onlyRecord } from '../cli-adapter.js';
import { lazy } from '../lazy.js';
import { matchesFilter } from '../labels.js';
import type { Subject } from '../oci/classify-error.js';
import { validateContainerName, validateContainerSpec, validateEnv } from '../validate-spec.js';
import type {
  BuildImageOptions,
  ContainerInfo,
  ContainerSpec,
  CreateOptions,
  EnsureSystemOptions,
  ExecOptions,
  ExecResult,
  ImageInfo,
  InteractiveExecOptions,
  ListFilter,
  LogsOptions,
  LogsResult,
  NetworkInfo,
  NetworkSpec,
  Observation,
  RemoveOptions,
  Runtime,
  RuntimeCapabilities,
  RuntimeInfo,
  StopOptions,
  SystemStatus,
} from '../types.js';
import { needsNetAdmin } from '../../egress/guest-firewall.js';
import {
  appleNetworkName,
  buildCommand,
  copyCommand,
  createCommand,
  deleteCommand,
  execCommand,
  listCommand,
  logsCommand,
  networkCreateCommand,
  stopCommand,
  systemStartCommand,
  systemStatusCommand,
} from './argv.js';
import { classifyAppleError, classifyAppleExecFailure, isSystemDown, SYSTEM_HINT } from './classify-error.js';
import { copyInWithTar, copyOutWithTar } from './tar-copy.js';
import { atLeast, has, isSupported, parseAppleVersion, tooOld, type AppleVersion } from './version.js';

export interface AppleRuntimeOptions {
  /** Default: BERTH_CONTAINER_BIN, else /usr/local/bin/container. */
  binary?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  timeoutMs?: number | undefined;
  /**
   * May Berth start a stopped container system? Default: yes, unless BERTH_APPLE_AUTOSTART=0
   * (createBerth passes config.json's `appleAutostart` here, the variable winning: config.ts).
   * Starting a stopped system touches no container; a running one is never restarted.
   */
  startSystem?: boolean | undefined;
  /** Told when Berth started the system itself (the caller records it as an event). */
  onSystemStarted?: ((detail: string) => void) | undefined;
  /** The kernel-install flag for `system start`, chosen explicitly so it never prompts. Default true. */
  installKernel?: boolean | undefined;
}

const CAPABILITIES: RuntimeCapabilities = Object.freeze({
  isolation: true,
  confinement: 'container',
  containerIp: true,
  publishPorts: true,
  internalNetworks: true,
  internalNetworkRoutesOut: true,
  resourceLimits: true,
  images: true,
  systemService: true,
});

const ENGINE_TIMEOUT_MS = 60_000;
const SYSTEM_START_TIMEOUT_SECONDS = 60;
const BUILD_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_STOP_GRACE_SECONDS = 5;
const MAX_NAME_LENGTH = 63;
const MIN_MEMORY_BYTES = 200 * 1024 * 1024;

/**
 * `container cp` splits each path on every ":" and wants an absolute container path
 * (ContainerCopy.swift@1.0.0 parsePathRef, @1.2.2 lines 32-40); other paths go through tar over exec.
 */
function cpCanSay(hostPath: string, containerPath: string): boolean {
  return !hostPath.includes(':') && !containerPath.includes(':') && containerPath.startsWith('/');
}

/** Schemas (and zod) load on the first parse, as in the OCI adapter: exec never needs them. */
const loadFormats = lazy(async () => ({ ...(await import('./records.js')), ...(await import('../parse.js')) }));

/**
 * Apple's `container` CLI (one lightweight VM per container, Apple Silicon macOS). Parses both the
 * 1.x and the legacy 0.x output shapes; the version is read once from `container --version`.
 */
export class AppleRuntime implements Runtime {
  readonly kind = 'apple' as const;
  readonly capabilities = CAPABILITIES;
  readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  private readonly startSystem: boolean;
  private readonly installKernel: boolean;
  private readonly onSystemStarted: ((detail: string) => void) | undefined;
  private versionPromise: Promise<AppleVersion> | undefined;
  /** A start in progress: calls that fail side by side on a stopped system share one start. */
  private starting: Promise<SystemStatus> | undefined;

  constructor(options: AppleRuntimeOptions = {}) {
    this.env = options.env ?? process.env;
    this.binary = options.binary ?? (this.env['BERTH_CONTAINER_BIN'] || APPLE_CONTAINER_DEFAULT_BIN);
    this.timeoutMs = options.timeoutMs ?? ENGINE_TIMEOUT_MS;
    this.startSystem = options.startSystem ?? this.env['BERTH_APPLE_AUTOSTART'] !== '0';
    this.installKernel = options.installKernel ?? true;
    this.onSystemStarted = options.onSystemStarted;
  }

  /** The CLI's version, asked once. */
  version(): Promise<AppleVersion> {
    this.versionPromise ??= this.raw(['--version'], {}).then((result) => {
      const version = parseAppleVersion(result.stdout);
      if (!version) throw new BerthError('E_RUNTIME_OUTPUT', `Cannot read the version of ${this.binary}: ${JSON.stringify(result.stdout.trim())}`, { hint: 'Is BERTH_CONTAINER_BIN the Apple container CLI?' });
      return version;
    });
    return this.versionPromise;
  }

  /** The version, refused with an "upgrade" error when older than Berth's minimum. */
  private async supportedVersion(): Promise<AppleVersion> {
    const version = await this.version();
    if (!isSupported(version)) throw tooOld(version);
    return version;
  }

  async info(): Promise<RuntimeInfo> {
    const version = await this.version();
    return { kind: 'apple', version: version.text, serverVersion: null, binary: this.binary, os: platform(), arch: arch() };
  }

  /** `system status` decides (exit 0 = running); a stopped system is started only when allowed. */
  async ensureSystem(options: EnsureSystemOptions = {}): Promise<SystemStatus> {
    let status: SystemStatus;
    try {
      await this.supportedVersion();
      status = await this.systemStatus();
    } catch (error) {
      const hint = isBerthError(error) && error.hint ? ` ${error.hint}` : '';
      return { running: false, detail: `${error instanceof Error ? error.message : String(error)}${hint}` };
    }
    if (status.running || !(options.start ?? this.startSystem)) return status;
    // The kernel flag is explicit so the start never prompts: with --enable a missing kernel is
    // downloaded (the recommended one); with --disable the system starts without one and
    // containers then fail until `container system kernel set --recommended`.
    try {
      const command = systemStartCommand(await this.version(), this.installKernel, SYSTEM_START_TIMEOUT_SECONDS);
      await this.raw(command, {}, { timeoutMs: (SYSTEM_START_TIMEOUT_SECONDS + 30) * 1000 });
    } catch (error) {
      return { running: false, detail: `container system start failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    const after = await this.systemStatus();
    if (after.running) this.onSystemStarted?.(`Berth started the stopped Apple container system (${this.installKernel ? 'installing the recommended kernel if none was installed' : 'without installing a kernel'}).`);
    return after;
  }

  private async systemStatus(): Promise<SystemStatus> {
    const result = await this.raw(systemStatusCommand(await this.version()), {}, { okExitCodes: 'any', timeoutMs: 20_000 });
    const firstLine = result.stdout.trim().split('\n')[0] ?? '';
    if (result.exitCode === 0) return { running: true, detail: `Apple container system is running (${(await this.version()).text}).` };
    return { running: false, detail: `Apple container system is not running: ${firstLine || result.stderr.trim()}. ${SYSTEM_HINT}` };
  }

  async list(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    const parse = await loadFormats();
    const result = await this.cli(listCommand(), {});
    const entries = parse.parseJsonOutput(parse.appleContainers, result.stdout.trim() || '[]', result.command);
    return entries.map(parse.normalizeContainer).filter((c) => matchesFilter(c, filter));
  }

  async inspect(name: string): Promise<ContainerInfo> {
    const parse = await loadFormats();
    const result = await this.cli(['inspect', name], { container: name });
    // Up to 0.12, an unknown id printed `[]` and exited 0.
    const entries = parse.parseJsonOutput(parse.appleContainers, result.stdout.trim() || '[]', result.command);
    return parse.normalizeContainer(onlyRecord(entries, 'apple', 'container', name));
  }

  /** Two calls, run side by side: Apple's inspect takes containers only. */
  async observe(name: string, imageRef: string): Promise<Observation> {
    const orNull = <T>(promise: Promise<T>): Promise<T | null> =>
      promise.catch((error: unknown) => {
        if (isBerthError(error, 'E_NOT_FOUND')) return null;
        throw error;
      });
    const [container, image] = await Promise.all([orNull(this.inspect(name)), orNull(this.imageInspect(imageRef))]);
    return { container, image };
  }

  async create(spec: ContainerSpec, options: CreateOptions = {}): Promise<string> {
    validateContainerSpec(spec);
    this.validateForApple(spec);
    // Apple's create pulls a missing image; Berth never pulls behind the user's back.
    await this.imageInspect(spec.image);
    const command = createCommand(spec, await this.supportedVersion(), {
      start: options.start,
      isFile: (path) => statSync(path).isFile(),
      netAdmin: needsNetAdmin(spec.command),
    });
    const result = await this.cli(command.args, { container: spec.name, image: spec.image, network: spec.network }, { env: this.childEnv(command.env) });
    return result.stdout.trim().split('\n').pop()?.trim() ?? spec.name;
  }

  async start(name: string): Promise<void> {
    await this.cli(['start', name], { container: name });
  }

  async stop(name: string, options: StopOptions = {}): Promise<void> {
    // Up to 0.9, stop silently ignored unknown ids; Berth reports them the same way everywhere.
    if (!atLeast(await this.version(), '0.10.0')) await this.inspect(name);
    const grace = Math.max(0, Math.round(options.graceSeconds ?? DEFAULT_STOP_GRACE_SECONDS));
    await this.cli(stopCommand(name, grace), { container: name }, { timeoutMs: this.timeoutMs + grace * 1000 });
  }

  async remove(name: string, options: RemoveOptions = {}): Promise<void> {
    try {
      await this.cli(deleteCommand(name, options.force ?? false), { container: name });
    } catch (error) {
      if (options.force && isBerthError(error, 'E_NOT_FOUND')) return;
      throw error;
    }
  }

  async exec(name: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    validateContainerName(name);
    validateEnv(options.env, 'exec');
    const command = execCommand(name, argv, options, options.input !== undefined, false);
    const result = await this.cli(command.args, { container: name }, {
      env: this.childEnv(command.env),
      input: options.input,
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? Infinity,
      okExitCodes: 'any',
    });
    const failure = classifyAppleExecFailure(name, result.exitCode, result.stderr);
    if (failure) throw failure;
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, durationMs: result.durationMs };
  }

  async execInteractive(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    validateContainerName(name);
    validateEnv(options.env, 'shell');
    const tty = options.tty ?? process.stdin.isTTY;
    const command = execCommand(name, argv, options, true, tty);
    return runInteractive([this.binary, ...command.args], { env: this.childEnv(command.env) });
  }

  async copyIn(name: string, hostPath: string, containerPath: string): Promise<void> {
    const version = await this.supportedVersion();
    if (!has(version, 'cp') || !cpCanSay(hostPath, containerPath)) return copyInWithTar(this.tarHost(name), hostPath, containerPath);
    // Into an existing folder the source keeps its name (docker cp semantics); Apple says so with a trailing slash.
    const isDir = !containerPath.endsWith('/') && (await this.exec(name, ['test', '-d', containerPath])).exitCode === 0;
    await this.cli(copyCommand(version, hostPath, `${name}:${containerPath}${isDir ? '/' : ''}`), { container: name });
  }

  async copyOut(name: string, containerPath: string, hostPath: string): Promise<void> {
    const version = await this.supportedVersion();
    if (!has(version, 'cp') || !cpCanSay(hostPath, containerPath)) return copyOutWithTar(this.tarHost(name), containerPath, hostPath);
    const isDir = existsSync(hostPath) && statSync(hostPath).isDirectory() && !hostPath.endsWith('/');
    await this.cli(copyCommand(version, `${name}:${containerPath}`, `${hostPath}${isDir ? '/' : ''}`), { container: name });
  }

  async logs(name: string, options: LogsOptions = {}): Promise<LogsResult> {
    const result = await this.cli(logsCommand(name, options), { container: name }, {
      signal: options.signal,
      timeoutMs: options.follow ? Infinity : this.timeoutMs,
      onStdout: options.onStdout,
      onStderr: options.onStderr,
    });
    return { stdout: result.stdout, stderr: options.onStderr ? '' : result.stderr };
  }

  async imageInspect(ref: string): Promise<ImageInfo> {
    const parse = await loadFormats();
    const result = await this.cli(['image', 'inspect', ref], { image: ref });
    const entries = parse.parseJsonOutput(parse.appleImages, result.stdout.trim() || '[]', result.command);
    return parse.normalizeImage(onlyRecord(entries, 'apple', 'image', ref));
  }

  async buildImage(options: BuildImageOptions): Promise<ImageInfo> {
    validateEnv(options.buildArgs, 'build args');
    const command = buildCommand(options);
    await this.cli(command.args, {}, {
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
      async () => this.cli(networkCreateCommand(spec, await this.supportedVersion()), { network: spec.name }),
    );
  }

  async networkRemove(name: string): Promise<void> {
    await this.cli(['network', 'delete', appleNetworkName(name)], { network: name });
  }

  /** The builtin network every container joins unless told otherwise (doctor shows its subnet). */
  defaultNetwork(): Promise<NetworkInfo> {
    return this.networkInspect('default');
  }

  private async networkInspect(name: string): Promise<NetworkInfo> {
    const parse = await loadFormats();
    const appleName = appleNetworkName(name);
    const result = await this.cli(['network', 'inspect', appleName], { network: name });
    const entries = parse.parseJsonOutput(parse.appleNetworks, result.stdout.trim() || '[]', result.command);
    // Callers know the network by Berth's name, whatever Apple had to call it.
    return { ...parse.normalizeNetwork(onlyRecord(entries, 'apple', 'network', name)), name };
  }

  /** Apple's own limits, checked before any call so the error says what to change. */
  private validateForApple(spec: ContainerSpec): void {
    if (spec.name.length > MAX_NAME_LENGTH) {
      throw invalidSpec(`Container name ${spec.name} is longer than Apple container's ${String(MAX_NAME_LENGTH)} characters.`, 'Use a shorter workspace id (at most 57 characters).');
    }
    if (spec.cpus !== undefined && !Number.isInteger(spec.cpus)) {
      throw invalidSpec(`Apple container takes whole CPUs, got ${String(spec.cpus)}.`, `Use --cpus ${String(Math.ceil(spec.cpus))}.`);
    }
    if (spec.memoryBytes !== undefined && spec.memoryBytes < MIN_MEMORY_BYTES) {
      throw invalidSpec(`Apple container needs at least 200 MiB of memory, got ${String(spec.memoryBytes)} bytes.`, 'Use --memory 256m or more.');
    }
    for (const [key, value] of Object.entries(spec.labels ?? {})) {
      if (value.includes('=')) throw invalidSpec(`Label ${key} has "=" in its value, which Apple container rejects.`, 'Use a value without "=".');
    }
    for (const mount of spec.mounts ?? []) {
      // Apple fails a missing bind source too, but only after pulling and unpacking: say it first.
      if (!existsSync(mount.source)) throw invalidSpec(`Mount source ${mount.source} does not exist.`, 'Create it, or drop the mount.');
      if (mount.source.includes(':') || mount.target.includes(':')) {
        throw invalidSpec(`Mount path ${mount.source} contains ":", which Apple container cannot express.`, 'Rename the folder or mount a parent folder.');
      }
      // `--mount` splits on "," and then on "=" (Parser.swift@1.2.2 lines 367 and 373).
      const bad = [mount.source, mount.target].find((path) => /[,=]/.test(path));
      if (bad !== undefined && !(existsSync(mount.source) && statSync(mount.source).isFile())) {
        throw invalidSpec(`Mount path ${bad} contains "," or "=", which Apple container's --mount cannot express.`, 'Rename the folder or mount a parent folder.');
      }
    }
  }

  /** What the tar fallback needs: a way to run the CLI with binary output. */
  private tarHost(name: string): { name: string; run: (args: string[], input?: Uint8Array) => Promise<Buffer> } {
    return {
      name,
      run: async (args, input) => {
        const chunks: Buffer[] = [];
        await this.cli(args, { container: name }, { input, onStdout: (chunk) => chunks.push(chunk) });
        return Buffer.concat(chunks);
      },
    };
  }

  /**
   * One CLI call with Berth's typed errors. When the system is down (XPC "Connection invalid") and
   * Berth may start it, it does so and retries the call once; it never restarts a running system.
   */
  private async cli(args: readonly string[], subject: Subject, options: StreamingOptions = {}): Promise<RunResult> {
    await this.supportedVersion();
    try {
      return await this.raw(args, subject, options);
    } catch (error) {
      const systemDown = isBerthError(error, 'E_RUNTIME_UNAVAILABLE') && isSystemDown(String((error.cause as { stderr?: string } | undefined)?.stderr ?? ''));
      if (!systemDown || !this.startSystem) throw error;
      this.starting ??= this.ensureSystem({ start: true }).finally(() => (this.starting = undefined));
      const status = await this.starting;
      if (!status.running) throw new BerthError('E_RUNTIME_UNAVAILABLE', `apple: the container system is not running and could not be started: ${status.detail}`, { hint: SYSTEM_HINT, cause: error });
      return this.raw(args, subject, options);
    }
  }

  private async raw(args: readonly string[], subject: Subject, options: StreamingOptions = {}): Promise<RunResult> {
    try {
      return await runStreaming([this.binary, ...args], { timeoutMs: this.timeoutMs, env: this.env, ...options });
    } catch (error) {
      throw classifyAppleError(error, subject);
    }
  }

  private childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    return envWith(this.env, extra);
  }
}
