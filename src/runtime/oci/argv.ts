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
  args.push(...envFlags(spec.env));
  for (const mount of spec.mounts ?? []) {
    args.push('--mount', `type=bind,source=${mount.source},target=${mount.target}${mount.readOnly ? ',readonly' : ''}`);
  }
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
  if (spec.user !== undefined) args.push('--user', spec.user);
  if (spec.cpus !== undefined) args.push('--cpus', String(spec.cpus));
  if (spec.memoryBytes !== undefined) args.push('--memory', `${String(spec.memoryBytes)}b`);
  if (spec.network !== undefined) args.push('--network', spec.network);
  for (const port of spec.ports ?? []) {
    args.push('--publish', `${port.hostAddress}:${String(port.hostPort)}:${String(port.containerPort)}/${port.protocol}`);
  }
  if (spec.init) args.push('--init');
  args.push(spec.image, ...(spec.command ?? []));
  return { args, env: { ...spec.env } };
}

export function execCommand(name: string, argv: readonly string[], options: ExecOptions = {}): CommandLine {
  const args = ['exec'];
  if (options.input !== undefined) args.push('--interactive');
  args.push(...execFlags(options), name, ...argv);
  return { args, env: { ...options.env } };
}

export function interactiveExecCommand(name: string, argv: readonly string[], options: InteractiveExecOptions, tty: boolean): CommandLine {
  const args = ['exec', '--interactive'];
  if (tty) args.push('--tty');
  args.push(...execFlags(options), name, ...argv);
  return { args, env: { ...options.env } };
}

export function listIdsCommand(filter: ListFilter = {}): string[] {
  const args = ['ps', '--all', '--quiet', '--no-trunc'];
  for (const [key, value] of sortedEntries(filter.labels)) {
    args.push('--filter', value === true ? `label=${key}` : `label=${key}=${value}`);
  }
  return args;
}

/** Build args, like env, may carry tokens: `--build-arg NAME` reads the value from the CLI's environment. */
export function buildCommand(options: BuildImageOptions): CommandLine {
  const args = ['build', '--tag', options.tag];
  if (options.dockerfile !== undefined) args.push('--file', options.dockerfile);
  for (const [key] of sortedEntries(options.buildArgs)) args.push('--build-arg', key);
  for (const [key, value] of sortedEntries(options.labels)) args.push('--label', `${key}=${value}`);
  args.push(options.contextDir);
  return { args, env: { ...options.buildArgs } };
}

export function networkCreateCommand(spec: NetworkSpec): string[] {
  const args = ['network', 'create'];
  if (spec.internal) args.push('--internal');
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  args.push(spec.name);
  return args;
}

function execFlags(options: ExecOptions | InteractiveExecOptions): string[] {
  const args = envFlags(options.env);
  if (options.workdir !== undefined) args.push('--workdir', options.workdir);
  if (options.user !== undefined) args.push('--user', options.user);
  return args;
}

function envFlags(env: Readonly<Record<string, string>> | undefined): string[] {
  return sortedEntries(env).flatMap(([key]) => ['--env', key]);
}

/** Sorted so the same spec always yields the same command line. */
function sortedEntries<V>(record: Readonly<Record<string, V>> | undefined): [string, V][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
