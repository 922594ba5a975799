import { createHash } from 'node:crypto';
import { BerthError } from '../../errors.js';
import { cliEnv, sortedEntries } from '../cli-env.js';
import type { CommandLine } from '../oci/argv.js';
import type { BuildImageOptions, ContainerSpec, ExecOptions, InteractiveExecOptions, LogsOptions, NetworkSpec } from '../types.js';
import { has, since, type AppleVersion } from './version.js';

/**
 * Pure builders for every Apple `container` argument list Berth runs (research doc §2). Each flag
 * is checked against version-gates.json: a release without it gets a fallback, or a BerthError
 * that names the release needed, never a CLI usage error. As with docker and podman, env values
 * never go on the command line: `-e NAME` copies the value from the CLI's environment.
 */

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
 * Without --init (before 0.10), a tiny sh wrapper plays init: it forwards TERM/INT to the command
 * and exits, so stop is prompt as it is with --init.
 */
const INIT_WRAPPER = 'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143\' TERM INT; "$@" & child=$!; wait "$child"';

/**
 * `--mount` takes folders only; a single file goes through `--volume src:dst[:ro]`, which Apple
 * shares through the file's parent folder (research doc §2.1.1), from 0.9 (containerization 0.23.1).
 */
export function createCommand(spec: ContainerSpec, version: AppleVersion, extras: CreateExtras = {}): CommandLine {
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
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
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
  // Up to 0.11 every process has all capabilities; from 0.12 the OCI default set, without NET_ADMIN.
  if (extras.netAdmin && has(version, 'capabilities.oci-default')) args.push('--cap-add', 'CAP_NET_ADMIN');
  let command = [...(spec.command ?? [])];
  if (spec.init && has(version, 'create.init')) args.push('--init');
  else if (spec.init && command.length > 0) command = ['/bin/sh', '-c', INIT_WRAPPER, 'sh', ...command];
  args.push(spec.image, ...command);
  return { args, env: env.passed };
}

export function execCommand(name: string, argv: readonly string[], options: ExecOptions | InteractiveExecOptions, interactive: boolean, tty: boolean): CommandLine {
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
export function buildCommand(options: BuildImageOptions): CommandLine {
  const args = ['build', '--tag', options.tag, '--progress', 'plain'];
  if (options.dockerfile !== undefined) args.push('--file', options.dockerfile);
  for (const [key, value] of sortedEntries(options.buildArgs)) args.push('--build-arg', `${key}=${value}`);
  for (const [key, value] of sortedEntries(options.labels)) args.push('--label', `${key}=${value}`);
  args.push(options.contextDir);
  return { args, env: {} };
}

export function networkCreateCommand(spec: NetworkSpec, version: AppleVersion): string[] {
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
  return args;
}

/** Explicit kernel flag, so a start never prompts; `--timeout` only where it exists (0.10). */
export function systemStartCommand(version: AppleVersion, installKernel: boolean, timeoutSeconds: number): string[] {
  const args = ['system', 'start', installKernel ? '--enable-kernel-install' : '--disable-kernel-install'];
  if (has(version, 'system start.timeout')) args.push('--timeout', String(timeoutSeconds));
  return args;
}

export function systemStatusCommand(version: AppleVersion): string[] {
  requireGate(version, 'system status', 'Reading the system status');
  return ['system', 'status'];
}

export function listCommand(): string[] {
  // `--all`, always: 0.x `--format json` ignores it anyway, and Berth filters labels itself.
  return ['list', '--all', '--format', 'json'];
}

export function stopCommand(name: string, graceSeconds: number): string[] {
  return ['stop', '--time', String(graceSeconds), name];
}

export function deleteCommand(name: string, force: boolean): string[] {
  return ['delete', ...(force ? ['--force'] : []), name];
}

export function logsCommand(name: string, options: LogsOptions): string[] {
  const args = ['logs'];
  if (options.follow) args.push('--follow');
  if (options.tail !== undefined) args.push('-n', String(options.tail));
  args.push(name);
  return args;
}

/** `cp` (1.0 and later); before, Berth copies through tar over exec. */
export function copyCommand(version: AppleVersion, from: string, to: string): string[] {
  requireGate(version, 'cp', 'container cp');
  return ['cp', from, to];
}
