import { existsSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { BerthError, isBerthError } from '../../errors.js';
import { APPLE_CONTAINER_DEFAULT_BIN } from '../apple-binary.js';
import { invalidSpec } from '../errors.js';
import { ensureNetwork } from '../cli-adapter.js';
import { CliRunner, type CommandSpec } from '../command.js';
import { validateContainerName, validateContainerSpec, validateEnv } from '../validate-spec.js';
import type {
  BuildImageOptions,
  ContainerInfo,
  ContainerSpec,
  CreateOptions,
  EnsureSystemOptions,
  ExecEncoding,
  ExecOptions,
  ExecOutput,
  ExecResult,
  ImageInfo,
  InteractiveExecOptions,
  TerminalRoute,
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
  VolumeInfo,
} from '../types.js';
import {
  buildCommand,
  copyCommand,
  createCommand,
  volumeCreateCommand,
  volumeDeleteCommand,
  volumeListCommand,
  deleteCommand,
  execCommand,
  imageInspectCommand,
  inspectCommand,
  interactiveExecCommand,
  listCommand,
  logsCommand,
  networkCreateCommand,
  networkInspectCommand,
  networkRemoveCommand,
  startCommand,
  stopCommand,
  systemStartCommand,
  systemStatusCommand,
  versionCommand,
} from './commands.js';
import { classifyAppleError, isSystemDown, SYSTEM_HINT } from './classify-error.js';
import { copyInWithTar, copyOutWithTar } from './tar-copy.js';
import { atLeast, has, isSupported, tooOld, type AppleVersion } from './version.js';

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
  isolation: 'container',
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

/**
 * Apple's `container` CLI (one lightweight VM per container, Apple Silicon macOS). Calls are command
 * specs (./commands.ts) run by the same CliRunner as docker's and podman's; this adapter adds the
 * version gate before each call and starts a stopped system once (`cli`). Parses both the 1.x and
 * the legacy 0.x output shapes; the version is read once from `container --version`.
 */
export class AppleRuntime implements Runtime {
  readonly kind = 'apple' as const;
  readonly capabilities = CAPABILITIES;
  readonly binary: string;
  private readonly timeoutMs: number;
  private readonly runner: CliRunner;
  private readonly startSystem: boolean;
  private readonly installKernel: boolean;
  private readonly onSystemStarted: ((detail: string) => void) | undefined;
  private versionPromise: Promise<AppleVersion> | undefined;
  /** A start in progress: calls that fail side by side on a stopped system share one start. */
  private starting: Promise<SystemStatus> | undefined;

  constructor(options: AppleRuntimeOptions = {}) {
    const env = options.env ?? process.env;
    this.binary = options.binary ?? (env['BERTH_CONTAINER_BIN'] || APPLE_CONTAINER_DEFAULT_BIN);
    this.timeoutMs = options.timeoutMs ?? ENGINE_TIMEOUT_MS;
    this.runner = new CliRunner({ binary: this.binary, env, timeoutMs: this.timeoutMs, classify: classifyAppleError });
    this.startSystem = options.startSystem ?? env['BERTH_APPLE_AUTOSTART'] !== '0';
    this.installKernel = options.installKernel ?? true;
    this.onSystemStarted = options.onSystemStarted;
  }

  /** The CLI's version, asked once. */
  version(): Promise<AppleVersion> {
    this.versionPromise ??= this.runner.run(versionCommand(this.binary));
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
      await this.runner.run(systemStartCommand(await this.version(), this.installKernel, SYSTEM_START_TIMEOUT_SECONDS));
    } catch (error) {
      return { running: false, detail: `container system start failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    const after = await this.systemStatus();
    if (after.running) this.onSystemStarted?.(`Berth started the stopped Apple container system (${this.installKernel ? 'installing the recommended kernel if none was installed' : 'without installing a kernel'}).`);
    return after;
  }

  private async systemStatus(): Promise<SystemStatus> {
    return this.runner.run(systemStatusCommand(await this.version()));
  }

  list(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    return this.cli(listCommand(filter));
  }

  inspect(name: string): Promise<ContainerInfo> {
    return this.cli(inspectCommand(name));
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
    for (const volume of spec.volumes ?? []) {
      if (volume.name !== null && volume.labels !== undefined) await this.cli(volumeCreateCommand(volume.name, volume.labels));
    }
    const command = createCommand(spec, await this.supportedVersion(), {
      start: options.start,
      isFile: (path) => statSync(path).isFile(),
      netAdmin: spec.netAdmin === true,
    });
    return this.cli(command);
  }

  async start(name: string): Promise<void> {
    await this.cli(startCommand(name));
  }

  async stop(name: string, options: StopOptions = {}): Promise<void> {
    // Up to 0.9, stop silently ignored unknown ids; Berth reports them the same way everywhere.
    if (!atLeast(await this.version(), '0.10.0')) await this.inspect(name);
    const grace = Math.max(0, Math.round(options.graceSeconds ?? DEFAULT_STOP_GRACE_SECONDS));
    await this.cli(stopCommand(name, grace, this.timeoutMs));
  }

  async remove(name: string, options: RemoveOptions = {}): Promise<void> {
    try {
      await this.cli(deleteCommand(name, options.force ?? false));
    } catch (error) {
      if (options.force && isBerthError(error, 'E_NOT_FOUND')) return;
      throw error;
    }
  }

  async exec<E extends ExecEncoding = 'utf8'>(name: string, argv: readonly string[], options: ExecOptions<E> = {}): Promise<ExecResult<ExecOutput<E>>> {
    validateContainerName(name);
    validateEnv(options.env, 'exec');
    return this.cli(execCommand(name, argv, options));
  }

  async execInteractive(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    validateContainerName(name);
    validateEnv(options.env, 'shell');
    return this.runner.interactive(interactiveExecCommand(name, argv, options, options.tty ?? process.stdin.isTTY));
  }

  /** Apple's `container` has no API socket to reach: its CLI's `exec -it`, under a pseudo-terminal. */
  terminal(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<TerminalRoute> {
    validateContainerName(name);
    validateEnv(options.env, 'terminal');
    return Promise.resolve({ via: 'host-pty', ...this.runner.commandLine(interactiveExecCommand(name, argv, options, true)) });
  }

  async copyIn(name: string, hostPath: string, containerPath: string): Promise<void> {
    const version = await this.supportedVersion();
    if (!has(version, 'cp') || !cpCanSay(hostPath, containerPath)) return copyInWithTar(this.tarHost(name), hostPath, containerPath);
    // Into an existing folder the source keeps its name (docker cp semantics); Apple says so with a trailing slash.
    const isDir = !containerPath.endsWith('/') && (await this.exec(name, ['test', '-d', containerPath])).exitCode === 0;
    await this.cli(copyCommand(version, hostPath, `${name}:${containerPath}${isDir ? '/' : ''}`, name));
  }

  async copyOut(name: string, containerPath: string, hostPath: string): Promise<void> {
    const version = await this.supportedVersion();
    if (!has(version, 'cp') || !cpCanSay(hostPath, containerPath)) return copyOutWithTar(this.tarHost(name), containerPath, hostPath);
    const isDir = existsSync(hostPath) && statSync(hostPath).isDirectory() && !hostPath.endsWith('/');
    await this.cli(copyCommand(version, `${name}:${containerPath}`, `${hostPath}${isDir ? '/' : ''}`, name));
  }

  logs(name: string, options: LogsOptions = {}): Promise<LogsResult> {
    return this.cli(logsCommand(name, options));
  }

  imageInspect(ref: string): Promise<ImageInfo> {
    return this.cli(imageInspectCommand(ref));
  }

  async buildImage(options: BuildImageOptions): Promise<ImageInfo> {
    validateEnv(options.buildArgs, 'build args');
    await this.cli(buildCommand(options));
    return this.imageInspect(options.tag);
  }

  networkEnsure(spec: NetworkSpec): Promise<NetworkInfo> {
    return ensureNetwork(
      () => this.cli(networkInspectCommand(spec.name)),
      async () => this.cli(networkCreateCommand(spec, await this.supportedVersion())),
    );
  }

  async networkRemove(name: string): Promise<void> {
    await this.cli(networkRemoveCommand(name));
  }

  /** Named volumes Berth made with these labels (gc takes those of gone workspaces). */
  listVolumes(labels: Readonly<Record<string, string>>): Promise<VolumeInfo[]> {
    return this.cli(volumeListCommand(labels));
  }

  async removeVolume(name: string): Promise<void> {
    await this.cli(volumeDeleteCommand(name));
  }

  /** The builtin network every container joins unless told otherwise (doctor shows its subnet). */
  defaultNetwork(): Promise<NetworkInfo> {
    return this.cli(networkInspectCommand('default'));
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
      run: (args, input) => {
        const chunks: Buffer[] = [];
        return this.cli({ args, env: {}, subject: { container: name }, io: { input, onStdout: (chunk) => chunks.push(chunk) }, parse: () => Buffer.concat(chunks) });
      },
    };
  }

  /**
   * One CLI call on a supported version. When the system is down (XPC "Connection invalid") and
   * Berth may start it, it does so and runs the call once more; it never restarts a running system.
   */
  private async cli<T>(spec: CommandSpec<T>): Promise<T> {
    await this.supportedVersion();
    try {
      return await this.runner.run(spec);
    } catch (error) {
      const systemDown = isBerthError(error, 'E_RUNTIME_UNAVAILABLE') && isSystemDown(String((error.cause as { stderr?: string } | undefined)?.stderr ?? ''));
      if (!systemDown || !this.startSystem) throw error;
      this.starting ??= this.ensureSystem({ start: true }).finally(() => (this.starting = undefined));
      const status = await this.starting;
      if (!status.running) throw new BerthError('E_RUNTIME_UNAVAILABLE', `apple: the container system is not running and could not be started: ${status.detail}`, { hint: SYSTEM_HINT, cause: error });
      return this.runner.run(spec);
    }
  }
}
