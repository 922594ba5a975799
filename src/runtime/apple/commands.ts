import { createHash } from 'node:crypto';
import { BerthError } from '../../errors.js';
import { buildSpec, execSpec, logsSpec, onlyRecord } from '../cli-adapter.js';
import { execCwd, execStdin } from '../exec-io.js';
import { cliEnv, sortedEntries } from '../cli-env.js';
import { command, readerWith, type CommandLine, type CommandSpec } from '../command.js';
import { lazy } from '../lazy.js';
import { matchesFilter, matchesLabels } from '../list-filter.js';
import type {
  BuildImageOptions,
  ContainerInfo,
  ContainerSpec,
  ExecEncoding,
  ExecOptions,
  ExecOutput,
  ExecResult,
  ImageInfo,
  InteractiveExecOptions,
  ListFilter,
  LogsOptions,
  LogsResult,
  NetworkInfo,
  NetworkSpec,
  SystemStatus,
  VolumeInfo,
} from '../types.js';
import { ProcessError } from '../../process/process-error.js';
import { classifyAppleError, classifyAppleExecFailure, SYSTEM_HINT } from './classify-error.js';
import { has, parseAppleVersion, since, type AppleVersion } from './version.js';

/**
 * Every Apple `container` call Berth makes, as command specs (runtime/command.ts; research doc §2).
 * Each flag is checked against version-gates.json: a release without it gets a fallback, or a
 * BerthError that names the release needed, never a CLI usage error. As with docker and podman,
 * env values never go on the command line: `-e NAME` copies the value from the CLI's environment.
 */

/** Schemas (and zod) load on the first parse, as in the OCI adapter: exec never needs them. */
const loadFormats = lazy(async () => ({ ...(await import('./records.js')), ...(await import('../parse.js')) }));
const json = readerWith(loadFormats);

/** What Berth asks of a create beyond the spec. */
export interface CreateExtras {
  /** Run instead of create: create and start in one call. */
  start?: boolean | undefined;
  /** Which mount sources are single files (they go through `--volume`). */
  isFile?: ((path: string) => boolean) | undefined;
  /** The main process needs CAP_NET_ADMIN (the guest firewall): from 0.12 it must be asked for. */
  netAdmin?: boolean | undefined;
}

/** NetworkConfiguration.swift@0.9.0 line 131, NetworkResource.swift@1.2.2 line 58 (nameValid). */
const APPLE_NETWORK_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;

/**
 * The name Apple gets for a network Berth names `name`: the same when Apple accepts it, otherwise
 * (longer than 63 characters, or ending in "-") a prefix of it and a hash of the whole name, so
 * the mapping is stable and two long names never meet.
 */
export function appleNetworkName(name: string): string {
  if (APPLE_NETWORK_NAME.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const prefix = name.slice(0, 63 - hash.length - 1).replace(/[^a-z0-9]+$/, '');
  return `${prefix}-${hash}`;
}

/** Apple sizes are binary units; a bare number means bytes, so always say the unit. */
export function memoryFlag(bytes: number): string {
  const mib = Math.floor(bytes / (1024 * 1024));
  return `${String(mib)}m`;
}

/** A release lacks a flag Berth needs for what was asked: say which release has it. */
export function needsRelease(version: AppleVersion, gate: string, what: string): BerthError {
  return new BerthError('E_UNSUPPORTED', `${what} needs Apple container ${since(gate)} or later; this is ${version.text}.`, {
    hint: `Upgrade Apple container to ${since(gate)} or later (https://github.com/apple/container/releases).`,
    details: { version: version.text, needs: since(gate), gate },
  });
}

function requireGate(version: AppleVersion, gate: string, what: string): void {
  if (!has(version, gate)) throw needsRelease(version, gate, what);
}

/**
 * What of a spec's privileges `container run` has no flag for: of `--privileged`, `--security-opt`,
 * `--add-host` and `--device` none exists (the create flags, Sources/Services/ContainerAPIService/
 * Client/Flags.swift@1.2.2: `--cap-add` and `--init` do, `--dns` is the only resolver setting).
 */
export function appleRefuses(spec: Pick<ContainerSpec, 'privileged' | 'securityOpt' | 'addHosts' | 'devices'>): string[] {
  return [
    ...(spec.privileged ? ['privileged'] : []),
    ...(spec.securityOpt ?? []).map((opt) => `--security-opt ${opt}`),
    ...(spec.addHosts ?? []).map((host) => `--add-host ${host}`),
    ...(spec.devices ?? []).map((device) => `--device ${device}`),
  ];
}

/**
 * Without --init (before 0.10), a tiny sh wrapper plays init: it forwards TERM/INT to the command
 * and exits, so stop is prompt as it is with --init.
 */
const INIT_WRAPPER = 'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143\' TERM INT; "$@" & child=$!; wait "$child"';

/**
 * `--mount` takes folders only; a single file goes through `--volume src:dst[:ro]`, which Apple
 * shares through the file's parent folder (research doc §2.1.1), from 0.9 (containerization 0.23.1).
 */
export function createCommand(spec: ContainerSpec, version: AppleVersion, extras: CreateExtras = {}): CommandSpec<string> {
  const isFile = extras.isFile ?? (() => false);
  // `run -d` creates and starts in one call; progress would go to stderr, so it is switched off.
  const args = [...(extras.start ? ['run', '--detach', ...(has(version, 'create.progress') ? ['--progress', 'none'] : [])] : ['create']), '--name', spec.name];
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  const env = cliEnv(spec.env);
  args.push(...env.flags);
  for (const mount of spec.mounts ?? []) {
    if (isFile(mount.source)) {
      requireGate(version, 'mounts.single-file', `Mounting the single file ${mount.source}`);
      args.push('--volume', `${mount.source}:${mount.target}${mount.readOnly ? ':ro' : ''}`);
    } else {
      args.push('--mount', `type=virtiofs,source=${mount.source},target=${mount.target}${mount.readOnly ? ',readonly' : ''}`);
    }
  }
  // `--mount type=volume|tmpfs` from the oldest release Berth supports (Parser.mount,
  // Sources/Services/ContainerAPIService/Client/Parser.swift@0.9.0 and @1.2.2: a volume without
  // source is anonymous; a tmpfs takes no source).
  for (const volume of spec.volumes ?? []) {
    args.push('--mount', `type=volume,${volume.name === null ? '' : `source=${volume.name},`}target=${volume.target}${volume.readOnly ? ',readonly' : ''}`);
  }
  for (const tmpfs of spec.tmpfs ?? []) args.push('--mount', `type=tmpfs,target=${tmpfs.target}`);
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
  // `hostUser` adds nothing: the virtiofs shares are served by the user's own container services
  // (launchd domain gui/<uid>, Sources/ContainerPlugin/ServiceManager.swift@1.2.2 line 132), so what
  // the guest writes on them is the host user's, whatever its uid inside; the guest runs as root
  // (Parser.user's default 0:0, Sources/Services/ContainerAPIService/Client/Parser.swift@1.2.2 line 71).
  if (spec.user !== undefined) args.push('--user', spec.user);
  if (spec.cpus !== undefined) args.push('--cpus', String(spec.cpus));
  if (spec.memoryBytes !== undefined) args.push('--memory', memoryFlag(spec.memoryBytes));
  if (spec.network !== undefined) {
    requireGate(version, 'create.network', 'Joining a network');
    args.push('--network', appleNetworkName(spec.network));
  }
  if ((spec.ports ?? []).length > 0) requireGate(version, 'create.publish', 'Publishing ports');
  for (const port of spec.ports ?? []) {
    args.push('--publish', `${port.hostAddress}:${String(port.hostPort)}:${String(port.containerPort)}/${port.protocol}`);
  }
  const refused = appleRefuses(spec);
  if (refused.length > 0) {
    throw new BerthError('E_UNSUPPORTED', `Apple container cannot give a container ${refused.join(', ')}.`, {
      hint: 'Remove them (runArgs, securityOpt, privileged), or bring the workspace up on docker or podman (--runtime).',
    });
  }
  // Up to 0.11 every process has all capabilities; from 0.12 the OCI default set, without NET_ADMIN.
  if (extras.netAdmin && has(version, 'capabilities.oci-default')) args.push('--cap-add', 'CAP_NET_ADMIN');
  // Before 0.12 the container already has every capability: there is nothing to add.
  if (has(version, 'capabilities.oci-default')) for (const cap of spec.capAdd ?? []) args.push('--cap-add', cap);
  let command = [...(spec.command ?? [])];
  if (spec.init && has(version, 'create.init')) args.push('--init');
  else if (spec.init && command.length > 0) command = ['/bin/sh', '-c', INIT_WRAPPER, 'sh', ...command];
  args.push(spec.image, ...command);
  return {
    args,
    env: env.passed,
    subject: { container: spec.name, image: spec.image, network: spec.network },
    parse: (result) => result.stdout.trim().split('\n').pop()?.trim() ?? spec.name,
  };
}

export function execCommand<E extends ExecEncoding = 'utf8'>(name: string, argv: readonly string[], options: ExecOptions<E> = {}): CommandSpec<ExecResult<ExecOutput<E>>> {
  const line = execLine(name, argv, { ...options, workdir: execCwd(options) }, execStdin(options) !== undefined, false);
  return execSpec(line, name, options, (exitCode, stderr) => classifyAppleExecFailure(name, exitCode, stderr));
}

export function interactiveExecCommand(name: string, argv: readonly string[], options: InteractiveExecOptions, tty: boolean): CommandLine {
  return execLine(name, argv, options, true, tty);
}

function execLine(name: string, argv: readonly string[], options: ExecOptions<ExecEncoding> | InteractiveExecOptions, interactive: boolean, tty: boolean): CommandLine {
  const env = cliEnv(options.env);
  const args = ['exec'];
  if (interactive) args.push('--interactive');
  if (tty) args.push('--tty');
  args.push(...env.flags);
  if (options.workdir !== undefined) args.push('--workdir', options.workdir);
  if (options.user !== undefined) args.push('--user', options.user);
  args.push(name, ...argv);
  return { args, env: env.passed };
}

/**
 * `container build` with docker's flags and its own progress output (plain: it goes to a log).
 * Build args go as NAME=value: a bare NAME reaches the builder shim as an empty value (it never
 * reads the CLI's environment), so unlike `--env` the values are on the command line.
 */
export function buildCommand(options: BuildImageOptions): CommandSpec<void> {
  const args = ['build', '--tag', options.tag, '--progress', 'plain'];
  if (options.dockerfile !== undefined) args.push('--file', options.dockerfile);
  // `--target` exists from the oldest release Berth supports (Sources/ContainerCommands/BuildCommand.swift@0.9.0 line 120, @1.2.2 line 139).
  if (options.target !== undefined) args.push('--target', options.target);
  for (const [key, value] of sortedEntries(options.buildArgs)) args.push('--build-arg', `${key}=${value}`);
  for (const [key, value] of sortedEntries(options.labels)) args.push('--label', `${key}=${value}`);
  args.push(options.contextDir);
  return buildSpec({ args, env: {} }, options);
}

/**
 * A named volume with Berth's labels, made before the create uses it (`volume create --label`,
 * Sources/ContainerCommands/Volume/VolumeCreate.swift@0.9.0 line 28); one that exists is used as it
 * is ("volume 'x' already exists", Sources/ContainerResource/Volume/Volume.swift@0.9.0 line 85).
 */
export function volumeCreateCommand(name: string, labels: Readonly<Record<string, string>>): CommandSpec<void> {
  const args = ['volume', 'create'];
  for (const [key, value] of sortedEntries(labels)) args.push('--label', `${key}=${value}`);
  args.push(name);
  return {
    args,
    env: {},
    subject: {},
    io: { okExitCodes: 'any' },
    parse: (result) => {
      if (result.exitCode === 0 || /already exists/i.test(result.stderr)) return;
      throw classifyAppleError(new ProcessError({ ...result, failure: 'exit', signal: null }), {});
    },
  };
}

/**
 * The named volumes carrying every label given. Apple's `volume list` has no filter
 * (Sources/ContainerCommands/Volume/VolumeList.swift@1.2.2): Berth filters what it prints.
 */
export function volumeListCommand(labels: Readonly<Record<string, string>>): CommandSpec<VolumeInfo[]> {
  return json(['volume', 'list', '--format', 'json'], {}, (formats, result) =>
    formats
      .parseJsonOutput(formats.appleVolumes, result.stdout.trim() || '[]', result.command)
      .map(formats.normalizeVolume)
      .filter((v) => matchesLabels(v.labels, labels)),
  );
}

/**
 * `volume delete <name>`. One that is gone already (another gc, the user) is what gc wanted: Apple
 * says "failed to delete one or more volumes: [name]" for a missing name, where a volume in use is
 * "delete failed for one or more volumes" (Sources/ContainerCommands/Volume/VolumeDelete.swift@0.9.0,
 * @0.12.3 and @1.2.2).
 */
export function volumeDeleteCommand(name: string): CommandSpec<void> {
  return {
    args: ['volume', 'delete', name],
    env: {},
    subject: {},
    io: { okExitCodes: 'any' },
    parse: (result) => {
      if (result.exitCode === 0 || /failed to delete one or more volumes/.test(result.stderr)) return;
      throw classifyAppleError(new ProcessError({ ...result, failure: 'exit', signal: null }), {});
    },
  };
}

export function networkCreateCommand(spec: NetworkSpec, version: AppleVersion): CommandSpec<void> {
  requireGate(version, 'network create', 'Creating a network');
  const args = ['network', 'create'];
  if (spec.internal) {
    requireGate(version, 'network create.internal', 'Egress control (a host-only network, `network create --internal`)');
    args.push('--internal');
  }
  const labels = sortedEntries(spec.labels);
  if (labels.length > 0) requireGate(version, 'network create.label', 'Labelling a network');
  for (const [key, value] of labels) args.push('--label', `${key}=${value}`);
  args.push(appleNetworkName(spec.name));
  return command(args, { network: spec.name });
}

/** Callers know the network by Berth's name, whatever Apple had to call it. */
export function networkInspectCommand(name: string): CommandSpec<NetworkInfo> {
  return json(['network', 'inspect', appleNetworkName(name)], { network: name }, (formats, result) => {
    const entries = formats.parseJsonOutput(formats.appleNetworks, result.stdout.trim() || '[]', result.command);
    return { ...formats.normalizeNetwork(onlyRecord(entries, 'apple', 'network', name)), name };
  });
}

export function networkRemoveCommand(name: string): CommandSpec<void> {
  return command(['network', 'delete', appleNetworkName(name)], { network: name });
}

/** `container --version`: read once per adapter; the gates above all key on it. */
export function versionCommand(binary: string): CommandSpec<AppleVersion> {
  return {
    args: ['--version'],
    env: {},
    subject: {},
    parse: (result) => {
      const version = parseAppleVersion(result.stdout);
      if (!version) throw new BerthError('E_RUNTIME_OUTPUT', `Cannot read the version of ${binary}: ${JSON.stringify(result.stdout.trim())}`, { hint: 'Is BERTH_CONTAINER_BIN the Apple container CLI?' });
      return version;
    },
  };
}

/**
 * Explicit kernel flag, so a start never prompts; `--timeout` only where it exists (0.10). The
 * call may take the system's start timeout and a margin for the CLI itself.
 */
export function systemStartCommand(version: AppleVersion, installKernel: boolean, timeoutSeconds: number): CommandSpec<void> {
  const args = ['system', 'start', installKernel ? '--enable-kernel-install' : '--disable-kernel-install'];
  if (has(version, 'system start.timeout')) args.push('--timeout', String(timeoutSeconds));
  return command(args, {}, { timeoutMs: (timeoutSeconds + 30) * 1000 });
}

/** `system status` decides: exit 0 is running, any other exit an answer too. */
export function systemStatusCommand(version: AppleVersion): CommandSpec<SystemStatus> {
  requireGate(version, 'system status', 'Reading the system status');
  return {
    args: ['system', 'status'],
    env: {},
    subject: {},
    io: { okExitCodes: 'any', timeoutMs: 20_000 },
    parse: (result) => {
      if (result.exitCode === 0) return { running: true, detail: `Apple container system is running (${version.text}).` };
      const firstLine = result.stdout.trim().split('\n')[0] ?? '';
      return { running: false, detail: `Apple container system is not running: ${firstLine || result.stderr.trim()}. ${SYSTEM_HINT}` };
    },
  };
}

export function listCommand(filter: ListFilter = {}): CommandSpec<ContainerInfo[]> {
  // `--all`, always: 0.x `--format json` ignores it anyway, and Berth filters labels itself.
  return json(['list', '--all', '--format', 'json'], {}, (formats, result) => {
    const entries = formats.parseJsonOutput(formats.appleContainers, result.stdout.trim() || '[]', result.command);
    return entries.map(formats.normalizeContainer).filter((c) => matchesFilter(c, filter));
  });
}

export function inspectCommand(name: string): CommandSpec<ContainerInfo> {
  return json(['inspect', name], { container: name }, (formats, result) => {
    // Up to 0.12, an unknown id printed `[]` and exited 0.
    const entries = formats.parseJsonOutput(formats.appleContainers, result.stdout.trim() || '[]', result.command);
    return formats.normalizeContainer(onlyRecord(entries, 'apple', 'container', name));
  });
}

export function imageInspectCommand(ref: string): CommandSpec<ImageInfo> {
  return json(['image', 'inspect', ref], { image: ref }, (formats, result) =>
    formats.normalizeImage(onlyRecord(formats.parseJsonOutput(formats.appleImages, result.stdout.trim() || '[]', result.command), 'apple', 'image', ref)),
  );
}

export function startCommand(name: string): CommandSpec<void> {
  return command(['start', name], { container: name });
}

/** Apple waits `graceSeconds` before it kills; the call may take that long on top. */
export function stopCommand(name: string, graceSeconds: number, timeoutMs: number): CommandSpec<void> {
  return command(['stop', '--time', String(graceSeconds), name], { container: name }, { timeoutMs: timeoutMs + graceSeconds * 1000 });
}

export function deleteCommand(name: string, force: boolean): CommandSpec<void> {
  return command(['delete', ...(force ? ['--force'] : []), name], { container: name });
}

export function logsCommand(name: string, options: LogsOptions = {}): CommandSpec<LogsResult> {
  const args = ['logs'];
  if (options.follow) args.push('--follow');
  if (options.tail !== undefined) args.push('-n', String(options.tail));
  args.push(name);
  return logsSpec(args, name, options);
}

/** `cp` (1.0 and later); before, Berth copies through tar over exec. One of `from` and `to` is `container:path`. */
export function copyCommand(version: AppleVersion, from: string, to: string, container: string): CommandSpec<void> {
  requireGate(version, 'cp', 'container cp');
  return command(['cp', from, to], { container });
}
