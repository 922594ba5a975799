import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, sep } from 'node:path';

/**
 * What a workspace may not mount without `--allow-sensitive-mount`: one table, one rule.
 *
 * A mount source (the root or an extra, after resolving symlinks) is refused when it IS a row's
 * path, when it is a PARENT of a row's path (mounting `~` or `/var` hands over what is inside),
 * and, for rows that cover `inside`, when it is INSIDE one (`~/.ssh/id_ed25519`, `/etc/ssl`).
 * The home and `/` cover only themselves and their parents: a project under `~` is the point.
 *
 * Paths are written as the README shows them: `~` is the user's home, `$NAME` an environment
 * variable (a `unix://` URL is reduced to its path; a row whose variable is unset or not a local
 * path is skipped), `$BERTH_HOME` Berth's own state folder. The README's table is generated from
 * this one (`npm run mount-table`; a test compares them).
 */
export interface SensitiveRow {
  path: string;
  covers: 'inside' | 'itself';
  kind: 'filesystem' | 'system' | 'engine socket' | 'engine state' | 'credentials' | 'berth' | 'home';
  reason: string;
}

const ENGINE_SOCKET = 'an engine API socket: whoever talks to it is root on the host';
const ENGINE_STATE = "an engine's own state: images, containers, volumes, secrets";

export const SENSITIVE_PATHS: readonly SensitiveRow[] = [
  { path: '/', covers: 'itself', kind: 'filesystem', reason: 'the whole filesystem' },
  { path: '~', covers: 'itself', kind: 'home', reason: 'your home folder: every credential and project in it' },
  { path: '$BERTH_HOME', covers: 'inside', kind: 'berth', reason: "Berth's own state folder: proxy tokens, env values, the daemon token" },
  // System trees: writable, they are the host; readable, they tell it (and /proc, /sys, /dev reach the kernel).
  { path: '/etc', covers: 'inside', kind: 'system', reason: 'host configuration: users, passwords, sudoers' },
  { path: '/proc', covers: 'inside', kind: 'system', reason: "the host's processes and kernel settings" },
  { path: '/sys', covers: 'inside', kind: 'system', reason: "the host kernel's devices and settings" },
  { path: '/dev', covers: 'inside', kind: 'system', reason: "the host's devices (disks, memory)" },
  { path: '/boot', covers: 'inside', kind: 'system', reason: "the host's kernel and boot loader" },
  { path: '/run', covers: 'inside', kind: 'system', reason: "the host's runtime sockets: systemd, D-Bus, engines" },
  { path: '/System', covers: 'inside', kind: 'system', reason: 'macOS itself' },
  { path: '/Library', covers: 'inside', kind: 'system', reason: 'macOS system-wide settings, daemons and keychains' },
  { path: '/private/etc', covers: 'inside', kind: 'system', reason: "macOS's /etc" },
  { path: '/private/var/run', covers: 'inside', kind: 'system', reason: "macOS's /var/run: runtime sockets" },
  // Engine sockets: every one Berth can learn of (env, docker contexts, the paths it probes).
  { path: '$DOCKER_HOST', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '$CONTAINER_HOST', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '$BERTH_DOCKER_API', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '$BERTH_PODMAN_API', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: 'docker contexts', covers: 'itself', kind: 'engine socket', reason: `${ENGINE_SOCKET} (each unix:// endpoint in ~/.docker/contexts)` },
  { path: '/var/run/docker.sock', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '/run/docker.sock', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '/run/podman/podman.sock', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '/var/run/podman/podman.sock', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '$XDG_RUNTIME_DIR/podman/podman.sock', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '$XDG_RUNTIME_DIR/docker.sock', covers: 'itself', kind: 'engine socket', reason: ENGINE_SOCKET },
  { path: '~/.docker/run/docker.sock', covers: 'itself', kind: 'engine socket', reason: `${ENGINE_SOCKET} (Docker Desktop)` },
  // Engine state. Apple's `container` has no socket (its CLI talks XPC to the apiserver); its app root is here.
  { path: '/var/lib/docker', covers: 'inside', kind: 'engine state', reason: ENGINE_STATE },
  { path: '/var/lib/containers', covers: 'inside', kind: 'engine state', reason: ENGINE_STATE },
  { path: '~/.local/share/containers', covers: 'inside', kind: 'engine state', reason: `${ENGINE_STATE} (rootless podman)` },
  { path: '~/Library/Application Support/com.apple.container', covers: 'inside', kind: 'engine state', reason: `${ENGINE_STATE} (Apple container)` },
  // Credentials in the home.
  { path: '~/.ssh', covers: 'inside', kind: 'credentials', reason: 'SSH keys' },
  { path: '~/.gnupg', covers: 'inside', kind: 'credentials', reason: 'GnuPG keys' },
  { path: '~/.docker', covers: 'inside', kind: 'credentials', reason: 'registry logins, docker contexts' },
  { path: '~/.aws', covers: 'inside', kind: 'credentials', reason: 'AWS credentials' },
  { path: '~/.kube', covers: 'inside', kind: 'credentials', reason: 'Kubernetes cluster credentials' },
  { path: '~/.config/gcloud', covers: 'inside', kind: 'credentials', reason: 'Google Cloud credentials' },
  { path: '~/.azure', covers: 'inside', kind: 'credentials', reason: 'Azure credentials' },
  { path: '~/.config/gh', covers: 'inside', kind: 'credentials', reason: 'GitHub CLI token' },
  { path: '~/.netrc', covers: 'inside', kind: 'credentials', reason: 'passwords for hosts (curl, git, ftp)' },
  { path: '~/.npmrc', covers: 'inside', kind: 'credentials', reason: 'npm registry tokens' },
  { path: '~/.git-credentials', covers: 'inside', kind: 'credentials', reason: 'git passwords and tokens' },
  { path: '~/.pgpass', covers: 'inside', kind: 'credentials', reason: 'PostgreSQL passwords' },
  { path: '~/Library/Keychains', covers: 'inside', kind: 'credentials', reason: 'macOS keychains' },
];

export interface SensitiveContext {
  userHome: string;
  berthHome: string;
  env: NodeJS.ProcessEnv;
}

/** One row made concrete on this machine: the path as written and as it really is. */
export interface ProtectedPath {
  row: SensitiveRow;
  path: string;
}

export interface SensitiveMatch {
  row: SensitiveRow;
  /** The row's path on this machine. */
  path: string;
  relation: 'is' | 'inside' | 'contains';
}

/** The variables the table reads (docker contexts live under DOCKER_CONFIG). */
const ENV_READ = [...new Set(SENSITIVE_PATHS.flatMap((row) => /^\$(\w+)/.exec(row.path)?.[1] ?? []).filter((name) => name !== 'BERTH_HOME')), 'DOCKER_CONFIG'];
/** ensure() checks mounts on every call: ~40 realpaths (~0.6 ms) are worth keeping for a few seconds. */
const CACHE_MS = 5000;
const cache = new Map<string, { at: number; paths: ProtectedPath[] }>();

/** Every row's paths on this machine, each also through symlinks (/var/run → /run, a linked home). */
export function protectedPaths(context: SensitiveContext, maxAgeMs = CACHE_MS): ProtectedPath[] {
  const key = JSON.stringify([context.userHome, context.berthHome, ...ENV_READ.map((name) => context.env[name] ?? null)]);
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && now - hit.at < maxAgeMs) return hit.paths;
  const paths = computeProtectedPaths(context);
  if (cache.size > 16) cache.clear();
  cache.set(key, { at: now, paths });
  return paths;
}

function computeProtectedPaths(context: SensitiveContext): ProtectedPath[] {
  const out: ProtectedPath[] = [];
  const seen = new Set<string>();
  for (const row of SENSITIVE_PATHS) {
    for (const path of expand(row.path, context)) {
      for (const variant of [path, realish(path)]) {
        const key = `${row.path}\u0000${variant}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ row, path: variant });
      }
    }
  }
  return out;
}

/** The rule a (real) path breaks, or null; the closest one when several do (it is, then inside, then contains). */
export function sensitiveMatch(real: string, table: readonly ProtectedPath[]): SensitiveMatch | null {
  const is = table.find((p) => p.path === real);
  if (is) return { ...is, relation: 'is' };
  const inside = table.find((p) => p.row.covers === 'inside' && isInside(real, p.path));
  if (inside) return { ...inside, relation: 'inside' };
  const contains = table.find((p) => isInside(p.path, real));
  return contains ? { ...contains, relation: 'contains' } : null;
}

/** The README's table, from the code's. */
export function sensitivePathsMarkdown(): string {
  const lines = ['| Path | Refused | Why |', '| --- | --- | --- |'];
  for (const row of SENSITIVE_PATHS) {
    const refused = row.covers === 'inside' ? 'it, anything inside it, any parent' : 'it, any parent';
    lines.push(`| \`${row.path}\` | ${refused} | ${row.kind}: ${row.reason} |`);
  }
  return lines.join('\n');
}

function expand(template: string, { userHome, berthHome, env }: SensitiveContext): string[] {
  if (template === 'docker contexts') return dockerContextSockets(userHome, env);
  if (template === '~') return [userHome];
  if (template.startsWith('~/')) return [join(userHome, template.slice(2))];
  if (template === '$BERTH_HOME') return [berthHome];
  const variable = /^\$(\w+)(.*)$/.exec(template);
  if (variable) {
    const value = env[variable[1] ?? ''];
    if (value === undefined || value === '') return [];
    const path = value.startsWith('unix://') ? value.slice('unix://'.length) : value;
    return isAbsolute(path) ? [join(path, variable[2] ?? '')] : [];
  }
  return [template];
}

/**
 * docker's contexts, read the way docker stores them (docker/cli@v27.5.1
 * cli/context/store/store.go `contextdirOf` and metadatastore.go: `$DOCKER_CONFIG/contexts/meta/
 * <sha256 of the name>/meta.json`, endpoint `docker`, its `Host`). All of them, not only
 * the current one: a context is one `docker context use` away.
 */
function dockerContextSockets(userHome: string, env: NodeJS.ProcessEnv): string[] {
  const meta = join(env['DOCKER_CONFIG'] ?? join(userHome, '.docker'), 'contexts', 'meta');
  const sockets: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(meta);
  } catch {
    return sockets;
  }
  for (const entry of entries.filter((e) => /^[0-9a-f]{64}$/.test(e))) {
    try {
      const parsed = JSON.parse(readFileSync(join(meta, entry, 'meta.json'), 'utf8')) as { Name?: unknown; Endpoints?: { docker?: { Host?: unknown } } };
      const host = parsed.Endpoints?.docker?.Host;
      if (typeof parsed.Name === 'string' && createHash('sha256').update(parsed.Name).digest('hex') !== entry) continue;
      if (typeof host === 'string' && host.startsWith('unix://')) sockets.push(host.slice('unix://'.length));
    } catch {
      // An unreadable context is not one docker can use either.
    }
  }
  return sockets;
}

/** The path through symlinks, for the part of it that exists (`~/.aws` before it exists, under a linked home). */
function realish(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(basename(existing));
      existing = parent;
    }
  }
}

/**
 * True when `path` is strictly below `folder`; both absolute and normalized (real paths, joins).
 * A prefix test, not path.relative: ensure() runs ~240 of these per call.
 */
export function isInside(path: string, folder: string): boolean {
  const prefix = folder.endsWith(sep) ? folder : `${folder}${sep}`;
  return path.length > prefix.length && path.startsWith(prefix);
}
