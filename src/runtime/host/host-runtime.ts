import { randomUUID } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { arch, homedir, platform } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { z } from 'zod';
import { BerthError, isErrno } from '../../errors.js';
import { resolveExecutable, runInteractive, runStreaming } from '../../process/index.js';
import { ExecOutputCollector, execCwd } from '../exec-io.js';
import { conflict, notFound, notRunning, unsupported } from '../errors.js';
import { matchesFilter } from '../list-filter.js';
import { validateContainerName, validateContainerSpec, validateEnv } from '../validate-spec.js';
import { requireHostUser } from './host-user.js';
import type {
  ContainerInfo,
  ContainerSpec,
  CreateOptions,
  ExecEncoding,
  ExecOptions,
  ExecOutput,
  ExecResult,
  ImageInfo,
  InteractiveExecOptions,
  TerminalRoute,
  ListFilter,
  LogsResult,
  Mount,
  NetworkInfo,
  Observation,
  Runtime,
  RuntimeCapabilities,
  RuntimeInfo,
  SystemStatus,
} from '../types.js';
import { publishPreview, unpublishAll, unpublishPreview } from './preview.js';
import { enterArgv, terminalArgv, holderAlive, policyFor, probeSandbox, startHolder, stopHolder, type Holder, type SandboxContext, type SandboxMode } from './sandbox.js';

/** The label on a host workspace that says what confines it: `sandbox` or `none`. */
export const ISOLATION_LABEL = 'berth.isolation';

const CAPABILITIES: Omit<RuntimeCapabilities, 'isolation'> = Object.freeze({
  containerIp: false,
  publishPorts: false,
  internalNetworks: false,
  internalNetworkRoutesOut: false,
  resourceLimits: false,
  images: false,
  systemService: false,
});

const hostRecord = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.enum(['created', 'running', 'stopped']),
  labels: z.record(z.string(), z.string()),
  mounts: z.array(z.object({ source: z.string(), target: z.string(), readOnly: z.boolean() })),
  env: z.record(z.string(), z.string()),
  workdir: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  /** Confined by bubblewrap, and where its egress proxy listens (null: no egress control). */
  sandbox: z.object({ proxyPort: z.number().int().nullable() }).nullable().default(null),
  /** The running sandbox, while there is one (started with the workspace, again when found gone). */
  holder: z.object({ pid: z.number().int(), inner: z.number().int(), bridge: z.number().int().nullable() }).nullable().default(null),
});
type HostRecord = z.infer<typeof hostRecord>;

export interface HostRuntimeOptions {
  /** Where the records of host-mode "containers" live, e.g. `$BERTH_HOME/host`. */
  stateDir: string;
  /** Berth's home (hidden from sandboxed workspaces). Default: the parent of stateDir. */
  berthHome?: string | undefined;
  /** The home a sandboxed workspace sees empty. Default: this user's. */
  userHome?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** For specs that do not choose (`sandbox`). Default `auto`. */
  sandbox?: SandboxMode | undefined;
}

/**
 * Host mode: the fallback when no container runtime is available. A "container" is a record on
 * disk; exec runs on this machine, in the folder mounted at the container path asked for (the
 * workspace root for `/workspace`), with the container's env. On Linux with bubblewrap, inside a
 * sandbox (sandbox-policy.ts): the system read-only, the home empty, the root and extras bound at
 * their own paths, and with egress control no network but the proxy. Without one nothing is
 * isolated: the record's `berth.isolation` label says so, and callers must tell the user.
 */
export class HostRuntime implements Runtime {
  readonly kind = 'host' as const;
  readonly capabilities: RuntimeCapabilities;
  private readonly stateDir: string;
  private readonly context: SandboxContext;
  private readonly defaultSandbox: SandboxMode;

  constructor(options: HostRuntimeOptions) {
    this.stateDir = options.stateDir;
    this.defaultSandbox = options.sandbox ?? 'auto';
    const env = options.env ?? process.env;
    this.context = { home: options.userHome ?? homedir(), berthHome: options.berthHome ?? dirname(options.stateDir), env };
    // Whether namespaces work is asked at create (probeSandbox); this says whether it can be asked.
    const isolation = platform() === 'linux' && resolveExecutable('bwrap', env) !== undefined ? 'sandbox' : 'none';
    this.capabilities = Object.freeze({ ...CAPABILITIES, isolation });
  }

  info(): Promise<RuntimeInfo> {
    return Promise.resolve({ kind: 'host', version: process.version, serverVersion: null, binary: null, os: platform(), arch: arch() });
  }

  async ensureSystem(): Promise<SystemStatus> {
    const support = await probeSandbox();
    const detail = support.works ? `host mode: commands run on this machine, sandboxed: ${support.detail}` : `host mode: commands run directly on this machine, without isolation (${support.detail})`;
    return { running: true, detail };
  }

  async list(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    let files: string[];
    try {
      files = await readdir(this.stateDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const infos: ContainerInfo[] = [];
    for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
      const record = await this.read(file.slice(0, -'.json'.length)).catch(() => undefined);
      if (record && matchesFilter(record, filter)) infos.push(toInfo(record));
    }
    return infos;
  }

  async inspect(name: string): Promise<ContainerInfo> {
    return toInfo(await this.load(name));
  }

  async observe(name: string): Promise<Observation> {
    validateContainerName(name);
    const record = await this.read(name);
    return { container: record ? toInfo(record) : null, image: null };
  }

  async create(spec: ContainerSpec, options: CreateOptions = {}): Promise<string> {
    validateContainerSpec(spec);
    // `hostUser` needs nothing: every command already runs as the user Berth runs as.
    requireHostUser(spec.user, 'the workspace');
    const asked = [...(spec.privileged ? ['privileged'] : []), ...[spec.capAdd, spec.securityOpt, spec.addHosts, spec.devices].flatMap((list) => list ?? [])];
    if (asked.length > 0) {
      // The workspace's processes are this user's own: there is no container to give them to.
      throw new BerthError('E_UNSUPPORTED', `Host mode runs the workspace as your own processes; it cannot give them ${asked.join(', ')}.`, {
        hint: 'Remove them (runArgs, capAdd, securityOpt, privileged), or bring the workspace up on docker or podman (--runtime).',
      });
    }
    refuseContainerMounts(spec);
    const sandboxed = await this.decideSandbox(spec.sandbox ?? this.defaultSandbox);
    const record: HostRecord = {
      id: randomUUID(),
      name: spec.name,
      image: spec.image,
      state: 'created',
      labels: { ...spec.labels, [ISOLATION_LABEL]: sandboxed ? 'sandbox' : 'none' },
      mounts: (spec.mounts ?? []).map((m) => ({ ...m })),
      env: { ...spec.env },
      workdir: spec.workdir ?? null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      sandbox: sandboxed ? { proxyPort: spec.egressProxyPort ?? null } : null,
      holder: null,
    };
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    // The records hold env values: 0700 even if the folder was made looser before.
    await chmod(this.stateDir, 0o700);
    try {
      // 'wx' fails if the file exists: the name check and the claim are one atomic step.
      await writeFile(this.path(spec.name), JSON.stringify(record, null, 2), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if (isErrno(error, 'EEXIST')) {
        throw conflict('host', spec.name, `the name "${spec.name}" is already in use.`, 'Choose another name, or remove the existing one if it is yours.');
      }
      throw error;
    }
    if (options.start) await this.start(spec.name);
    return record.id;
  }

  async start(name: string): Promise<void> {
    const record = await this.load(name);
    // Engines refuse to start a container whose bind source vanished; host mode does the same,
    // so a ghost workspace is recognised the same way on every runtime.
    const missing = record.mounts.find((m) => !existsSync(m.source));
    if (missing) {
      throw new BerthError('E_RUNTIME_FAILED', `host: cannot start "${name}": mount source ${missing.source} does not exist.`, {
        hint: 'Recreate the workspace, or restore the folder.',
      });
    }
    const started: HostRecord = { ...record, state: 'running', startedAt: new Date().toISOString() };
    await this.save(started);
    await this.sandboxOf(started);
  }

  async stop(name: string): Promise<void> {
    const record = await this.load(name);
    await this.endSandbox(record);
    if (record.state !== 'running') {
      if (record.holder) await this.save({ ...record, holder: null });
      return;
    }
    await this.save({ ...record, state: 'stopped', holder: null });
  }

  async remove(name: string, options: { force?: boolean | undefined } = {}): Promise<void> {
    validateContainerName(name);
    // By name, or by the id create() returned, as engines accept either (Berth removes by id).
    const record = (await this.read(name)) ?? (await this.findById(name));
    if (!record) {
      if (options.force) return;
      throw notFound('host', 'container', name);
    }
    if (record.state === 'running' && !options.force) {
      throw conflict('host', name, `container "${name}" is running.`, 'Stop it first, or remove with force.');
    }
    await this.endSandbox(record);
    await unlink(this.path(record.name));
    // Retried: a preview being published as the workspace goes can add an entry mid-removal (ENOTEMPTY).
    await rm(this.sandboxDir(record), { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }

  async exec<E extends ExecEncoding = 'utf8'>(name: string, argv: readonly string[], options: ExecOptions<E> = {}): Promise<ExecResult<ExecOutput<E>>> {
    validateEnv(options.env, 'exec');
    requireHostUser(options.user, 'exec');
    const record = await this.loadRunning(name);
    const cwd = await this.workdir(record, execCwd(options));
    const holder = await this.sandboxOf(record);
    const output = new ExecOutputCollector(options);
    const result = await runStreaming(holder ? enterArgv(holder, cwd, argv, options.workspaceProcesses === true) : argv, {
      cwd,
      env: { ...process.env, ...record.env, ...options.env },
      ...output.processIo(),
    });
    return output.result(result.exitCode, result.durationMs);
  }

  async execInteractive(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<number> {
    validateEnv(options.env, 'shell');
    requireHostUser(options.user, 'a shell');
    const record = await this.loadRunning(name);
    const cwd = await this.workdir(record, options.workdir);
    const holder = await this.sandboxOf(record);
    return runInteractive(holder ? enterArgv(holder, cwd, terminalArgv(argv), false) : argv, {
      cwd,
      env: { ...process.env, ...record.env, ...options.env },
    });
  }

  /** The sandbox's entry (or, unconfined, the command itself), under a pseudo-terminal. */
  async terminal(name: string, argv: readonly string[], options: InteractiveExecOptions = {}): Promise<TerminalRoute> {
    validateEnv(options.env, 'terminal');
    requireHostUser(options.user, 'a terminal');
    const record = await this.loadRunning(name);
    const cwd = await this.workdir(record, options.workdir);
    const holder = await this.sandboxOf(record);
    return { via: 'host-pty', argv: holder ? enterArgv(holder, cwd, terminalArgv(argv), false) : [...argv], cwd, env: { ...process.env, ...record.env, ...options.env } };
  }

  async copyIn(name: string, hostPath: string, containerPath: string): Promise<void> {
    const record = await this.load(name);
    await copyLikeDocker(hostPath, await this.hostPathOf(record, containerPath));
  }

  async copyOut(name: string, containerPath: string, hostPath: string): Promise<void> {
    const record = await this.load(name);
    await copyLikeDocker(await this.hostPathOf(record, containerPath), hostPath);
  }

  async logs(name: string): Promise<LogsResult> {
    await this.load(name);
    // A host-mode workspace has no main process, so it has no output of its own.
    return { stdout: '', stderr: '' };
  }

  imageInspect(): Promise<ImageInfo> {
    return Promise.reject(unsupported('host', 'inspect images', 'host mode runs on this machine and has no images.'));
  }

  buildImage(): Promise<ImageInfo> {
    return Promise.reject(unsupported('host', 'build images', 'host mode runs on this machine and has no images.'));
  }

  networkEnsure(): Promise<NetworkInfo> {
    return Promise.reject(unsupported('host', 'create networks', 'host mode shares the host network; egress cannot be enforced.'));
  }

  networkRemove(): Promise<void> {
    return Promise.reject(unsupported('host', 'remove networks', 'host mode has no networks of its own.'));
  }

  async publishLoopback(name: string, host: string, port: number): Promise<number | null> {
    const record = await this.loadRunning(name);
    // Unconfined, or sandboxed on the host's network: the server is on the host's loopback already.
    if (record.sandbox === null || record.sandbox.proxyPort === null) return null;
    const holder = await this.sandboxOf(record);
    return holder === null ? null : publishPreview(holder, this.sandboxDir(record), host, port);
  }

  async unpublishLoopback(name: string, port: number): Promise<void> {
    const record = await this.load(name);
    if (record.sandbox !== null) await unpublishPreview(this.sandboxDir(record), port);
  }

  /**
   * auto: sandboxed where this machine can make namespaces; otherwise up fails and says how to fix
   * it, unless the user chose off (unconfined, which ensure reports loudly).
   */
  private async decideSandbox(mode: SandboxMode): Promise<boolean> {
    if (mode === 'off') return false;
    const support = await probeSandbox();
    if (support.works) return true;
    if (mode === 'auto' && support.kind === 'seatbelt') return false; // unverified on a Mac: unconfined, reported
    throw new BerthError('E_UNSUPPORTED', `host: cannot sandbox the workspace: ${support.detail}`, { hint: support.hint });
  }

  /** The workspace's running sandbox, started when it is not there (a reboot, a kill); null when unconfined. */
  private async sandboxOf(record: HostRecord): Promise<Holder | null> {
    if (record.sandbox === null) return null;
    const dir = this.sandboxDir(record);
    if (record.holder && holderAlive(record.holder, dir)) return record.holder;
    await this.endSandbox(record);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const mounts = record.mounts.map((m) => ({ source: m.source, readOnly: m.readOnly }));
    // Berth's dev-server state for this workspace (logs, pid files) is the one part of its home bound in.
    const workspace = record.labels['berth.workspace'];
    if (workspace !== undefined) {
      const devDir = join(this.context.berthHome, 'dev', workspace);
      await mkdir(devDir, { recursive: true, mode: 0o700 });
      mounts.push({ source: devDir, readOnly: false });
    }
    const holder = await startHolder(policyFor(mounts, dir, record.sandbox.proxyPort, this.context), dir);
    await this.save({ ...record, holder });
    return holder;
  }

  /**
   * Where a workspace path is on this machine. In a running sandbox, through its root as the kernel
   * shows it (/proc/PID/root): its private /tmp, and the read-only system refuses writes as inside.
   */
  private async hostPathOf(record: HostRecord, containerPath: string): Promise<string> {
    const holder = record.state === 'running' ? await this.sandboxOf(record) : null;
    if (holder === null) return hostPathFor(record.mounts, containerPath);
    return join(`/proc/${String(holder.inner)}/root`, hostPathFor(record.mounts, containerPath));
  }

  private async endSandbox(record: HostRecord): Promise<void> {
    if (record.holder) await stopHolder(record.holder);
    await unpublishAll(this.sandboxDir(record));
  }

  private sandboxDir(record: HostRecord): string {
    return join(this.stateDir, `${record.id.slice(0, 8)}.sandbox`);
  }

  private async workdir(record: HostRecord, requested: string | undefined): Promise<string> {
    const containerPath = requested ?? record.workdir ?? '/workspace';
    const dir = hostPathFor(record.mounts, containerPath);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new BerthError('E_INVALID_INPUT', `host: working folder ${containerPath} (${dir} on this machine) does not exist.`, {
        hint: 'Mount a folder at that path, or choose an existing working folder.',
      });
    }
    return dir;
  }

  private async loadRunning(name: string): Promise<HostRecord> {
    const record = await this.load(name);
    if (record.state !== 'running') throw notRunning('host', name);
    return record;
  }

  /** By name, or by the id create() returned (as engines accept either). */
  private async load(nameOrId: string): Promise<HostRecord> {
    validateContainerName(nameOrId);
    const record = (await this.read(nameOrId)) ?? (await this.findById(nameOrId));
    if (!record) throw notFound('host', 'container', nameOrId);
    return record;
  }

  private async findById(id: string): Promise<HostRecord | undefined> {
    const all = await this.list();
    const match = all.find((info) => info.id === id);
    return match ? this.read(match.name) : undefined;
  }

  private async read(name: string): Promise<HostRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.path(name), 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
    return hostRecord.parse(JSON.parse(text));
  }

  private async save(record: HostRecord): Promise<void> {
    // Write then rename, so a crash never leaves half a record behind.
    const temp = `${this.path(record.name)}.${process.pid.toString()}.tmp`;
    await writeFile(temp, JSON.stringify(record, null, 2), { mode: 0o600 });
    await rename(temp, this.path(record.name));
  }

  private path(name: string): string {
    return join(this.stateDir, `${name}.json`);
  }
}

function toInfo(record: HostRecord): ContainerInfo {
  return {
    id: record.id,
    name: record.name,
    state: record.state,
    image: record.image,
    imageId: null,
    labels: { ...record.labels },
    mounts: record.mounts.map((m) => ({ ...m })),
    ip: null,
    ports: [],
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    exitCode: null,
    cpus: null,
    memoryBytes: null,
  };
}

/**
 * Maps a container path to the host path behind it: through the deepest mount that contains it,
 * else the same path (host mode has no filesystem of its own).
 */
export function hostPathFor(mounts: readonly Mount[], containerPath: string): string {
  const path = withoutTrailingSlash(posix.normalize(containerPath));
  const targets = mounts.map((m) => ({ source: m.source, target: withoutTrailingSlash(posix.normalize(m.target)) }));
  const mount = targets
    .sort((a, b) => b.target.length - a.target.length)
    .find((m) => path === m.target || path.startsWith(m.target === '/' ? '/' : `${m.target}/`));
  if (!mount) return path;
  return join(mount.source, path.slice(mount.target.length));
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** `docker cp` semantics: into an existing folder the source keeps its name; otherwise it becomes the target. */
async function copyLikeDocker(from: string, to: string): Promise<void> {
  const target = await stat(to).catch(() => undefined);
  const destination = target?.isDirectory() ? join(to, basename(from)) : to;
  try {
    await cp(from, destination, { recursive: true, force: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT')) {
      throw new BerthError('E_NOT_FOUND', `host: cannot copy ${from}: no such file or folder.`, { hint: 'Check the path.' });
    }
    throw error;
  }
}

/**
 * Host mode has no engine to keep volumes or mount a tmpfs, and its sandbox binds each folder at
 * its own path: only the root may sit elsewhere (commands map its path). Refused, never dropped.
 */
function refuseContainerMounts(spec: ContainerSpec): void {
  const kinds = [(spec.volumes ?? []).length > 0 ? 'volume' : null, (spec.tmpfs ?? []).length > 0 ? 'tmpfs' : null].filter((k) => k !== null);
  if (kinds.length > 0) {
    throw new BerthError('E_UNSUPPORTED', `Host mode cannot make ${kinds.join(' or ')} mounts (${[...(spec.volumes ?? []), ...(spec.tmpfs ?? [])].map((m) => m.target).join(', ')}): there is no container engine to keep them.`, {
      hint: 'Use a container runtime for this workspace (--runtime), or replace them with bind mounts of folders on this machine.',
    });
  }
  // The first is the root (workspace/mounts.ts puts it there), mapped by path; the others are bound
  // where they are. A mount named through a symlink has the link's path as target and the folder's
  // real path as source: that is the same folder, not a move.
  const moved = (spec.mounts ?? []).slice(1).find((m) => m.target !== m.source && realPathOf(m.target) !== m.source);
  if (moved) {
    throw new BerthError('E_UNSUPPORTED', `Host mode cannot show ${moved.source} at another path (${moved.target}): its commands see host folders where they are.`, {
      hint: 'Mount the folder at its own path, or use a container runtime for this workspace (--runtime).',
    });
  }
}

function realPathOf(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
