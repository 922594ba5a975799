import { isAbsolute, posix, resolve } from 'node:path';
import { BerthError } from '../errors.js';
import { validateEnv } from '../runtime/validate-spec.js';
import { MAX_PREVIEW_PORTS } from './preview-ports.js';
import { validatePolicy, type EgressPolicy } from '../egress/policy.js';

/** The image a workspace uses when none is named: built from images/workspace/Dockerfile. */
export const DEFAULT_IMAGE = 'berth-workspace:latest';

export interface ExtraMountInput {
  source: string;
  readOnly?: boolean | undefined;
}

/** What a caller may say about a workspace; everything is optional. */
export interface WorkspaceSpecInput {
  /** The host folder mounted at /workspace. Default: the current folder. */
  root?: string | undefined;
  image?: string | undefined;
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
  /** Egress control: the workspace reaches only what this allows, through Berth's proxy. */
  egress?: { allow?: readonly string[] | undefined; deny?: readonly string[] | undefined } | undefined;
  /** Where the root is mounted, and where exec and shells start (a devcontainer's workspaceFolder). Default /workspace. */
  workspaceFolder?: string | undefined;
  /** The devcontainer.json this spec was read from, and the hash of what was read: an edit is drift. */
  devcontainer?: DevcontainerOrigin | undefined;
}

export interface DevcontainerOrigin {
  file: string;
  /** Of the configuration as read, and of the Dockerfile it builds (devcontainer/spec-input.ts). */
  hash: string;
}

export interface ExtraMount {
  /** Absolute, as given (not yet resolved through symlinks). */
  source: string;
  readOnly: boolean;
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
  /** null: /workspace. Optional: specs recorded before it existed have none. */
  workspaceFolder?: string | null | undefined;
  /** null: not from a devcontainer.json. */
  devcontainer?: DevcontainerOrigin | null | undefined;
}

/** Where the workspace's root is mounted and its commands start. */
export function rootTarget(spec: Pick<WorkspaceSpec, 'workspaceFolder'>): string {
  return spec.workspaceFolder ?? '/workspace';
}

export function normalizeSpec(input: WorkspaceSpecInput, cwd: string = process.cwd()): WorkspaceSpec {
  const env = { ...input.env };
  validateEnv(env, 'the workspace env');
  const mounts = (input.mounts ?? []).map((m) => normalizeMount(m, cwd));
  mounts.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  if (input.cpus !== undefined && !(Number.isFinite(input.cpus) && input.cpus > 0)) {
    throw invalid(`cpus must be a positive number, got ${String(input.cpus)}.`, 'Use e.g. --cpus 2.');
  }
  return {
    root: resolve(cwd, input.root ?? '.'),
    image: input.image?.trim() || DEFAULT_IMAGE,
    mounts,
    env,
    cpus: input.cpus ?? null,
    memoryBytes: input.memory === undefined ? null : parseMemory(input.memory),
    allowSensitiveMounts: input.allowSensitiveMounts ?? false,
    previewPorts: input.previewPorts === undefined ? null : parsePreviewPorts(input.previewPorts),
    egress: input.egress === undefined ? null : normalizeEgress(input.egress),
    sandbox: parseSandbox(input.sandbox),
    // Only when given: specs without them read (and record) as they always did.
    ...(input.workspaceFolder === undefined ? {} : { workspaceFolder: parseWorkspaceFolder(input.workspaceFolder) }),
    ...(input.devcontainer === undefined ? {} : { devcontainer: { file: input.devcontainer.file, hash: input.devcontainer.hash } }),
  };
}

/** `SRC` or `SRC:ro` / `SRC:rw`; relative sources are taken from `cwd`. */
export function normalizeMount(mount: string | ExtraMountInput, cwd: string): ExtraMount {
  if (typeof mount !== 'string') return { source: resolve(cwd, mount.source), readOnly: mount.readOnly ?? false };
  const match = /^(.*?)(?::(ro|rw))?$/.exec(mount);
  const source = match?.[1] ?? '';
  if (source === '') throw invalid(`Mount ${JSON.stringify(mount)} has no source folder.`, 'Use --mount /path/to/folder or --mount /path/to/folder:ro.');
  return { source: isAbsolute(source) ? resolve(source) : resolve(cwd, source), readOnly: match?.[2] === 'ro' };
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
