import { cliEnv, sortedEntries } from '../cli-env.js';
import { buildCommand as ociBuildCommand, type CommandLine } from '../oci/argv.js';
import type { ContainerSpec, ExecOptions, InteractiveExecOptions, BuildImageOptions } from '../types.js';
import { atLeast, type AppleVersion } from './version.js';

/**
 * Pure builders for Apple `container` argument lists (research doc §2). As with docker and podman,
 * env values never go on the command line: `-e NAME` copies the value from the CLI's environment.
 */

/** Apple sizes are binary units; a bare number means bytes, so always say the unit. */
export function memoryFlag(bytes: number): string {
  const mib = Math.floor(bytes / (1024 * 1024));
  return `${String(mib)}m`;
}

/**
 * Without --init (before 0.10), a tiny sh wrapper plays init: it forwards TERM/INT to the command
 * and exits, so stop is prompt as it is with --init.
 */
const INIT_WRAPPER = 'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143\' TERM INT; "$@" & child=$!; wait "$child"';

/**
 * `--mount` takes folders only; a single file goes through `--volume src:dst[:ro]`, which Apple
 * shares through the file's parent folder (research doc §2.1.1). `isFile` says which is which.
 */
export function createCommand(spec: ContainerSpec, version: AppleVersion, start = false, isFile: (path: string) => boolean = () => false): CommandLine {
  // `run -d` creates and starts in one call; progress would go to stderr, so it is switched off.
  const args = [...(start ? ['run', '--detach', ...(atLeast(version, '0.7.0') ? ['--progress', 'none'] : [])] : ['create']), '--name', spec.name];
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  const env = cliEnv(spec.env);
  args.push(...env.flags);
  for (const mount of spec.mounts ?? []) {
    if (isFile(mount.source)) args.push('--volume', `${mount.source}:${mount.target}${mount.readOnly ? ':ro' : ''}`);
    else args.push('--mount', `type=virtiofs,source=${mount.source},target=${mount.target}${mount.readOnly ? ',readonly' : ''}`);
  }
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
  if (spec.user !== undefined) args.push('--user', spec.user);
  if (spec.cpus !== undefined) args.push('--cpus', String(spec.cpus));
  if (spec.memoryBytes !== undefined) args.push('--memory', memoryFlag(spec.memoryBytes));
  if (spec.network !== undefined) args.push('--network', spec.network);
  for (const port of spec.ports ?? []) {
    args.push('--publish', `${port.hostAddress}:${String(port.hostPort)}:${String(port.containerPort)}/${port.protocol}`);
  }
  let command = [...(spec.command ?? [])];
  if (spec.init && atLeast(version, '0.10.0')) args.push('--init');
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

/** `container build` takes docker's flags, plus its own progress output (plain: it goes to a log). */
export function buildCommand(options: BuildImageOptions): CommandLine {
  return ociBuildCommand(options, ['--progress', 'plain']);
}

/** `container network create` takes the same flags as docker's and podman's. */
export { networkCreateCommand } from '../oci/argv.js';

