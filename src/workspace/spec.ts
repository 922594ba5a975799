import type { ComposeProject } from './devcontainer-compose.js';
import type { ExecDefaults } from './exec-defaults.js';
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { BerthError } from '../errors.js';
import { validateEnv, VOLUME_NAME } from '../runtime/validate-spec.js';
import type { RuntimeKind } from '../runtime/kinds.js';
import type { ForwardedPort } from './forwarded-ports.js';
import { MAX_PREVIEW_PORTS } from './preview-ports.js';
import { parseWorkspaceUser } from './workspace-user.js';
import { validatePolicy, type EgressPolicy } from '../egress/policy.js';
import { checkPrivileges, normalizePrivileges, type ContainerPrivileges, type PrivilegesInput } from './privileges.js';

/** The image a workspace uses when none is named: built from images/workspace/Dockerfile. */
export const DEFAULT_IMAGE = 'berth-workspace:latest';

export interface ExtraMountInput {
  /** A host path (bind), a volume name (volume; empty: anonymous), nothing for tmpfs. */
  source: string;
  readOnly?: boolean | undefined;
  /** Where in the container; default the source's own path (binds). Required for volume and tmpfs. */
  target?: string | undefined;
  /** Default bind (a host folder). `volume`: kept by the engine across recreates; `tmpfs`: in memory. */
  type?: 'bind' | 'volume' | 'tmpfs' | undefined;
}

/** What a caller may say about a workspace; everything is optional. */
export interface WorkspaceSpecInput {
  /** The host folder mounted at /workspace. Default: the current folder. */
  root?: string | undefined;
  image?: string | undefined;
  /**
   * The runtime a new workspace lives on (as berth.yaml's `runtime:`); default: Berth's selection.
   * An existing workspace stays where it is (naming another is E_CONFLICT). Not part of the spec
   * hash: it says where, not what.
   */
  runtime?: RuntimeKind | undefined;
  /** Extra host folders, mounted at the same absolute path: `SRC` or `SRC:ro`, or objects. */
  mounts?: readonly (string | ExtraMountInput)[] | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  cpus?: number | undefined;
  /** Bytes, or a size such as `512m`, `2g` (binary units). */
  memory?: string | number | undefined;
  /** Allow mounting folders Berth refuses by default (home, ~/.ssh, engine sockets, ...). */
  allowSensitiveMounts?: boolean | undefined;
  /** Loopback ports published at create for dev-server previews. Default: 8 on Apple, else 0. */
  previewPorts?: number | undefined;
  /**
   * Host mode only: confine the workspace with bubblewrap. `auto` (default) where this machine can,
   * else up fails saying how to fix it; `on` always; `off` unconfined (`--unconfined`), said loudly.
   */
  sandbox?: 'auto' | 'on' | 'off' | undefined;
  /**
   * Egress control: the workspace reaches only what this allows, through Berth's proxy. `null`
   * (in a patch): no egress control any more.
   */
  egress?: { allow?: readonly string[] | undefined; deny?: readonly string[] | undefined } | null | undefined;
  /**
   * The app's own metadata (`{ project: 'shop', owner: 'agent-7' }`): stored with the workspace,
   * returned by `list`/`status`, filterable in `list({ labels })`. Never on the container and not
   * part of its spec hash: changing labels never recreates anything.
   */
  labels?: Readonly<Record<string, string>> | undefined;
  /**
   * Who the workspace's processes run as, so who owns the files they write on its mounts: `host`
   * (this machine's user, where the runtime can map it: docs/DESIGN.md "The workspace's user"), a
   * `uid[:gid]` or `name[:group]` as the engines take it, or (default) the image's user. `null` (in
   * a patch): back to the image's. Part of the spec hash: changing it recreates the container.
   */
  user?: string | null | undefined;
  /** Where the root is mounted, and where exec and shells start (a devcontainer's workspaceFolder). Default /workspace. */
  workspaceFolder?: string | undefined;
  /**
   * A devcontainer's workspaceMount other than the root at workspaceFolder: a folder that holds the
   * root (the monorepo form, `source=${localWorkspaceFolder}/..,target=/workspaces`), or the root
   * read-only. It is mounted instead, and the root must then be at workspaceFolder inside it, so
   * files written there land in the root. Through the same sensitive-path rules as any mount.
   */
  workspaceMount?: WorkspaceMount | undefined;
  /** The devcontainer.json this spec was read from, and the hash of what was read: an edit is drift. */
  devcontainer?: DevcontainerOrigin | undefined;
  /**
   * Capabilities, security options, `privileged`, /etc/hosts lines and devices beyond the engine's
   * defaults (a devcontainer.json's runArgs and its features'). Those that reach past the container
   * (workspace/privileges.ts) need `allowPrivileged`, and are refused with an egress policy.
   * `null` (in a patch): none. Part of the spec hash.
   */
  privileges?: PrivilegesInput | null | undefined;
  /** The user opted in to elevated `privileges` (`--allow-privileged`). */
  allowPrivileged?: boolean | undefined;
  /**
   * Shell lines run in order by the container's main process at every start, before the keep-alive
   * (a devcontainer feature's `entrypoint`, as the reference chains them). Part of the spec hash.
   */
  entrypoints?: readonly string[] | null | undefined;
}

/** The host folder mounted in the root's place (`source`, absolute) at `target` in the container. */
export interface WorkspaceMount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface DevcontainerOrigin {
  file: string;
  /** Of the configuration as read, and of the Dockerfile it builds (devcontainer/spec-input.ts). */
  hash: string;
  /**
   * postAttachCommand as last brought up, run each time a shell attaches (`berth shell`, `pty()`
   * without a command). Not part of the spec hash: `hash` already changes with it.
   */
  postAttach?: AttachHook | undefined;
  /** dockerComposeFile: the project of the other services, stopped and removed with the workspace. */
  compose?: ComposeProject | undefined;
  /** Of its features alone (part of `hash`): so drift can say it was a feature that changed. */
  featuresHash?: string | undefined;
  /**
   * What it was brought up with besides the file (the settings laid over it, the initializeCommand
   * choice), so `berth mcp --up` brings it up again as it was declared. Not part of the spec hash.
   */
  upWith?: { base?: WorkspaceSpecInput | undefined; runInitializeCommand: boolean; allowPrivileged?: boolean | undefined } | undefined;
  /**
   * How plain commands run there (remoteUser, workspaceFolder, remoteEnv resolved in the container),
   * recorded at up once the container runs (workspace/exec-defaults.ts). Not part of the spec hash.
   */
  exec?: ExecDefaults | undefined;
  /**
   * forwardPorts/appPort with their portsAttributes (label, protocol): previews of the workspace
   * (workspace/forwarded-ports.ts). Not part of the spec hash: `hash` already changes with them.
   */
  ports?: ForwardedPort[] | undefined;
}

/** A hook run on attach, with the user, folder and variables the other hooks run with. */
export interface AttachHook {
  /** The devcontainer.json's own commands (at once, when named). */
  commands: { name: string | null; argv: string[] }[];
  /** The base image label's, then the features' postAttachCommands, each in turn in install order, before the config's own (`image`: the label's). */
  before?: { origin: string; image?: true | undefined; commands: { name: string | null; argv: string[] }[] }[] | undefined;
  user: string | null;
  workspaceFolder: string;
  remoteEnv: Record<string, string | null>;
}

export interface ExtraMount {
  /** Absolute, as given (not yet resolved through symlinks); a volume's name ('' anonymous); '' for tmpfs. */
  source: string;
  readOnly: boolean;
  /** Only when it is not the source's own path (specs recorded before it existed have none). */
  target?: string | undefined;
  /** Only for volume and tmpfs: absent is a bind. */
  type?: 'volume' | 'tmpfs' | undefined;
}

/** Where an extra mount goes in the container. */
export function mountTarget(mount: ExtraMount): string {
  return mount.target ?? mount.source;
}

/** The normalized spec: absolute paths, sorted mounts, every field present. */
export interface WorkspaceSpec {
  root: string;
  image: string;
  mounts: ExtraMount[];
  env: Record<string, string>;
  cpus: number | null;
  memoryBytes: number | null;
  allowSensitiveMounts: boolean;
  /** null: the runtime's default (see preview-ports.ts). */
  previewPorts: number | null;
  /** null: no egress control (the runtime's normal network). */
  egress: EgressPolicy | null;
  sandbox: 'auto' | 'on' | 'off';
  /** App metadata (absent in specs stored before labels existed). */
  labels?: Record<string, string> | undefined;
  /** null or absent: the image's user (specs stored before it existed have none). */
  user?: string | null | undefined;
  /** null: /workspace. Optional: specs recorded before it existed have none. */
  workspaceFolder?: string | null | undefined;
  /** Absent: the root itself is mounted at the workspace folder. */
  workspaceMount?: WorkspaceMount | undefined;
  /** null: not from a devcontainer.json. */
  devcontainer?: DevcontainerOrigin | null | undefined;
  /** Absent: the engine's defaults (specs recorded before it existed have none). */
  privileges?: ContainerPrivileges | undefined;
  /** Present (true) only when elevated privileges were granted. */
  allowPrivileged?: true | undefined;
  /** Absent: none. */
  entrypoints?: string[] | undefined;
}

/** Where the workspace's root is mounted and its commands start. */
export function rootTarget(spec: Pick<WorkspaceSpec, 'workspaceFolder'>): string {
  return spec.workspaceFolder ?? '/workspace';
}

export function normalizeSpec(input: WorkspaceSpecInput, cwd: string = process.cwd()): WorkspaceSpec {
  const env = { ...input.env };
  validateEnv(env, 'the workspace env');
  const user = parseWorkspaceUser(input.user);
  const mounts = (input.mounts ?? []).map((m) => normalizeMount(m, cwd));
  const key = (m: ExtraMount): string => `${m.source}\0${mountTarget(m)}`;
  mounts.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  if (input.cpus !== undefined && !(Number.isFinite(input.cpus) && input.cpus > 0)) {
    throw invalid(`cpus must be a positive number, got ${String(input.cpus)}.`, 'Use e.g. --cpus 2.');
  }
  const egress = input.egress === undefined || input.egress === null ? null : normalizeEgress(input.egress);
  const privileges = normalizePrivileges(input.privileges);
  checkPrivileges(privileges, { allowed: input.allowPrivileged === true, egress: egress !== null, where: input.devcontainer?.file });
  const entrypoints = normalizeEntrypoints(input.entrypoints);
  return {
    root: resolve(cwd, input.root ?? '.'),
    image: input.image?.trim() || DEFAULT_IMAGE,
    mounts,
    env,
    cpus: input.cpus ?? null,
    memoryBytes: input.memory === undefined ? null : parseMemory(input.memory),
    allowSensitiveMounts: input.allowSensitiveMounts ?? false,
    previewPorts: input.previewPorts === undefined ? null : parsePreviewPorts(input.previewPorts),
    egress,
    sandbox: parseSandbox(input.sandbox),
    labels: normalizeLabels(input.labels),
    // Only when set: specs without one read (and hash) as they always did.
    ...(user === null ? {} : { user }),
    // Only when given: specs without them read (and record) as they always did.
    ...(input.workspaceFolder === undefined ? {} : { workspaceFolder: parseWorkspaceFolder(input.workspaceFolder) }),
    ...(input.workspaceMount === undefined ? {} : { workspaceMount: normalizeWorkspaceMount(input.workspaceMount, resolve(cwd, input.root ?? '.'), input.workspaceFolder, cwd) }),
    ...(input.devcontainer === undefined
      ? {}
      : {
          devcontainer: {
            file: input.devcontainer.file,
            hash: input.devcontainer.hash,
            ...(input.devcontainer.postAttach ? { postAttach: input.devcontainer.postAttach } : {}),
            ...(input.devcontainer.compose ? { compose: input.devcontainer.compose } : {}),
            ...(input.devcontainer.featuresHash !== undefined ? { featuresHash: input.devcontainer.featuresHash } : {}),
            ...(input.devcontainer.upWith ? { upWith: input.devcontainer.upWith } : {}),
            ...(input.devcontainer.exec ? { exec: input.devcontainer.exec } : {}),
            ...(input.devcontainer.ports && input.devcontainer.ports.length > 0 ? { ports: normalizeForwardedPorts(input.devcontainer.ports) } : {}),
          },
        }),
    // Only when there are some: specs without them read (and hash) as they always did.
    ...(privileges === null ? {} : { privileges }),
    ...(privileges !== null && input.allowPrivileged === true ? { allowPrivileged: true as const } : {}),
    ...(entrypoints.length === 0 ? {} : { entrypoints }),
  };
}

/**
 * Whole ports only, and text where text goes: the record reaches argv (a bridge's port) and
 * terminals (the label is the repository's text: no control characters, so no escape sequences).
 */
function normalizeForwardedPorts(ports: readonly ForwardedPort[]): ForwardedPort[] {
  // eslint-disable-next-line no-control-regex
  const text = (v: unknown): string | null => (typeof v === 'string' ? v.replace(/[\u0000-\u001f\u007f-\u009f]/g, '') : null);
  return ports
    .filter((p) => Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535)
    .map((p) => ({ port: p.port, label: text(p.label), protocol: p.protocol === 'http' || p.protocol === 'https' ? p.protocol : null, service: text(p.service), onAutoForward: text(p.onAutoForward) }));
}

function normalizeEntrypoints(entrypoints: WorkspaceSpecInput['entrypoints']): string[] {
  const out = (entrypoints ?? []).filter((line) => typeof line === 'string' && line.trim() !== '');
  if (out.some((line) => line.includes('\0'))) throw invalid('An entrypoint cannot hold a NUL.', 'Remove it from the feature\'s entrypoint.');
  return [...out];
}

/**
 * `up` of an existing workspace with a partial spec: each field given replaces the one last
 * declared, each field left out (undefined) keeps it. So `up(id, { root })` moves the root and keeps
 * the image, env, egress and labels; `egress: null` turns egress control off.
 */
export function patchSpec(recorded: WorkspaceSpec, patch: WorkspaceSpecInput): WorkspaceSpecInput {
  const base: WorkspaceSpecInput = {
    root: recorded.root,
    image: recorded.image,
    mounts: recorded.mounts,
    env: recorded.env,
    cpus: recorded.cpus ?? undefined,
    memory: recorded.memoryBytes ?? undefined,
    allowSensitiveMounts: recorded.allowSensitiveMounts,
    previewPorts: recorded.previewPorts ?? undefined,
    sandbox: recorded.sandbox,
    egress: recorded.egress ?? undefined,
    labels: recorded.labels,
    user: recorded.user ?? undefined,
    workspaceFolder: recorded.workspaceFolder ?? undefined,
    workspaceMount: recorded.workspaceMount,
    devcontainer: recorded.devcontainer ?? undefined,
    privileges: recorded.privileges,
    allowPrivileged: recorded.allowPrivileged,
    entrypoints: recorded.entrypoints,
  };
  const given = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as WorkspaceSpecInput;
  return { ...base, ...given };
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const MAX_LABELS = 64;
const MAX_LABEL_VALUE = 1024;

function normalizeLabels(labels: WorkspaceSpecInput['labels']): Record<string, string> | undefined {
  if (labels === undefined) return undefined;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw invalid('labels must be an object of strings.', 'Use e.g. { labels: { project: "shop" } }.');
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length > MAX_LABELS) throw invalid(`At most ${String(MAX_LABELS)} labels, got ${String(entries.length)}.`, 'Keep app metadata small; store the rest in your app.');
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) throw invalid(`Label key ${JSON.stringify(key)} is not allowed.`, 'Keys: letters, digits, . _ / -, starting with a letter or digit, at most 128 characters.');
    if (typeof value !== 'string' || value.length > MAX_LABEL_VALUE) throw invalid(`Label ${key} must be a string of at most ${String(MAX_LABEL_VALUE)} characters.`, 'Encode other values as text.');
  }
  return Object.fromEntries(entries);
}

/** `SRC` or `SRC:ro` / `SRC:rw`; relative sources are taken from `cwd`. */
export function normalizeMount(mount: string | ExtraMountInput, cwd: string): ExtraMount {
  if (typeof mount !== 'string') {
    const readOnly = mount.readOnly ?? false;
    const target = mount.target === undefined ? undefined : parseMountTarget(mount.target);
    if (mount.type === 'volume' || mount.type === 'tmpfs') {
      if (target === undefined) throw invalid(`A ${mount.type} mount needs a target (a path in the container).`, 'Give "target", e.g. /var/lib/data.');
      if (mount.type === 'tmpfs') return { source: '', readOnly: false, target, type: 'tmpfs' };
      const name = mount.source;
      if (name !== '' && !VOLUME_NAME.test(name)) {
        throw invalid(`Invalid volume name ${JSON.stringify(name)} (for ${target}).`, 'A volume name is 2 or more letters, digits, "_", "." or "-", starting with a letter or digit; a host folder is a bind mount (type=bind).');
      }
      return { source: name, readOnly, target, type: 'volume' };
    }
    const source = resolve(cwd, mount.source);
    return { source, readOnly, ...(target === undefined || target === source ? {} : { target }) };
  }
  const match = /^(.*?)(?::(ro|rw))?$/.exec(mount);
  const source = match?.[1] ?? '';
  if (source === '') throw invalid(`Mount ${JSON.stringify(mount)} has no source folder.`, 'Use --mount /path/to/folder or --mount /path/to/folder:ro.');
  return { source: isAbsolute(source) ? resolve(source) : resolve(cwd, source), readOnly: match?.[2] === 'ro' };
}

function parseMountTarget(target: string): string {
  if (!target.startsWith('/') || target.includes('\0')) throw invalid(`A mount target must be an absolute path in the container, got ${JSON.stringify(target)}.`, 'Use e.g. target=/data.');
  const normalized = posix.normalize(target).replace(/(.)\/$/, '$1');
  if (normalized === '/') throw invalid('A mount target cannot be / itself.', 'Mount it at a folder below /.');
  return normalized;
}

/**
 * The folder mounted in the root's place must hold the root, and the workspace folder must be where
 * the root is inside it: otherwise exec, the files API and dev servers would start in a folder
 * that is not the workspace's (the paths only: mounts.ts checks them again through symlinks).
 */
function normalizeWorkspaceMount(mount: WorkspaceMount, root: string, workspaceFolder: string | undefined, cwd: string): WorkspaceMount {
  const source = resolve(cwd, mount.source);
  const target = parseMountTarget(mount.target);
  const inside = relative(source, root);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw invalid(`The workspaceMount's folder ${source} does not hold the workspace root ${root}.`, 'Mount the root or a folder above it (e.g. source=${localWorkspaceFolder}/..), or pass that folder as --root.');
  }
  const expected = posix.join(target, ...inside.split(sep).filter((part) => part !== ''));
  const folder = workspaceFolder === undefined ? '/workspace' : parseWorkspaceFolder(workspaceFolder);
  if (folder !== expected) {
    throw invalid(`The workspace root ${root} is at ${expected} in the workspaceMount (${source} at ${target}), not at the workspace folder ${folder}.`, `Set workspaceFolder to ${expected}: exec, shells and hooks start in the root.`);
  }
  return { source, target, readOnly: mount.readOnly === true };
}

function parseWorkspaceFolder(folder: string): string {
  const normalized = posix.normalize(folder).replace(/(.)\/$/, '$1');
  if (!folder.startsWith('/') || normalized === '/' || folder.includes('\0')) {
    throw invalid(`The workspace folder must be an absolute path in the container below /, got ${JSON.stringify(folder)}.`, 'Set workspaceFolder to e.g. /workspaces/project.');
  }
  return normalized;
}

function normalizeEgress(egress: NonNullable<WorkspaceSpecInput['egress']>): EgressPolicy {
  const policy = { allow: [...new Set(egress.allow ?? [])].sort(), deny: [...new Set(egress.deny ?? [])].sort() };
  validatePolicy(policy);
  return policy;
}

function parseSandbox(value: unknown): 'auto' | 'on' | 'off' {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'on' || value === 'off') return value;
  if (value === 'vm' || value === 'shared-kernel') {
    throw invalid(`sandbox: ${value} chooses a runtime, which a workspace spec cannot (it is already running on one).`, 'Say it in berth.yaml, or choose the runtime with --runtime / createBerth({ runtime }).');
  }
  throw invalid(`sandbox must be auto, on or off (host mode's bubblewrap sandbox), got ${JSON.stringify(value)}.`, 'Leave it out (auto), or pass --unconfined to run host mode without the sandbox.');
}

function parsePreviewPorts(count: number): number {
  if (Number.isInteger(count) && count >= 0 && count <= MAX_PREVIEW_PORTS) return count;
  throw invalid(`preview ports must be a whole number from 0 to ${String(MAX_PREVIEW_PORTS)}, got ${String(count)}.`, 'Use e.g. --preview-ports 8.');
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `2g`, `512m`, `1.5GiB`, or a number of bytes. Binary units, as every engine reads them. */
export function parseMemory(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
    throw invalid(`memory must be a positive whole number of bytes, got ${String(value)}.`, 'Use e.g. --memory 2g.');
  }
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  const bytes = match ? Math.round(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1)) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw invalid(`Invalid memory size ${JSON.stringify(value)}.`, 'Use a number with a unit: 512m, 2g, 1.5g (binary units).');
  }
  return bytes;
}

function invalid(message: string, hint: string): BerthError {
  return new BerthError('E_INVALID_INPUT', message, { hint });
}
