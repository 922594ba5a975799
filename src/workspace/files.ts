import { posix } from 'node:path';
import { BerthError } from '../errors.js';
import { hostPathFor, ISOLATION_LABEL } from '../runtime/host/host-runtime.js';
import type { ExecResult, Runtime } from '../runtime/types.js';

/**
 * Files anywhere in a workspace's own filesystem, not only the mounted root: read, write, list,
 * remove. Every operation is one exec of a small POSIX sh script inside the workspace, as the
 * workspace's user, so it sees exactly what the workspace's commands see (a container's /tmp, the
 * sandbox's private /tmp, read-only system folders refusing writes) and needs no engine-specific
 * copy path. Paths travel as argv (never through a shell string) and content as base64 (exec's
 * pipes carry text), so any byte survives. Names that are not UTF-8 cannot be named by a JS
 * string: `list` shows them with `rawName` (their bytes, base64) and the other calls refuse them.
 *
 * What "the workspace" is: docker, podman, Apple: the container's filesystem. Host mode,
 * sandboxed: the sandbox's view (workspace paths such as /workspace map to the root as exec's
 * working folder does; /tmp is the sandbox's own). Host mode, unconfined: the workspace has no
 * filesystem of its own, so only paths inside its mounts (/workspace and the extra mounts) are
 * allowed; anything else would be the host's files and is refused.
 */

export interface FileEntry {
  name: string;
  /** Absolute path inside the workspace. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
  /** Only when the name is not valid UTF-8: its bytes, base64 (`name` then holds U+FFFD in their place). */
  rawName?: string;
}

export interface ReadOptions {
  encoding?: 'utf8' | 'buffer' | undefined;
}

export interface ListOptions {
  /** Every entry below the folder, not only its children (paths then say where each one is). */
  recursive?: boolean | undefined;
  /** At most this many entries (default 10,000); `list` says so with E_INVALID_INPUT beyond. */
  limit?: number | undefined;
}

export interface RemoveOptions {
  /** Remove a folder with everything in it; without it only an empty folder goes. */
  recursive?: boolean | undefined;
}

/** The workspace root: where relative paths start. */
export const WORKSPACE_ROOT = '/workspace';
const DEFAULT_LIST_LIMIT = 10_000;
const FILE_OP_TIMEOUT_MS = 120_000;

/** How each script says what went wrong (its stderr carries the tool's own words). */
const EXIT = { notFound: 3, isDir: 4, failed: 5, notDir: 7, notEmpty: 8, noTool: 9 } as const;

const READ_SCRIPT = `
[ -e "$1" ] || exit ${String(EXIT.notFound)}
[ -d "$1" ] && exit ${String(EXIT.isDir)}
command -v base64 >/dev/null 2>&1 || exit ${String(EXIT.noTool)}
base64 < "$1" || exit ${String(EXIT.failed)}
`;

const WRITE_SCRIPT = `
[ -d "$1" ] && exit ${String(EXIT.isDir)}
command -v base64 >/dev/null 2>&1 || exit ${String(EXIT.noTool)}
mkdir -p -- "$2" || exit ${String(EXIT.failed)}
base64 -d > "$1" || exit ${String(EXIT.failed)}
`;

// GNU find's -printf gives type, size, mtime and the name in one process; NUL-terminated and the
// whole listing base64'd, so newlines and non-UTF-8 bytes in names survive.
const LIST_SCRIPT = `
[ -e "$1" ] || exit ${String(EXIT.notFound)}
[ -d "$1" ] || exit ${String(EXIT.notDir)}
command -v base64 >/dev/null 2>&1 || exit ${String(EXIT.noTool)}
find "$1" -maxdepth 0 -printf '' 2>/dev/null || exit ${String(EXIT.noTool)}
if [ "$2" = r ]; then depth=""; else depth="-maxdepth 1"; fi
find -H "$1" -mindepth 1 $depth -printf '%y\\t%s\\t%T@\\t%P\\0' | base64
`;

const REMOVE_SCRIPT = `
[ -e "$1" ] || [ -L "$1" ] || exit ${String(EXIT.notFound)}
if [ -d "$1" ] && [ ! -L "$1" ]; then
  if [ "$2" = r ]; then rm -rf -- "$1" || exit ${String(EXIT.failed)}; exit 0; fi
  rmdir -- "$1" 2>/dev/null || exit ${String(EXIT.notEmpty)}
  exit 0
fi
rm -f -- "$1" || exit ${String(EXIT.failed)}
`;

/**
 * One workspace operation on its container, by engine name and on the runtime it lives on (the
 * facade supplies both, ownership and "gone").
 */
export type OnContainer = <T>(id: string, operation: (target: string, runtime: Runtime) => Promise<T>) => Promise<T>;

/** `berth.files`: the four operations, for any workspace of this Berth. */
export class WorkspaceFiles {
  private readonly onContainer: OnContainer;

  constructor(onContainer: OnContainer) {
    this.onContainer = onContainer;
  }

  read(id: string, path: string, options: { encoding: 'buffer' }): Promise<Buffer>;
  read(id: string, path: string, options?: { encoding?: 'utf8' | undefined }): Promise<string>;
  read(id: string, path: string, options?: ReadOptions): Promise<string | Buffer>;
  async read(id: string, path: string, options: ReadOptions = {}): Promise<string | Buffer> {
    const bytes = await this.onContainer(id, (target, runtime) => readFile(runtime, target, id, path));
    return options.encoding === 'buffer' ? bytes : bytes.toString('utf8');
  }

  write(id: string, path: string, data: string | Uint8Array): Promise<void> {
    return this.onContainer(id, (target, runtime) => writeFile(runtime, target, id, path, data));
  }

  list(id: string, path: string = WORKSPACE_ROOT, options: ListOptions = {}): Promise<FileEntry[]> {
    return this.onContainer(id, (target, runtime) => listFolder(runtime, target, id, path, options));
  }

  remove(id: string, path: string, options: RemoveOptions = {}): Promise<void> {
    return this.onContainer(id, (target, runtime) => removePath(runtime, target, id, path, options));
  }
}

export async function readFile(runtime: Runtime, target: string, workspace: string, path: string): Promise<Buffer> {
  const where = await locate(runtime, target, workspace, path);
  const result = await runScript(runtime, target, READ_SCRIPT, [where.onRuntime]);
  if (result.exitCode !== 0) throw failure(result, where, 'read');
  return Buffer.from(result.stdout, 'base64');
}

export async function writeFile(runtime: Runtime, target: string, workspace: string, path: string, data: string | Uint8Array): Promise<void> {
  const where = await locate(runtime, target, workspace, path);
  if (where.onRuntime === '/') throw invalid(where.path, 'is the filesystem root, not a file');
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const result = await runScript(runtime, target, WRITE_SCRIPT, [where.onRuntime, posix.dirname(where.onRuntime)], bytes.toString('base64'));
  if (result.exitCode !== 0) throw failure(result, where, 'write');
}

export async function listFolder(runtime: Runtime, target: string, workspace: string, path: string, options: ListOptions = {}): Promise<FileEntry[]> {
  const where = await locate(runtime, target, workspace, path);
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  const result = await runScript(runtime, target, LIST_SCRIPT, [where.onRuntime, options.recursive === true ? 'r' : '']);
  if (result.exitCode !== 0) throw failure(result, where, 'list');
  const raw = Buffer.from(result.stdout, 'base64');
  const entries: FileEntry[] = [];
  let start = 0;
  for (let end = raw.indexOf(0, start); end !== -1; start = end + 1, end = raw.indexOf(0, start)) {
    const entry = parseEntry(raw.subarray(start, end), where.path);
    if (entry) entries.push(entry);
    if (entries.length > limit) {
      throw new BerthError('E_INVALID_INPUT', `${where.path} holds more than ${String(limit)} entries${options.recursive === true ? ' below it' : ''}.`, {
        hint: 'List a folder further down, or list without recursive.',
        details: { path: where.path, limit },
      });
    }
  }
  return entries;
}

export async function removePath(runtime: Runtime, target: string, workspace: string, path: string, options: RemoveOptions = {}): Promise<void> {
  const where = await locate(runtime, target, workspace, path);
  if (where.onRuntime === '/') throw invalid(where.path, 'is the filesystem root');
  const result = await runScript(runtime, target, REMOVE_SCRIPT, [where.onRuntime, options.recursive === true ? 'r' : '']);
  if (result.exitCode !== 0) throw failure(result, where, 'remove');
}

/** A path as the caller named it (absolute, inside the workspace) and as the exec sees it. */
export interface Located {
  workspace: string;
  path: string;
  onRuntime: string;
}

/**
 * The absolute workspace path for what the caller named (relative: from /workspace), refused when
 * no exec can name it, and where the exec finds it: the same path in a container; through the
 * mounts on the host (where /workspace is the root's own folder).
 */
export async function locate(runtime: Runtime, target: string, workspace: string, path: string): Promise<Located> {
  const absolute = resolveWorkspacePath(path);
  if (runtime.kind !== 'host') return { workspace, path: absolute, onRuntime: absolute };
  const info = await runtime.inspect(target);
  const inMount = info.mounts.some((m) => absolute === posix.normalize(m.target) || absolute.startsWith(`${posix.normalize(m.target).replace(/\/$/, '')}/`));
  if (!inMount && info.labels[ISOLATION_LABEL] !== 'sandbox') {
    throw new BerthError('E_INVALID_INPUT', `${absolute} is outside workspace "${workspace}": it runs unconfined on the host, so only its mounts (${info.mounts.map((m) => m.target).join(', ')}) are its files.`, {
      hint: `Use a path under ${WORKSPACE_ROOT}, or bring the workspace up sandboxed (without --unconfined) to have a filesystem of its own.`,
      details: { workspace, path: absolute },
    });
  }
  return { workspace, path: absolute, onRuntime: hostPathFor(info.mounts, absolute) };
}

/** Normalised, absolute, without `..` escaping above `/`; NUL and non-UTF-8 (lone surrogates) refused. */
/** `path` made absolute (relative to `root`: the workspace's folder, /workspace unless a devcontainer says) and normalised; refused when it cannot name a file. */
export function resolveWorkspacePath(path: string, root: string = WORKSPACE_ROOT): string {
  if (typeof path !== 'string' || path === '') throw invalid(String(path), 'is empty');
  if (path.includes('\0')) throw invalid(JSON.stringify(path), 'contains a NUL byte, which no file name can hold');
  if (/\p{Cs}/u.test(path)) {
    throw new BerthError('E_INVALID_INPUT', `The path ${JSON.stringify(path)} is not valid Unicode, so it cannot name a file as UTF-8 bytes.`, {
      hint: 'Names that are not UTF-8 can be listed (their bytes are in `rawName`) but not opened by name here; rename them with exec (e.g. `mv` with a glob).',
    });
  }
  const absolute = posix.normalize(path.startsWith('/') ? path : posix.join(root, path));
  return absolute.length > 1 && absolute.endsWith('/') ? absolute.slice(0, -1) : absolute;
}

function runScript(runtime: Runtime, target: string, script: string, args: readonly string[], input?: string): Promise<ExecResult> {
  return runtime.exec(target, ['sh', '-c', script, 'sh', ...args], { timeoutMs: FILE_OP_TIMEOUT_MS, workdir: '/', ...(input === undefined ? {} : { input }) });
}

function parseEntry(line: Buffer, folder: string): FileEntry | null {
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < 3; i++) {
    const tab = line.indexOf(9, start);
    if (tab === -1) return null;
    fields.push(line.subarray(start, tab));
    start = tab + 1;
  }
  const relative = line.subarray(start);
  const [kind, size, mtime] = fields.map((f) => f.toString('latin1'));
  const text = new TextDecoder('utf-8', { fatal: false }).decode(relative);
  const utf8 = isUtf8(relative);
  const path = posix.join(folder, text);
  return {
    name: posix.basename(path),
    path,
    type: kind === 'f' ? 'file' : kind === 'd' ? 'dir' : kind === 'l' ? 'symlink' : 'other',
    size: Number(size),
    mtimeMs: Math.round(Number(mtime) * 1000),
    ...(utf8 ? {} : { rawName: Buffer.from(relative.subarray(relative.lastIndexOf(47) + 1)).toString('base64') }),
  };
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function failure(result: ExecResult, where: Located, operation: 'read' | 'write' | 'list' | 'remove'): BerthError {
  const said = result.stderr.trim().split('\n').slice(-3).join(' ');
  const details = { workspace: where.workspace, path: where.path, operation, exitCode: result.exitCode };
  switch (result.exitCode) {
    case EXIT.notFound:
      return new BerthError('E_NOT_FOUND', `${where.path} does not exist in workspace "${where.workspace}".`, {
        hint: `Check the path with \`berth exec ${where.workspace} -- ls -la ${posix.dirname(where.path)}\` (relative paths start at ${WORKSPACE_ROOT}).`,
        details,
      });
    case EXIT.isDir:
      return invalid(where.path, `is a folder in workspace "${where.workspace}", not a file`, 'List it instead, or name a file inside it.');
    case EXIT.notDir:
      return invalid(where.path, `is not a folder in workspace "${where.workspace}"`, 'Read it instead, or list its folder.');
    case EXIT.notEmpty:
      return invalid(where.path, `is a folder that is not empty in workspace "${where.workspace}"`, 'Remove it with recursive: true to delete everything in it.');
    case EXIT.noTool:
      return new BerthError('E_UNSUPPORTED', `Workspace "${where.workspace}" lacks the tools file operations use (sh, base64, GNU find).`, {
        hint: 'Use an image with coreutils and findutils (Debian, Ubuntu, Fedora; on Alpine: `apk add coreutils findutils`).',
        details,
      });
    default:
      return new BerthError('E_RUNTIME_FAILED', `Cannot ${operation} ${where.path} in workspace "${where.workspace}": ${said || `exit ${String(result.exitCode)}`}.`, {
        hint: /permission denied|read-only/i.test(said) ? 'The workspace user may not change this path: choose one it owns (e.g. under /workspace or /tmp).' : 'Check the path and its parent folders.',
        details,
      });
  }
}

function invalid(path: string, what: string, hint = 'Name a file inside the workspace (relative paths start at /workspace).'): BerthError {
  return new BerthError('E_INVALID_INPUT', `The path ${path} ${what}.`, { hint, details: { path } });
}
