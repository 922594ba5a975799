/**
 * The seam between Berth and the runtimes it orchestrates. Everything here is ours: adapters parse
 * vendor output into these types, and no vendor type crosses this line.
 */

import type { RuntimeKind } from './kinds.js';

export { RUNTIME_KINDS, type RuntimeKind } from './kinds.js';

/** Engines say "exited", "stopped", "configured"...; Berth needs only these. */
export type ContainerState = 'created' | 'running' | 'stopped' | 'paused' | 'unknown';

export interface Mount {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
}

/**
 * A volume the engine keeps: named (made on first use, kept when its container is removed or
 * recreated; `labels` go on it when the runtime makes it) or anonymous (`name` null: made with
 * its container, removed with it).
 */
export interface VolumeMount {
  name: string | null;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
  labels?: Readonly<Record<string, string>> | undefined;
}

/** A named volume as the engine lists it (`volume ls` / `volume inspect`). */
export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
  /** When the engine made it (RFC 3339), null when it does not say. */
  createdAt: string | null;
}

/** A memory-backed folder, empty at every start. */
export interface TmpfsMount {
  /** Absolute path inside the container. */
  target: string;
}

export interface PublishedPort {
  hostAddress: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** argv of the main process; the image's default when omitted. */
  command?: readonly string[] | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  /** Bind mounts of host paths. */
  mounts?: readonly Mount[] | undefined;
  /** Engine volumes (docker, podman; refused where the runtime has none it can make). */
  volumes?: readonly VolumeMount[] | undefined;
  tmpfs?: readonly TmpfsMount[] | undefined;
  workdir?: string | undefined;
  /** The main process's user, hence every exec's unless it names one: `name|uid[:group|gid]`, as engines take it. */
  user?: string | undefined;
  /**
   * Files the workspace writes on its mounts are owned by this host user (workspace spec `user:
   * host`): docker and rootful podman run as it (`--user uid:gid`), rootless podman maps it
   * (`--userns keep-id`), rootless docker runs as root (which is this user on the host); Apple
   * `container` and host mode need nothing (docs/DESIGN.md, "The workspace's user").
   */
  hostUser?: { uid: number; gid: number } | undefined;
  cpus?: number | undefined;
  memoryBytes?: number | undefined;
  network?: string | undefined;
  /**
   * The container's resolvers (`--dns`; docker and podman). docker's embedded resolver forwards to
   * these from inside the container's network namespace; without them it forwards to the host's
   * loopback resolvers (systemd-resolved's 127.0.0.53) from the HOST's, around an internal network.
   */
  dnsServers?: readonly string[] | undefined;
  ports?: readonly PublishedPort[] | undefined;
  /** A tiny init as PID 1 that forwards signals and reaps zombies, so stop is prompt. */
  init?: boolean | undefined;
  /** Host mode: confine the workspace's processes (runtime/host/sandbox.ts). Default `auto`; engines ignore it. */
  sandbox?: 'auto' | 'on' | 'off' | undefined;
  /**
   * The host loopback port of the workspace's egress proxy, when egress is controlled: host mode's
   * sandbox has no network but a relay to it. Engines ignore it (their proxy is on the gateway).
   */
  egressProxyPort?: number | undefined;
  /**
   * Grant the main process CAP_NET_ADMIN: set by the egress side when the main process is the
   * guest firewall, which sets its rules with it (Apple; docker/podman enforce egress on the host
   * and ignore it). Every exec drops it again (the exec fence).
   */
  netAdmin?: boolean | undefined;
  /**
   * Beyond the engine's default capabilities (`--cap-add`; names without `CAP_`). Granted by the
   * workspace layer only under its rules (workspace/privileges.ts); a runtime that cannot grant
   * one refuses the create.
   */
  capAdd?: readonly string[] | undefined;
  /** `--security-opt` values (docker and podman). */
  securityOpt?: readonly string[] | undefined;
  /** `--privileged` (docker and podman). */
  privileged?: boolean | undefined;
  /** `name:address` lines added to the container's /etc/hosts (`--add-host`; docker and podman). */
  addHosts?: readonly string[] | undefined;
  /** Host devices, `/dev/x[:/dev/y[:rwm]]` (`--device`; docker and podman). */
  devices?: readonly string[] | undefined;
}

export interface CreateOptions {
  start?: boolean | undefined;
}

export interface ContainerInfo {
  id: string;
  name: string;
  state: ContainerState;
  /** The image reference the container was created from. */
  image: string;
  /** The image's content id (no `sha256:` prefix), when the runtime reports one. */
  imageId: string | null;
  labels: Record<string, string>;
  mounts: Mount[];
  /** Address reachable from the host, or null (stopped, host mode, no network). */
  ip: string | null;
  ports: PublishedPort[];
  createdAt: string | null;
  startedAt: string | null;
  exitCode: number | null;
  /** Limits as the runtime recorded them; null when unlimited or not applicable (host mode). */
  cpus: number | null;
  memoryBytes: number | null;
}

/**
 * What a listing shows of a container: what one engine list call says of all of them at once (no
 * limits, exit code, mounts or times: those take an inspect per container).
 */
export type ContainerBrief = Pick<ContainerInfo, 'id' | 'name' | 'state' | 'image' | 'imageId' | 'labels' | 'ip' | 'ports'>;

/** What ensure needs to decide: the container as it is, and what its image reference points at now. */
export interface Observation {
  container: ContainerInfo | null;
  /** null when the reference names no image (or the runtime has no images). */
  image: ImageInfo | null;
}

export interface ListFilter {
  /** Every label must match; `true` means "present with any value". */
  labels?: Readonly<Record<string, string | true>> | undefined;
  /**
   * Only containers whose name starts with this, whatever their labels: one list then shows both
   * Berth's containers and foreign ones that took a `berth-` name (the reconciler's single observe).
   */
  namePrefix?: string | undefined;
}

/** How exec hands output back: text (UTF-8, the default) or the bytes as they came. */
export type ExecEncoding = 'utf8' | 'buffer';

/** The type of an exec result's `stdout`/`stderr` for an encoding. */
export type ExecOutput<E extends ExecEncoding> = E extends 'buffer' ? Buffer : string;

export interface ExecOptions<E extends ExecEncoding = 'utf8'> {
  env?: Readonly<Record<string, string>> | undefined;
  /**
   * Run among the workspace's own processes, so what the command leaves in the background outlives
   * it (a dev server's launch, scans, kills), as every exec in a container does. Without it a
   * sandboxed host exec gets a process namespace of its own that ends with it, and with Berth.
   */
  workspaceProcesses?: boolean | undefined;
  /** The command's working directory (default: the workspace's). */
  cwd?: string | undefined;
  /** The old name of `cwd`; `cwd` wins when both are given. */
  workdir?: string | undefined;
  user?: string | undefined;
  /**
   * Written to the process's stdin, which is then closed (a stream: piped until it ends). Without
   * it the command's stdin is empty.
   */
  stdin?: string | Uint8Array | NodeJS.ReadableStream | undefined;
  /** The old name of `stdin`; `stdin` wins when both are given. */
  input?: string | Uint8Array | undefined;
  /** Each stdout chunk as it comes; the result's `stdout` is then empty (nothing is kept twice). */
  onStdout?: ((chunk: Buffer) => void) | undefined;
  /** Each stderr chunk as it comes, apart from stdout; the result's `stderr` is then empty. */
  onStderr?: ((chunk: Buffer) => void) | undefined;
  /** `buffer`: the result's stdout/stderr are the bytes as they came; default `utf8` text. */
  encoding?: E | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ExecResult<T extends string | Buffer = string> {
  exitCode: number;
  stdout: T;
  stderr: T;
  durationMs: number;
}

export interface InteractiveExecOptions {
  env?: Readonly<Record<string, string>> | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  /** Allocate a terminal; default: when this process's stdin is one. */
  tty?: boolean | undefined;
}

/**
 * How a terminal reaches a command in a container (Runtime.terminal): a TTY exec over the engine's
 * API socket where the engine has one (hijacked stream, resize endpoint), else a command line that
 * a pseudo-terminal on this machine runs (the CLI's `exec --interactive --tty`, host mode's
 * sandbox entry or the command itself).
 */
export type TerminalRoute =
  | { via: 'engine-api'; socketPath: string; container: string; /** When the socket does not answer. */ fallback: HostPtyRoute }
  | HostPtyRoute;

export interface HostPtyRoute {
  via: 'host-pty';
  /** The program and its arguments, run on this machine under a pseudo-terminal. */
  argv: string[];
  cwd?: string | undefined;
  env: NodeJS.ProcessEnv;
}

export interface StopOptions {
  /** Seconds between the polite signal and SIGKILL. Default 10. */
  graceSeconds?: number | undefined;
}

export interface RemoveOptions {
  /** Remove even when running (kill first). */
  force?: boolean | undefined;
}

export interface LogsOptions {
  follow?: boolean | undefined;
  /** Only the last N lines. */
  tail?: number | undefined;
  signal?: AbortSignal | undefined;
  onStdout?: ((chunk: Buffer) => void) | undefined;
  onStderr?: ((chunk: Buffer) => void) | undefined;
}

export interface LogsResult {
  /** Collected output; empty for a stream that went to a callback. */
  stdout: string;
  stderr: string;
}

export interface ImageInfo {
  /** Content id without `sha256:`. */
  id: string;
  tags: string[];
  labels: Record<string, string>;
  createdAt: string | null;
  sizeBytes: number | null;
  /** The image's USER (empty: root); absent where the runtime does not say (Apple, host). */
  user?: string | undefined;
}

export interface BuildImageOptions {
  contextDir: string;
  /** Path to the Dockerfile; default `<contextDir>/Dockerfile`. */
  dockerfile?: string | undefined;
  tag: string;
  buildArgs?: Readonly<Record<string, string>> | undefined;
  /** The Dockerfile stage to build (`--target`); default the last one. */
  target?: string | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  onOutput?: ((chunk: Buffer) => void) | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface NetworkSpec {
  name: string;
  /** No route out of the network: the way egress is enforced on docker and podman. */
  internal?: boolean | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
}

export interface NetworkInfo {
  name: string;
  id: string;
  internal: boolean;
  subnet: string | null;
  gateway: string | null;
  labels: Record<string, string>;
  /** The host's interface for this network (a Linux bridge), when the runtime has one. */
  bridge: string | null;
}

export interface RuntimeInfo {
  kind: RuntimeKind;
  /** Client version (the CLI). */
  version: string;
  /** Server or system version, where the runtime has one. */
  serverVersion: string | null;
  /** The executable Berth drives, or null in host mode. */
  binary: string | null;
  os: string;
  arch: string;
}

export interface SystemStatus {
  running: boolean;
  /** One sentence for doctor and status. */
  detail: string;
}

export interface EnsureSystemOptions {
  /** Start a stopped runtime system (Apple) when the user allowed it. */
  start?: boolean | undefined;
}

/** What an adapter can and cannot do. Callers check these; nothing silently no-ops. */
export interface RuntimeCapabilities {
  /**
   * What confines a workspace: `container` (docker, podman, Apple); in host mode `sandbox` where this
   * machine can make one (bubblewrap), else `none`. A host workspace's own choice (`sandbox: off`)
   * is in its `berth.isolation` label. Only `container` means a filesystem and process table of its own.
   */
  isolation: 'container' | 'sandbox' | 'none';
  /** Containers get an address of their own that the host can reach. */
  containerIp: boolean;
  /** Host ports can be published (at create time; no runtime adds them later). */
  publishPorts: boolean;
  /** Networks without a route out exist, so egress can be enforced by the network. */
  internalNetworks: boolean;
  /**
   * Those internal networks still route raw IP out of the guest (Apple container, apple/container#2062):
   * egress control adds a firewall inside the guest.
   */
  internalNetworkRoutesOut: boolean;
  /** cpus and memory limits are applied. */
  resourceLimits: boolean;
  /** Images exist: inspect, build. */
  images: boolean;
  /** The runtime has a system service Berth may need to start (Apple `container system`). */
  systemService: boolean;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  readonly capabilities: RuntimeCapabilities;

  info(): Promise<RuntimeInfo>;
  /** Is the runtime ready for work; start its system service when allowed. Never throws for "not running". */
  ensureSystem(options?: EnsureSystemOptions): Promise<SystemStatus>;

  list(filter?: ListFilter): Promise<ContainerInfo[]>;
  /**
   * A cheaper list for listings (`ls`, `GET /workspaces`, published ports): one engine API call
   * where the runtime has an API socket. Absent: `list` is as cheap as it gets.
   */
  listBrief?(filter?: ListFilter): Promise<ContainerBrief[]>;
  /** Throws E_NOT_FOUND for an unknown container. */
  inspect(name: string): Promise<ContainerInfo>;
  /** Container and image in one engine call where the runtime can; missing ones are null, not errors. */
  observe(name: string, imageRef: string): Promise<Observation>;
  /**
   * Creates, and with `start` also starts in the same engine call (`run --detach`); returns the id.
   * Throws E_CONFLICT when the name is taken, E_NOT_FOUND for a missing image. Never pulls. A
   * container that was created but failed to start is left for the caller to remove.
   */
  create(spec: ContainerSpec, options?: CreateOptions): Promise<string>;
  start(name: string): Promise<void>;
  /** Idempotent: stopping a stopped container succeeds. */
  stop(name: string, options?: StopOptions): Promise<void>;
  /** Throws E_NOT_FOUND for an unknown container, except with force: then "gone" is success. */
  remove(name: string, options?: RemoveOptions): Promise<void>;

  /** The command's exit code comes back in the result; only runtime failures throw (E_NOT_FOUND, E_NOT_RUNNING). */
  exec<E extends ExecEncoding = 'utf8'>(name: string, argv: readonly string[], options?: ExecOptions<E>): Promise<ExecResult<ExecOutput<E>>>;
  /** Attached to this terminal; resolves to the exit code. */
  execInteractive(name: string, argv: readonly string[], options?: InteractiveExecOptions): Promise<number>;
  /** Where a terminal running `argv` comes from (workspace/pty.ts opens it); `tty` is ignored: it always has one. */
  terminal(name: string, argv: readonly string[], options?: InteractiveExecOptions): Promise<TerminalRoute>;
  copyIn(name: string, hostPath: string, containerPath: string): Promise<void>;
  copyOut(name: string, containerPath: string, hostPath: string): Promise<void>;
  logs(name: string, options?: LogsOptions): Promise<LogsResult>;

  /** Throws E_NOT_FOUND for an unknown image. */
  imageInspect(ref: string): Promise<ImageInfo>;
  buildImage(options: BuildImageOptions): Promise<ImageInfo>;
  /** Creates the network unless one with this name exists; returns it either way. */
  networkEnsure(spec: NetworkSpec): Promise<NetworkInfo>;
  /** Throws E_NOT_FOUND for an unknown network. */
  networkRemove(name: string): Promise<void>;
  /**
   * Named volumes that carry every one of these labels (`volume ls --filter label=`), for gc's
   * collection of the volumes Berth made. Absent where Berth does not collect volumes yet.
   */
  listVolumes?(labels: Readonly<Record<string, string>>): Promise<VolumeInfo[]>;
  /** Removes a named volume; the engine refuses one a container still uses (an E_CONFLICT or the engine's error). */
  removeVolume?(name: string): Promise<void>;

  /**
   * Where the host reaches a port on the workspace's own loopback (`host`: its address there, as a
   * dev server bound it): a host loopback port, or null when the workspace's loopback is the
   * host's. Only host mode's sandbox with a network of its own relays (containers have bridges).
   */
  publishLoopback?(name: string, host: string, port: number): Promise<number | null>;
  /** Ends what publishLoopback made for that port; nothing to do is success. */
  unpublishLoopback?(name: string, port: number): Promise<void>;
}
