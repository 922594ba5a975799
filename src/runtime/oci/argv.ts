import { cliEnv, sortedEntries } from '../cli-env.js';
import type { ContainerSpec, ExecOptions, InteractiveExecOptions, ListFilter, NetworkSpec, BuildImageOptions } from '../types.js';

/**
 * Pure builders for docker/podman argument lists. Nothing here runs a process, so every command line
 * is unit-tested as data. Environment values never go on the command line (where `ps` shows them to
 * every user): `-e NAME` makes the engine CLI read the value from its own environment, which the
 * adapter sets. The builders return those values beside the arguments.
 */
export interface CommandLine {
  args: string[];
  /** Variables the engine CLI must find in its environment for the `-e NAME` flags. */
  env: Record<string, string>;
}

export function createCommand(spec: ContainerSpec, start = false): CommandLine {
  // --pull never: Berth never reaches a registry behind the user's back; pulls are explicit.
  // `run --detach` is create and start in one engine process: a whole CLI start-up cheaper.
  const args = [...(start ? ['run', '--detach'] : ['create']), '--pull', 'never', '--name', spec.name];
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  const env = cliEnv(spec.env);
  args.push(...env.flags);
  for (const mount of spec.mounts ?? []) {
    args.push('--mount', `type=bind,source=${mount.source},target=${mount.target}${mount.readOnly ? ',readonly' : ''}`);
  }
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
  if (spec.user !== undefined) args.push('--user', spec.user);
  if (spec.cpus !== undefined) args.push('--cpus', String(spec.cpus));
  if (spec.memoryBytes !== undefined) args.push('--memory', `${String(spec.memoryBytes)}b`);
  if (spec.network !== undefined) args.push('--network', spec.network);
  for (const server of spec.dnsServers ?? []) args.push('--dns', server);
  for (const port of spec.ports ?? []) {
    args.push('--publish', `${port.hostAddress}:${String(port.hostPort)}:${String(port.containerPort)}/${port.protocol}`);
  }
  if (spec.init) args.push('--init');
  args.push(spec.image, ...(spec.command ?? []));
  return { args, env: env.passed };
}

export function execCommand(name: string, argv: readonly string[], options: ExecOptions = {}): CommandLine {
  return execLine(name, argv, options, options.input !== undefined, false);
}

export function interactiveExecCommand(name: string, argv: readonly string[], options: InteractiveExecOptions, tty: boolean): CommandLine {
  return execLine(name, argv, options, true, tty);
}

function execLine(name: string, argv: readonly string[], options: ExecOptions | InteractiveExecOptions, interactive: boolean, tty: boolean): CommandLine {
  const env = cliEnv(options.env);
  const args = ['exec', ...(interactive ? ['--interactive'] : []), ...(tty ? ['--tty'] : []), ...env.flags];
  if (options.workdir !== undefined) args.push('--workdir', options.workdir);
  if (options.user !== undefined) args.push('--user', options.user);
  args.push(name, ...argv);
  return { args, env: env.passed };
}

export function listIdsCommand(filter: ListFilter = {}): string[] {
  const args = ['ps', '--all', '--quiet', '--no-trunc'];
  for (const [key, value] of sortedEntries(filter.labels)) {
    args.push('--filter', value === true ? `label=${key}` : `label=${key}=${value}`);
  }
  // The engines match names as regular expressions (docker against "/name" too); the adapter
  // checks the prefix again on what comes back, so this only narrows the inspect.
  if (filter.namePrefix !== undefined) args.push('--filter', `name=^/?${filter.namePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  return args;
}

/**
 * Build args, like env, may carry tokens: `--build-arg NAME` reads the value from the CLI's
 * environment. The same line serves docker, podman and Apple's `container build` (which adds its
 * progress flag through `extra`).
 */
export function buildCommand(options: BuildImageOptions, extra: readonly string[] = []): CommandLine {
  const buildArgs = cliEnv(options.buildArgs, '--build-arg');
  const args = ['build', '--tag', options.tag, ...extra];
  if (options.dockerfile !== undefined) args.push('--file', options.dockerfile);
  args.push(...buildArgs.flags);
  for (const [key, value] of sortedEntries(options.labels)) args.push('--label', `${key}=${value}`);
  args.push(options.contextDir);
  return { args, env: buildArgs.passed };
}

export function networkCreateCommand(spec: NetworkSpec): string[] {
  const args = ['network', 'create'];
  if (spec.internal) args.push('--internal');
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  args.push(spec.name);
  return args;
}

