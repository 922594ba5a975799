import { ProcessError } from '../../process/process-error.js';
import { buildSpec, execSpec, logsSpec, onlyRecord } from '../cli-adapter.js';
import { execCwd, execStdin } from '../exec-io.js';
import { cliEnv, sortedEntries } from '../cli-env.js';
import { command, readerWith, type CommandLine, type CommandSpec } from '../command.js';
import { unavailable } from '../errors.js';
import { lazy } from '../lazy.js';
import { matchesFilter } from '../list-filter.js';
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
  Observation,
  VolumeInfo,
} from '../types.js';
import { classifyEngineError, classifyExecFailure } from './classify-error.js';

/**
 * Every docker/podman CLI call Berth makes, as command specs (runtime/command.ts): pure builders,
 * so each command line is unit-tested as data. Their command lines match for everything Berth
 * uses; where their JSON differs, the record schemas accept both shapes. Environment values never
 * go on the command line (where `ps` shows them to every user): `-e NAME` makes the engine CLI read
 * the value from its own environment, which the runner sets from the spec's `env`.
 */

export type OciKind = 'docker' | 'podman';

/**
 * The output schemas (and zod behind them) load on the first parse that reads JSON: `berth exec`
 * never does, and the CLI's start-up time is most of its overhead over the raw engine CLI.
 */
export const loadFormats = lazy(async () => ({ ...(await import('./records.js')), ...(await import('../parse.js')) }));
const json = readerWith(loadFormats);

/** How both engines say that one of several names given to `inspect` does not exist. */
const NO_SUCH_OBJECT = /no such object/i;

/**
 * How an engine makes the workspace's files the host user's (ContainerSpec.hostUser). A rootful
 * engine has no user namespace: the container runs as the host uid:gid. Rootless podman's
 * `--userns keep-id` maps the host user to the same uid inside (containers/podman
 * docs/source/markdown/options/userns.container.md@v4.6.1: "keep-id | $UID | $UID"); rootless
 * docker has no keep-id, but its root already is the host user, so it adds nothing.
 */
export type HostUserMapping = 'run-as' | 'keep-id' | 'root-is-host';

export function createCommand(spec: ContainerSpec, start = false, mapping: HostUserMapping = 'run-as'): CommandSpec<string> {
  // --pull never: Berth never reaches a registry behind the user's back; pulls are explicit.
  // `run --detach` is create and start in one engine process: a whole CLI start-up cheaper.
  const args = [...(start ? ['run', '--detach'] : ['create']), '--pull', 'never', '--name', spec.name];
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  const env = cliEnv(spec.env);
  args.push(...env.flags);
  for (const mount of spec.mounts ?? []) {
    args.push('--mount', `type=bind,source=${mount.source},target=${mount.target}${mount.readOnly ? ',readonly' : ''}`);
  }
  for (const volume of spec.volumes ?? []) {
    args.push('--mount', `type=volume,${volume.name === null ? '' : `source=${volume.name},`}target=${volume.target}${volume.readOnly ? ',readonly' : ''}`);
  }
  for (const tmpfs of spec.tmpfs ?? []) args.push('--mount', `type=tmpfs,target=${tmpfs.target}`);
  if (spec.workdir !== undefined) args.push('--workdir', spec.workdir);
  if (spec.user !== undefined) args.push('--user', spec.user);
  else if (spec.hostUser !== undefined) args.push(...hostUserArgs(spec.hostUser, mapping));
  if (spec.cpus !== undefined) args.push('--cpus', String(spec.cpus));
  if (spec.memoryBytes !== undefined) args.push('--memory', `${String(spec.memoryBytes)}b`);
  if (spec.network !== undefined) args.push('--network', spec.network);
  for (const server of spec.dnsServers ?? []) args.push('--dns', server);
  for (const port of spec.ports ?? []) {
    args.push('--publish', `${port.hostAddress}:${String(port.hostPort)}:${String(port.containerPort)}/${port.protocol}`);
  }
  if (spec.init) args.push('--init');
  if (spec.privileged) args.push('--privileged');
  for (const cap of spec.capAdd ?? []) args.push('--cap-add', cap);
  for (const opt of spec.securityOpt ?? []) args.push('--security-opt', opt);
  for (const host of spec.addHosts ?? []) args.push('--add-host', host);
  for (const device of spec.devices ?? []) args.push('--device', device);
  args.push(spec.image, ...(spec.command ?? []));
  return {
    args,
    env: env.passed,
    subject: { container: spec.name, image: spec.image, network: spec.network },
    // The container's id: the last line (a pull would print progress before it, were it allowed).
    parse: (result) => lastLine(result.stdout),
  };
}

function hostUserArgs(user: { uid: number; gid: number }, mapping: HostUserMapping): string[] {
  const ids = `${String(user.uid)}:${String(user.gid)}`;
  if (mapping === 'root-is-host') return [];
  return mapping === 'keep-id' ? ['--userns', 'keep-id', '--user', ids] : ['--user', ids];
}

/**
 * Is the engine rootless (its containers in a user namespace of this user's)? Asked only to create
 * a workspace with `user: host`: podman says it in `info`; docker lists `name=rootless` among its
 * security options.
 */
export function rootlessCommand(kind: OciKind): CommandSpec<boolean> {
  const args = kind === 'podman' ? ['info', '--format', '{{.Host.Security.Rootless}}'] : ['info', '--format', '{{json .SecurityOptions}}'];
  return {
    args,
    env: {},
    subject: {},
    io: { timeoutMs: 30_000 },
    parse: (result) => (kind === 'podman' ? result.stdout.trim() === 'true' : result.stdout.includes('name=rootless')),
  };
}

export function execCommand<E extends ExecEncoding = 'utf8'>(kind: OciKind, name: string, argv: readonly string[], options: ExecOptions<E> = {}): CommandSpec<ExecResult<ExecOutput<E>>> {
  const line = execLine(name, argv, { ...options, workdir: execCwd(options) }, execStdin(options) !== undefined, false);
  return execSpec(line, name, options, (exitCode, stderr) => classifyExecFailure(kind, name, exitCode, stderr));
}

export function interactiveExecCommand(name: string, argv: readonly string[], options: InteractiveExecOptions, tty: boolean): CommandLine {
  return execLine(name, argv, options, true, tty);
}

function execLine(name: string, argv: readonly string[], options: ExecOptions<ExecEncoding> | InteractiveExecOptions, interactive: boolean, tty: boolean): CommandLine {
  const env = cliEnv(options.env);
  const args = ['exec', ...(interactive ? ['--interactive'] : []), ...(tty ? ['--tty'] : []), ...env.flags];
  if (options.workdir !== undefined) args.push('--workdir', options.workdir);
  if (options.user !== undefined) args.push('--user', options.user);
  args.push(name, ...argv);
  return { args, env: env.passed };
}

/** The ids of the containers a list may return; `inspectManyCommand` reads them in one call. */
export function listIdsCommand(filter: ListFilter = {}): CommandSpec<string[]> {
  const args = ['ps', '--all', '--quiet', '--no-trunc'];
  for (const [key, value] of sortedEntries(filter.labels)) {
    args.push('--filter', value === true ? `label=${key}` : `label=${key}=${value}`);
  }
  // The engines match names as regular expressions (docker against "/name" too); the adapter
  // checks the prefix again on what comes back, so this only narrows the inspect.
  if (filter.namePrefix !== undefined) args.push('--filter', `name=^/?${filter.namePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  return { args, env: {}, subject: {}, parse: (result) => result.stdout.split('\n').filter((id) => id !== '') };
}

/**
 * One inspect for all the listed ids: the cost of a list stays two engine calls however many there
 * are. A container removed between the two calls makes inspect exit non-zero but print the rest.
 */
export function inspectManyCommand(ids: readonly string[], filter: ListFilter = {}): CommandSpec<ContainerInfo[]> {
  return json(['container', 'inspect', ...ids], {}, (formats, result) => {
    const records = formats.parseJsonOutput(formats.containerRecords, result.stdout.trim() || '[]', result.command);
    return records.map(formats.normalizeContainer).filter((c) => matchesFilter(c, filter));
  }, { okExitCodes: 'any' });
}

export function inspectCommand(kind: OciKind, name: string): CommandSpec<ContainerInfo> {
  return json(['container', 'inspect', name], { container: name }, (formats, result) =>
    formats.normalizeContainer(onlyRecord(formats.parseJsonOutput(formats.containerRecords, result.stdout, result.command), kind, 'container', name)),
  );
}

/**
 * Generic `inspect` takes containers and images together: one engine call for ensure's hot path
 * when the engine's socket is not used. A missing one of the two is an answer (null), any other
 * error line is not.
 */
export function observeCommand(kind: OciKind, name: string, imageRef: string): CommandSpec<Observation> {
  return json(['inspect', name, imageRef], { container: name }, (formats, result) => {
    const unexplained = result.stderr.split('\n').filter((line) => line.trim() !== '' && !NO_SUCH_OBJECT.test(line));
    if (result.exitCode !== 0 && unexplained.length > 0) {
      throw classifyEngineError(kind, new ProcessError({ ...result, failure: 'exit', signal: null }), { container: name });
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
  }, { okExitCodes: 'any' });
}

export function startCommand(name: string): CommandSpec<void> {
  return command(['start', name], { container: name });
}

/** The engine waits `graceSeconds` before it kills; the call may take that long on top. */
export function stopCommand(name: string, graceSeconds: number, timeoutMs: number): CommandSpec<void> {
  return command(['stop', '--time', String(graceSeconds), name], { container: name }, { timeoutMs: timeoutMs + graceSeconds * 1000 });
}

export function removeCommand(name: string, force: boolean): CommandSpec<void> {
  return command(['rm', ...(force ? ['--force'] : []), '--volumes', name], { container: name });
}

/** `cp` either way: `from` and `to` are a host path and `container:path`. */
export function copyCommand(container: string, from: string, to: string): CommandSpec<void> {
  return command(['cp', from, to], { container });
}

export function logsCommand(name: string, options: LogsOptions = {}): CommandSpec<LogsResult> {
  const args = ['logs'];
  if (options.follow) args.push('--follow');
  if (options.tail !== undefined) args.push('--tail', String(options.tail));
  args.push(name);
  return logsSpec(args, name, options);
}

export function imageInspectCommand(kind: OciKind, ref: string): CommandSpec<ImageInfo> {
  return json(['image', 'inspect', ref], { image: ref }, (formats, result) =>
    formats.normalizeImage(onlyRecord(formats.parseJsonOutput(formats.imageRecords, result.stdout, result.command), kind, 'image', ref)),
  );
}

/**
 * Build args, like env, may carry tokens: `--build-arg NAME` reads the value from the CLI's
 * environment.
 */
export function buildCommand(options: BuildImageOptions): CommandSpec<void> {
  const buildArgs = cliEnv(options.buildArgs, '--build-arg');
  const args = ['build', '--tag', options.tag];
  if (options.dockerfile !== undefined) args.push('--file', options.dockerfile);
  if (options.target !== undefined) args.push('--target', options.target);
  args.push(...buildArgs.flags);
  for (const [key, value] of sortedEntries(options.labels)) args.push('--label', `${key}=${value}`);
  args.push(options.contextDir);
  return buildSpec({ args, env: buildArgs.passed }, options);
}

/**
 * Makes a named volume with Berth's labels before a create uses it (`run --mount` would make it
 * unlabelled, and podman's --mount has no volume-label). A volume that exists already (the last
 * container's, or the user's own) is used as it is: docker answers its name, podman "already exists".
 */
export function volumeCreateCommand(kind: OciKind, name: string, labels: Readonly<Record<string, string>>): CommandSpec<void> {
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
      throw classifyEngineError(kind, new ProcessError({ ...result, failure: 'exit', signal: null }), {});
    },
  };
}

/**
 * The names of the volumes with all these labels. Both engines filter `volume ls` by label
 * (`--filter label=k=v`, repeated: all must match), and print one name a line with `-q`.
 */
export function volumeListCommand(labels: Readonly<Record<string, string>>): CommandSpec<string[]> {
  const args = ['volume', 'ls', '-q'];
  for (const [key, value] of sortedEntries(labels)) args.push('--filter', `label=${key}=${value}`);
  return {
    args,
    env: {},
    subject: {},
    parse: (result) => result.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== ''),
  };
}

/**
 * Each named volume's labels: `volume inspect` prints a JSON array of {Name, Labels, CreatedAt} on both
 * engines. A volume removed since the list is left out (the engine prints the others and exits 1).
 */
export function volumeInspectCommand(names: readonly string[]): CommandSpec<VolumeInfo[]> {
  return {
    args: ['volume', 'inspect', ...names],
    env: {},
    subject: {},
    io: { okExitCodes: 'any' },
    parse: (result) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(result.stdout.trim() === '' ? '[]' : result.stdout);
      } catch {
        throw new ProcessError({ ...result, failure: 'exit', signal: null });
      }
      if (!Array.isArray(parsed)) return [];
      return parsed.flatMap((entry: unknown) => {
        const record = entry as { Name?: unknown; Labels?: unknown; CreatedAt?: unknown } | null;
        if (typeof record?.Name !== 'string') return [];
        const labels = typeof record.Labels === 'object' && record.Labels !== null ? Object.fromEntries(Object.entries(record.Labels).filter(([, v]) => typeof v === 'string')) : {};
        return [{ name: record.Name, labels, createdAt: typeof record.CreatedAt === 'string' ? record.CreatedAt : null }];
      });
    },
  };
}

export function volumeRemoveCommand(kind: OciKind, name: string): CommandSpec<void> {
  return {
    args: ['volume', 'rm', name],
    env: {},
    subject: {},
    io: { okExitCodes: 'any' },
    parse: (result) => {
      // Gone already (another gc, the user): what gc wanted.
      if (result.exitCode === 0 || /no such volume|no volume with name/i.test(result.stderr)) return;
      throw classifyEngineError(kind, new ProcessError({ ...result, failure: 'exit', signal: null }), {});
    },
  };
}

export function networkCreateCommand(spec: NetworkSpec): CommandSpec<void> {
  const args = ['network', 'create'];
  if (spec.internal) args.push('--internal');
  for (const [key, value] of sortedEntries(spec.labels)) args.push('--label', `${key}=${value}`);
  args.push(spec.name);
  return command(args, { network: spec.name });
}

export function networkInspectCommand(kind: OciKind, name: string): CommandSpec<NetworkInfo> {
  return json(['network', 'inspect', name], { network: name }, (formats, result) =>
    formats.normalizeNetwork(onlyRecord(formats.parseJsonOutput(formats.networkRecords, result.stdout, result.command), kind, 'network', name)),
  );
}

export function networkRemoveCommand(name: string): CommandSpec<void> {
  return command(['network', 'rm', name], { network: name });
}

/** Client and server versions; docker prints the client half and exits 1 when its daemon is unreachable: that is an answer. */
export function versionCommand(kind: OciKind, binary: string): CommandSpec<{ client: string; server: string | null }> {
  return json(['version', '--format', '{{json .}}'], {}, (formats, result) => {
    if (result.exitCode !== 0 && !result.stdout.trim().startsWith('{')) {
      throw unavailable(kind, result.stderr.trim() || `exit code ${String(result.exitCode)}`, `Check that ${binary} works: \`${binary} version\`.`);
    }
    const record = formats.parseJsonOutput(formats.versionRecord, result.stdout, result.command);
    return { client: record.Client.Version, server: record.Server?.Version ?? null };
  }, { okExitCodes: 'any', timeoutMs: 10_000 });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]?.trim() ?? '';
}
