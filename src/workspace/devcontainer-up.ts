import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BerthError } from '../errors.js';
import type { DevcontainerSource } from '../devcontainer/config.js';
import type { DevcontainerRead } from '../devcontainer/read.js';
import type { FeaturesResolution } from '../devcontainer/features/resolve.js';
import { mergeContributions, type MergedHook } from '../devcontainer/features/contributions.js';
import type { ImageMetadata } from '../devcontainer/image-metadata.js';
import { checkPrivileges, elevatedPrivileges, normalizePrivileges } from './privileges.js';
import { readComposeWorkspace } from './devcontainer-compose.js';
import { forwardedPortsOf, previewPoolFor } from './forwarded-ports.js';
import { CONTAINER_HOOKS, hookArgv, type Hook, type HookName } from '../devcontainer/lifecycle.js';
import { substituteContainerEnv } from '../devcontainer/substitute.js';
import { runStreaming } from '../process/run.js';
import type { ExecOptions, ExecResult } from '../runtime/types.js';
import type { AttachHook, DevcontainerOrigin, ExtraMountInput, WorkspaceMount, WorkspaceSpecInput } from './spec.js';
import type { DevcontainerMount } from '../devcontainer/mount-string.js';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';

/**
 * From a devcontainer.json as read (devcontainer/read.ts) to what Berth does with it: the
 * workspace spec ensure() brings up, the image to build first, and the hooks to run after.
 * What this slice does not carry out yet is refused with what to do, never dropped.
 */
export interface DevcontainerPlan {
  input: WorkspaceSpecInput;
  /** Built (unless an image with this tag is there) before the workspace comes up. */
  build: { contextDir: string; dockerfile: string; buildArgs: Record<string, string>; target?: string; tag: string } | null;
  /** dockerComposeFile: the other services Berth runs beside the workspace (devcontainer-compose.ts). */
  compose: { files: string[]; service: string; others: string[]; stopWithWorkspace: boolean } | null;
  /** Each hook's commands: the base image's label's, the features' in install order, then the config's own (the reference's merge). */
  hooks: Partial<Record<HookName, MergedHook[]>>;
  /** Privileges that reach past the container, granted because the user opted in: said as a warning at every up. */
  granted: string[];
  /** initializeCommand, to run on this machine before anything else; null when there is none. */
  initialize: Hook | null;
  /** Hooks, exec and shells run as this user (remoteUser, else containerUser; null: the image's). */
  user: string | null;
  /** Variables for hooks (remoteEnv; `${containerEnv:X}` resolved against the running container). */
  remoteEnv: Record<string, string | null>;
  workspaceFolder: string;
  notes: string[];
  /** Installed in an image layered on the base (devcontainer/features/build.ts) before the workspace comes up. */
  features: FeaturesResolution | null;
}

export interface PlanOptions {
  root: string;
  /** cpus, memory, preview ports, egress... as `berth up` flags give them. */
  base?: WorkspaceSpecInput | undefined;
  /** The config's features, resolved (devcontainer/features/resolve.ts); needed when it names any. */
  features?: FeaturesResolution | undefined;
  /**
   * The user opted in to initializeCommand (`--run-initialize-command`): it runs on this machine,
   * as the user, outside any container. Without it a config that has one is refused.
   */
  runInitializeCommand?: boolean | undefined;
  /**
   * The user opted in to privileges that reach past the container (`--allow-privileged`):
   * `privileged`, devices, capabilities and security options outside workspace/privileges.ts's
   * benign sets. Without it a config (or feature) that asks for them is refused.
   */
  allowPrivileged?: boolean | undefined;
  /**
   * The base image's devcontainer.metadata label, read (devcontainer/image-metadata.ts) once the
   * image is there: its entries come before the features' and the config's. Absent: none.
   */
  imageMetadata?: ImageMetadata | undefined;
}

export function planDevcontainer(read: DevcontainerRead, options: PlanOptions): DevcontainerPlan {
  const { config } = read;
  const notes: string[] = [];
  const notYet = (what: string, instead: string): BerthError => {
    return new BerthError('E_UNSUPPORTED', `${read.file}: ${what} is not carried out by berth up --devcontainer yet.`, { hint: instead });
  };
  const compose = config.source.kind === 'compose' ? composeOf(config.source, config.workspaceFolder, read.file) : null;
  if (Object.keys(config.features).length > 0 && options.features === undefined) throw notYet(`features (${Object.keys(config.features).join(', ')})`, 'Install them in the Dockerfile for now (build.dockerfile), or remove "features".');
  // The image label's and the features' capAdd/securityOpt/privileged/init, entrypoints and hooks joined
  // to the config's own; the users and env of the image's label under the config's.
  const own = { run: config.run, hooks: config.hooks, remoteUser: config.remoteUser, containerUser: config.containerUser, containerEnv: config.containerEnv, remoteEnv: config.remoteEnv };
  const merged = mergeContributions(options.features?.features ?? [], own, options.imageMetadata?.entries ?? []);
  if (options.imageMetadata) notes.push(...options.imageMetadata.notes);
  const run = merged.run;
  const privilegesInput = { capAdd: run.capAdd, securityOpt: run.securityOpt, privileged: run.privileged, addHosts: run.addHost, devices: run.devices };
  // Checked here too (normalizeSpec checks again), so a refusal comes before anything is built.
  const privileges = normalizePrivileges(privilegesInput);
  checkPrivileges(privileges, { allowed: options.allowPrivileged === true, egress: (options.base?.egress ?? null) !== null, where: read.file });
  const granted = elevatedPrivileges(privileges);
  if (granted.length > 0) notes.push(`granted at your request (--allow-privileged): ${granted.join(', ')}; a process in the workspace can reach past its container with them`);
  if (run.init) notes.push('init: the container runs an init as its first process (Berth always does)');
  // A compose workspace's folder is mounted by Berth at workspaceFolder (the service's volumes are the compose file's own).
  const workspaceMount = compose ? undefined : workspaceMountOf(config.workspaceMount, config.workspaceFolder, resolve(options.root), read.file, notYet);
  if (workspaceMount?.readOnly) notes.push(`workspaceMount is read-only: hooks and the workspace's processes cannot write to ${config.workspaceFolder}`);
  if (workspaceMount && workspaceMount.source !== resolve(options.root)) notes.push(`workspaceMount: ${workspaceMount.source} is mounted at ${workspaceMount.target}; the workspace is ${config.workspaceFolder} inside it`);
  // The features' mounts, then the config's; one target keeps the last (mergeMounts, src/spec-node/imageMetadata.ts@v0.88.0).
  const mergedMounts = mergeMounts([...(options.features?.mounts ?? []), ...config.mounts]);
  const relative = mergedMounts.find((m) => m.type === 'bind' && !isAbsolute(m.source ?? ''));
  if (relative) {
    throw new BerthError('E_INVALID_INPUT', `${read.file}: the bind mount source ${JSON.stringify(relative.source)} (at ${relative.target}) is not an absolute path on this machine.`, {
      hint: 'Start it with ${localWorkspaceFolder}/ (or give an absolute path), or make it a named volume (type=volume).',
    });
  }
  if (config.hostRequirements.memoryBytes !== null && options.base?.memory === undefined) {
    notes.push(`hostRequirements.memory: the workspace gets ${String(config.hostRequirements.memoryBytes)} bytes`);
  }
  if (merged.containerUser !== null && merged.remoteUser === null) notes.push(`containerUser ${merged.containerUser}: hooks, exec and shells run as it; the keep-alive runs as the image's user`);
  const initialize = config.hooks.initializeCommand ?? null;
  if (initialize !== null && options.runInitializeCommand !== true) {
    throw new BerthError(
      'E_UNSUPPORTED',
      `${read.file}: initializeCommand (${describeHook(initialize)}) runs on this machine, outside any container, with all your access; Berth does not run a repository's code unconfined unless you ask.`,
      { hint: 'Read the command; to run it, pass --run-initialize-command to berth up (runInitializeCommand: true in the API), or remove it from the devcontainer.json.' },
    );
  }
  if (merged.hooks.postAttachCommand) notes.push('postAttachCommand runs each time a shell attaches (berth shell, a terminal), not at up');
  if (!config.overrideCommand) notes.push('overrideCommand false: Berth still runs its own keep-alive as the main process');

  const buildSource = config.source.kind === 'build' ? config.source : (compose?.workspace.build ?? null);
  const build = buildSource ? buildOf(buildSource) : null;
  const image = config.source.kind === 'image' ? config.source.image : (build?.tag ?? compose?.workspace.image ?? '');
  const dockerfileText = buildSource ? readDockerfile(buildSource.dockerfile) : '';
  if (compose) notes.push(...compose.workspace.notes);
  // Features join the hash only when there are some.
  const hashed = { config, dockerfileText, compose: compose?.workspace.hash ?? null, ...(options.features ? { features: options.features.hash } : {}) };
  const hash = createHash('sha256').update(JSON.stringify(hashed)).digest('hex').slice(0, 16);
  if (options.features) notes.push(...options.features.notes, ...options.features.warnings);
  const memory = options.base?.memory ?? config.hostRequirements.memoryBytes ?? undefined;
  const cpus = options.base?.cpus ?? config.hostRequirements.cpus ?? undefined;
  const mounts = mergedMounts.map(extraMountOf);
  const user = merged.remoteUser ?? merged.containerUser;
  const attach = merged.hooks.postAttachCommand ?? [];
  const attachCommands = (hook: Hook): AttachHook['commands'] => hook.commands.map((c) => ({ name: c.name, argv: hookArgv(c.command) }));
  const ownAttach = attach.find((h) => h.origin === null);
  // The image label's and the features' (origin: the entry's id or the image, the feature's id).
  const fromFeatures = attach.filter((h) => h.origin !== null);
  const postAttach: AttachHook | undefined =
    attach.length > 0
      ? {
          commands: ownAttach ? attachCommands(ownAttach.hook) : [],
          // Only when a feature has one: specs without it read as they always did.
          ...(fromFeatures.length > 0 ? { before: fromFeatures.map((h) => ({ origin: h.origin ?? '', ...(h.image ? { image: h.image } : {}), commands: attachCommands(h.hook) })) } : {}),
          user,
          workspaceFolder: config.workspaceFolder,
          remoteEnv: merged.remoteEnv,
        }
      : undefined;
  const forwarded = forwardedPortsOf(config.ports);
  return {
    input: {
      ...options.base,
      root: options.root,
      image,
      env: { ...compose?.workspace.environment, ...merged.containerEnv, ...config.run.env, ...options.base?.env },
      mounts: [...mounts, ...(options.base?.mounts ?? [])],
      cpus,
      memory,
      // A slot each for the forwarded ports (workspace/forwarded-ports.ts); Apple adds its usual pool in Berth.
      previewPorts: options.base?.previewPorts ?? previewPoolFor(forwarded, 'container'),
      workspaceFolder: config.workspaceFolder,
      ...(workspaceMount ? { workspaceMount } : {}),
      devcontainer: { file: read.file, hash, ...(options.features ? { featuresHash: options.features.hash } : {}), ...(postAttach ? { postAttach } : {}), ...(forwarded.length > 0 ? { ports: forwarded } : {}) },
      ...(privileges ? { privileges: privilegesInput, allowPrivileged: options.allowPrivileged === true } : {}),
      ...(merged.entrypoints.length > 0 ? { entrypoints: merged.entrypoints } : {}),
    },
    build,
    compose: compose ? { files: compose.files, service: compose.service, others: compose.workspace.others, stopWithWorkspace: compose.stopWithWorkspace } : null,
    hooks: merged.hooks,
    granted,
    initialize,
    user,
    remoteEnv: merged.remoteEnv,
    workspaceFolder: config.workspaceFolder,
    notes,
    features: options.features ?? null,
  };
}

/**
 * The workspace's own mount. The default (the folder at workspaceFolder) is what Berth does
 * anyway: undefined. A bind of the folder or of a folder holding it (the monorepo form,
 * `source=${localWorkspaceFolder}/..,target=/workspaces` with workspaceFolder
 * `/workspaces/${localWorkspaceFolderBasename}`), read-only or not, is mounted in its place, the
 * reference passing it to the engine as it is (spawnDevContainer, src/spec-node/singleContainer.ts@v0.88.0);
 * workspaceFolder must then be where the folder is inside it. A volume, a tmpfs or an empty one
 * would leave the files somewhere other than the folder Berth was given: refused, saying what to do.
 */
function workspaceMountOf(mount: DevcontainerMount | null, workspaceFolder: string, root: string, file: string, notYet: (what: string, instead: string) => BerthError): WorkspaceMount | undefined {
  if (mount === null) throw notYet('an empty workspaceMount', 'Leave workspaceMount out: Berth mounts the workspace folder.');
  if (mount.type !== 'bind') {
    throw new BerthError('E_UNSUPPORTED', `${file}: a ${mount.type} workspaceMount (${mount.source === null ? '' : `${mount.source} `}at ${mount.target}): the workspace's files would live in the engine's ${mount.type}, not in ${root}, where Berth's files, dev servers and MCP tools work.`, {
      hint: `Leave workspaceMount out (Berth binds ${root} at workspaceFolder), and mount the ${mount.type} elsewhere through "mounts" if you need it.`,
    });
  }
  const source = resolve(mount.source ?? '');
  const folder = (path: string): string => posix.normalize(path).replace(/(.)\/$/, '$1');
  const target = folder(mount.target);
  const inside = relative(source, root);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new BerthError('E_UNSUPPORTED', `${file}: a workspaceMount from another folder (${mount.source ?? ''}): it does not hold the workspace folder ${root}.`, {
      hint: 'Mount the workspace folder or a folder above it (e.g. source=${localWorkspaceFolder}/..), or pass that folder as --root.',
    });
  }
  const expected = inside === '' ? target : posix.join(target, ...inside.split(sep));
  if (expected !== folder(workspaceFolder)) {
    throw new BerthError('E_UNSUPPORTED', `${file}: a workspaceMount at ${mount.target} while workspaceFolder is ${workspaceFolder}: ${root} is at ${expected} in it.`, {
      hint: `Set workspaceFolder to ${expected} (or leave workspaceMount out): Berth's workspace (exec, shells, hooks, files) is that folder.`,
    });
  }
  if (inside === '' && target === folder(workspaceFolder) && !mount.readOnly) return undefined;
  return { source, target, readOnly: mount.readOnly };
}

/** The last mount at each target wins, in the place it was listed (the reference's mergeMounts). */
export function mergeMounts(mounts: readonly DevcontainerMount[]): DevcontainerMount[] {
  const seen = new Set<string>();
  return [...mounts]
    .reverse()
    .filter((m) => !seen.has(m.target) && seen.add(m.target))
    .reverse();
}

function extraMountOf(mount: DevcontainerMount): ExtraMountInput {
  if (mount.type === 'tmpfs') return { type: 'tmpfs', source: '', target: mount.target };
  if (mount.type === 'volume') return { type: 'volume', source: mount.source ?? '', target: mount.target, readOnly: mount.readOnly };
  return { source: mount.source ?? '', target: mount.target, readOnly: mount.readOnly };
}

function composeOf(source: Extract<DevcontainerSource, { kind: 'compose' }>, workspaceFolder: string, file: string) {
  if (workspaceFolder === '/') {
    throw new BerthError('E_UNSUPPORTED', `${file}: a compose configuration without workspaceFolder: Berth mounts the workspace folder there, and not at /.`, {
      hint: 'Set "workspaceFolder" (the compose templates use "/workspaces/${localWorkspaceFolderBasename}").',
    });
  }
  return { files: source.files, service: source.service, stopWithWorkspace: source.shutdownAction !== 'none', workspace: readComposeWorkspace(source.files, source.service, source.runServices) };
}

/** The image's tag is its content: the Dockerfile's text, the args, the context folder and the stage (build.target). */
function buildOf(source: { dockerfile: string; context: string; args: Record<string, string>; target: string | null }): NonNullable<DevcontainerPlan['build']> {
  // Without a target the key is the one images built before build.target existed have, so they are still reused.
  const key: unknown[] = [readDockerfile(source.dockerfile), Object.entries(source.args).sort(([a], [b]) => (a < b ? -1 : 1)), source.context, ...(source.target === null ? [] : [source.target])];
  const digest = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return { contextDir: source.context, dockerfile: source.dockerfile, buildArgs: source.args, ...(source.target === null ? {} : { target: source.target }), tag: `berth-devcontainer:${digest}` };
}

function readDockerfile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new BerthError('E_INVALID_INPUT', `Cannot read the Dockerfile ${file}: ${(cause as Error).message}`, { hint: 'Check build.dockerfile: it is relative to the devcontainer.json.', cause });
  }
}

/** Drift of a devcontainer workspace's files: the reason, or why it cannot be told offline; null when none. */
export type DevcontainerDrift = { kind: 'drifted' | 'unknown'; reason: string } | null;

/**
 * Whether a workspace brought up from a devcontainer.json would come up differently now: the file
 * read again, with what it builds from (Dockerfile, compose files, features), hashed as up hashes
 * it. The reference never notices an edited config without --remove-existing-container.
 * Features are resolved offline (local folders, OCI features from the lockfile's digest in the
 * cache): a listing never waits on a registry, and says `unknown` when only the registry could tell.
 */
export async function devcontainerDrift(
  origin: DevcontainerOrigin,
  root: string,
  options: { env?: Readonly<Record<string, string | undefined>> | undefined; featureCacheDir?: string | undefined } = {},
): Promise<DevcontainerDrift> {
  const { readDevcontainer } = await import('../devcontainer/read.js');
  try {
    const read = readDevcontainer({ workspaceFolder: root, config: origin.file, env: options.env ?? process.env });
    let features: FeaturesResolution | undefined;
    if (Object.keys(read.config.features).length > 0) {
      if (options.featureCacheDir === undefined) return { kind: 'unknown', reason: `${origin.file} has features and this listing has no feature cache to resolve them from` };
      const { resolveFeatures, FeaturesUnknownOffline } = await import('../devcontainer/features/resolve.js');
      try {
        features = await resolveFeatures(read, { cacheDir: options.featureCacheDir, writeLockfile: false, offline: true });
      } catch (error) {
        if (!(error instanceof FeaturesUnknownOffline)) throw error;
        return { kind: 'unknown', reason: `${origin.file}: ${error.message} (berth up --devcontainer fetches it and recreates the workspace if it changed)` };
      }
    }
    const now = planDevcontainer(read, { root: read.localWorkspaceFolder, runInitializeCommand: true, allowPrivileged: true, features }).input.devcontainer;
    if (now?.hash === origin.hash) return null;
    if (origin.featuresHash !== undefined && now?.featuresHash !== origin.featuresHash) {
      return { kind: 'drifted', reason: `the features of ${origin.file} changed since the workspace came up (a local feature's files, an option, a version or the set): berth up --devcontainer recreates it` };
    }
    return { kind: 'drifted', reason: `${origin.file} (or the Dockerfile/compose files it builds from) changed since the workspace came up: berth up --devcontainer recreates it` };
  } catch (error) {
    return { kind: 'drifted', reason: `${origin.file} no longer reads as it did at up: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
}

/** What the hook runner needs of Berth: an exec in the workspace and the markers in its state. */
export interface HookContext {
  workspace: string;
  /** The engine id of the container the hooks run in: create hooks run once per container. */
  containerId: string;
  /** ensure's action: create hooks after created/recreated (or unfinished), postStart after any start. */
  action: 'created' | 'recreated' | 'started' | 'reused';
  exec: (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;
  markers: { hookFinished(workspace: string, containerId: string, hook: string): boolean; markHookFinished(workspace: string, containerId: string, hook: string): void };
  /** Each hook's output and outcome, as it finishes. */
  onHook: (report: HookRun) => void;
  /** Each command as it starts, and its output as it comes (for a live view; `onHook` still gets it all). */
  onProgress?: HookProgressListener | undefined;
}

/** Which command of which hook: a HookRun without its outcome. */
export type HookCommand = Pick<HookRun, 'hook' | 'name' | 'feature' | 'image' | 'argv'>;

/**
 * A hook as it runs: a command starting, then its output as it comes (stdout and stderr as one
 * stream, in the order they arrive, as a terminal would show them). Its end is the HookRun.
 */
export type HookProgress = { type: 'start'; command: HookCommand } | { type: 'output'; command: HookCommand; chunk: Buffer };
export type HookProgressListener = (progress: HookProgress) => void;

/** How one command runs: its exit code and whole output; `onOutput` gets the output as it comes. */
type RunOne = (argv: string[], onOutput?: (chunk: Buffer) => void) => Promise<{ exitCode: number; output: string }>;

/** Exec options that also stream the output to `onOutput` when there is one. */
function streamingTo(options: ExecOptions, onOutput: ((chunk: Buffer) => void) | undefined): ExecOptions {
  return onOutput === undefined ? options : { ...options, onStdout: onOutput, onStderr: onOutput };
}

export interface HookRun {
  hook: HookName;
  name: string | null;
  /** The feature whose hook it is; absent for the devcontainer.json's own. */
  feature?: string | undefined;
  /** From the base image's devcontainer.metadata label: the entry's id, else the image. */
  image?: string | undefined;
  argv: string[];
  exitCode: number;
  output: string;
}

/** Half an hour a command: create hooks install toolchains. */
const HOOK_TIMEOUT_MS = 30 * 60_000;

/**
 * Runs the container's lifecycle hooks in the reference's order (onCreate, updateContent,
 * postCreate, postStart; src/spec-common/injectHeadless.ts@v0.88.0), each kind's commands in the
 * merged order: the base image's label's, every feature's in install order, then the config's own (mergeLifecycleHooks,
 * src/spec-node/imageMetadata.ts@v0.88.0). A create hook that finished in this container is never
 * run again (its marker is in Berth's state); postStart runs on every start. A failing command
 * stops the hooks after it, and the error names it (and the feature it came from).
 */
export async function runHooks(plan: Pick<DevcontainerPlan, 'hooks' | 'user' | 'remoteEnv' | 'workspaceFolder'>, context: HookContext): Promise<HookName[]> {
  const ran: HookName[] = [];
  const started = context.action !== 'reused';
  let env: Record<string, string> | null = null;
  const present = (h: HookName): boolean => (plan.hooks[h]?.length ?? 0) > 0 && h !== 'postAttachCommand';
  for (const name of CONTAINER_HOOKS) {
    if (!present(name)) continue;
    const create = name !== 'postStartCommand';
    if (create && context.markers.hookFinished(context.workspace, context.containerId, name)) continue;
    // postStart after a start, and after create hooks that a failure had held back (their start never finished its hooks).
    if (!create && !started && ran.length === 0) continue;
    env ??= await remoteEnvFor(plan, context);
    const options: ExecOptions = { env, workdir: plan.workspaceFolder, timeoutMs: HOOK_TIMEOUT_MS, ...(plan.user ? { user: plan.user } : {}) };
    const runOne: RunOne = (argv, onOutput) => context.exec(argv, streamingTo(options, onOutput)).then((r) => ({ exitCode: r.exitCode, output: r.stdout + r.stderr }));
    for (const { origin, hook, image } of plan.hooks[name] ?? []) {
      const results = await runCommands(name, origin, hook.commands.map((c) => ({ name: c.name, argv: hookArgv(c.command) })), runOne, context.onHook, image === true, context.onProgress);
      const failed = results.find((r) => r.exitCode !== 0);
      if (failed) {
        const whose = origin === null ? '' : image === true ? ` of the base image's devcontainer.metadata (${origin})` : ` of the feature ${origin}`;
        const which = `${name}${failed.name === null ? '' : ` "${failed.name}"`}${whose}`;
        const later = CONTAINER_HOOKS.slice(CONTAINER_HOOKS.indexOf(name) + 1).filter(present);
        throw new BerthError('E_PROCESS', `The devcontainer hook ${which} failed (exit ${String(failed.exitCode)}): ${failed.argv.join(' ')}${later.length > 0 ? `; not run: ${later.join(', ')}` : ''}.`, {
          hint: `Fix the command, then run berth up again: the hooks that finished are not run again in this container.`,
          details: { hook: name, feature: origin, command: failed.name, exitCode: failed.exitCode, notRun: later },
        });
      }
    }
    if (create) context.markers.markHookFinished(context.workspace, context.containerId, name);
    ran.push(name);
  }
  return ran;
}

/** A hook's commands, all at once (the object form runs its named commands in parallel), each reported as it starts, as it prints and as it ends. */
async function runCommands(
  hook: HookName,
  feature: string | null,
  commands: { name: string | null; argv: string[] }[],
  runOne: RunOne,
  onHook: (run: HookRun) => void,
  fromImage = false,
  onProgress?: HookProgressListener,
): Promise<HookRun[]> {
  const whose = feature === null ? {} : fromImage ? { image: feature } : { feature };
  return Promise.all(
    commands.map(async ({ name, argv }) => {
      const command: HookCommand = { hook, name, ...whose, argv };
      onProgress?.({ type: 'start', command });
      const result = await runOne(argv, onProgress && ((chunk) => onProgress({ type: 'output', command, chunk })));
      const run: HookRun = { ...command, exitCode: result.exitCode, output: result.output };
      onHook(run);
      return run;
    }),
  );
}

/**
 * initializeCommand, on this machine in the workspace folder, before anything is built or created
 * (as the reference runs it, on every up). Only called when the user opted in (planDevcontainer).
 * A failure stops the up: nothing was created yet.
 */
export async function runInitializeCommand(hook: Hook, folder: string, onHook: (run: HookRun) => void, onProgress?: HookProgressListener): Promise<void> {
  const results = await runCommands(
    'initializeCommand',
    null,
    hook.commands.map((c) => ({ name: c.name, argv: hookArgv(c.command) })),
    async (argv, onOutput) => {
      const chunks: Buffer[] = [];
      const collect = (chunk: Buffer): void => {
        chunks.push(chunk);
        onOutput?.(chunk);
      };
      const result = await runStreaming(argv, { cwd: folder, okExitCodes: 'any', timeoutMs: HOOK_TIMEOUT_MS, onStdout: collect, onStderr: collect });
      return { exitCode: result.exitCode, output: Buffer.concat(chunks).toString('utf8') };
    },
    onHook,
    false,
    onProgress,
  );
  const failed = results.find((r) => r.exitCode !== 0);
  if (failed) {
    throw new BerthError('E_PROCESS', `The devcontainer hook initializeCommand${failed.name === null ? '' : ` "${failed.name}"`} failed on this machine (exit ${String(failed.exitCode)}): ${failed.argv.join(' ')}; nothing was built or started.`, {
      hint: 'Fix the command (it runs in the workspace folder on this machine), then run berth up again.',
      details: { hook: 'initializeCommand', command: failed.name, exitCode: failed.exitCode },
    });
  }
}

/**
 * postAttachCommand, each time a shell attaches. A failure is reported, never keeps the shell
 * from opening: the user needs the shell most when the hook is broken.
 */
export async function runAttachHook(attach: AttachHook, exec: HookContext['exec'], onHook: (run: HookRun) => void, onProgress?: HookProgressListener): Promise<HookRun[]> {
  const env = await remoteEnvFor({ remoteEnv: attach.remoteEnv, user: attach.user }, { exec });
  const options: ExecOptions = { env, workdir: attach.workspaceFolder, timeoutMs: HOOK_TIMEOUT_MS, ...(attach.user ? { user: attach.user } : {}) };
  const runOne: RunOne = (argv, onOutput) => exec(argv, streamingTo(options, onOutput)).then((r) => ({ exitCode: r.exitCode, output: r.stdout + r.stderr }));
  // The features' first, each in turn, then the config's own; a failure does not hold the later ones back.
  const runs: HookRun[] = [];
  for (const step of attach.before ?? []) runs.push(...(await runCommands('postAttachCommand', step.origin, step.commands, runOne, onHook, step.image === true, onProgress)));
  runs.push(...(await runCommands('postAttachCommand', null, attach.commands, runOne, onHook, false, onProgress)));
  return runs;
}

/** The hook in a line, for messages. */
function describeHook(hook: Hook): string {
  return hook.commands.map((c) => (c.name === null ? '' : `${c.name}: `) + hookArgv(c.command).join(' ')).join('; ');
}

/** remoteEnv as the container resolves it (`${containerEnv:X}` read there, by an exec only when used). */
export async function remoteEnvFor(plan: Pick<DevcontainerPlan, 'remoteEnv' | 'user'>, context: Pick<HookContext, 'exec'>): Promise<Record<string, string>> {
  const entries = Object.entries(plan.remoteEnv);
  if (entries.length === 0) return {};
  let containerEnv: Record<string, string> = {};
  if (entries.some(([, v]) => v?.includes('${containerEnv:'))) {
    const result = await context.exec(['env', '-0'], plan.user ? { user: plan.user } : {});
    containerEnv = Object.fromEntries(
      result.stdout
        .split('\0')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }
  const out: Record<string, string> = {};
  // null unsets: exec cannot unset a variable, so it is set empty (the reference unsets it).
  for (const [key, value] of entries) out[key] = value === null ? '' : substituteContainerEnv(value, containerEnv);
  return out;
}
