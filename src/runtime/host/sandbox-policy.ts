import { posix } from 'node:path';

/**
 * What a sandboxed host-mode workspace may see and touch, said once: the Linux bwrap argv and the
 * macOS Seatbelt profile are both generated from it, so the two cannot drift apart. Pure: the
 * caller looks at the machine (which paths exist, which are protected) and hands the facts in.
 *
 * The shape follows Anthropic's sandbox-runtime (anthropic-experimental/sandbox-runtime@d35b813,
 * src/sandbox/linux-sandbox-utils.ts and macos-sandbox-utils.ts): the system read-only, writes only
 * where allowed, no network but a unix socket to a filtering proxy on the host. Berth's differs in
 * what it hides: the whole home (an empty tmpfs) rather than a deny list inside it.
 */
export interface SandboxPolicy {
  /** Host folders bound read-write at their own path: the workspace root, writable extras. */
  writable: string[];
  /** Host paths bound read-only at their own path: `:ro` extras, and system files the sandbox needs. */
  readOnly: string[];
  /** Emptied (a tmpfs on Linux, unreadable on macOS): credential folders, engine state, Berth's home. */
  hiddenFolders: string[];
  /** Emptied the same way, for files (`~/.netrc`, an engine socket). */
  hiddenFiles: string[];
  /** The user's home: empty inside, except what is bound into it. */
  home: string;
  /** Private, empty, writable; on macOS (no mount namespaces) a folder of its own passed as TMPDIR. */
  tmp: string;
  /** Berth's relay sockets: a host folder bound at `inside` (Linux only; macOS reaches loopback directly). */
  sockets: { host: string; inside: string };
  /**
   * `host`: the host's network as it is (no egress policy: the same as a container without one).
   * `proxy-only`: no route anywhere; the egress proxy on loopback `proxyPort` is all there is.
   */
  network: { kind: 'host' } | { kind: 'proxy-only'; proxyPort: number };
}

/** Where the relay sockets appear inside a Linux sandbox (/run is an empty tmpfs there). */
export const SANDBOX_SOCKET_DIR = '/run/berth';

export interface MountFact {
  source: string;
  readOnly: boolean;
}

export interface PolicyFacts {
  /** The workspace's mounts (host mode binds each source at its own path). */
  mounts: readonly MountFact[];
  home: string;
  /** Paths the sensitive-mount table protects, with what is there now (absent ones are skipped). */
  protectedPaths: readonly { path: string; type: 'folder' | 'file' | 'absent' }[];
  /** /etc/resolv.conf's target when it lives under /run (systemd-resolved), so DNS keeps working. */
  resolvConfTarget: string | null;
  socketsOnHost: string;
  tmpOnHost: string;
  proxyPort: number | null;
}

export function describeSandbox(facts: PolicyFacts): SandboxPolicy {
  const present = facts.protectedPaths.filter((p) => p.type !== 'absent');
  return {
    writable: unique(facts.mounts.filter((m) => !m.readOnly).map((m) => m.source)),
    readOnly: unique([...facts.mounts.filter((m) => m.readOnly).map((m) => m.source), ...(facts.resolvConfTarget ? [facts.resolvConfTarget] : [])]),
    hiddenFolders: unique(present.filter((p) => p.type === 'folder').map((p) => p.path)),
    hiddenFiles: unique(present.filter((p) => p.type === 'file').map((p) => p.path)),
    home: facts.home,
    tmp: facts.tmpOnHost,
    sockets: { host: facts.socketsOnHost, inside: SANDBOX_SOCKET_DIR },
    network: facts.proxyPort === null ? { kind: 'host' } : { kind: 'proxy-only', proxyPort: facts.proxyPort },
  };
}

/** Folders a Linux sandbox replaces with an empty tmpfs before anything is bound in. */
const EMPTIED_ON_LINUX = ['/tmp', '/run'] as const;

export interface BwrapOptions {
  /** Kill the sandbox when its parent dies (every exec); a workspace's long-lived holder has none. */
  dieWithParent: boolean;
}

/**
 * bwrap's arguments (up to, not including, `--` and the command). Later mounts cover earlier ones,
 * so they go shallowest first: a `:ro` extra inside the writable root stays read-only, a mount the
 * user allowed inside a hidden folder shows through.
 */
export function bwrapArgs(policy: SandboxPolicy, options: BwrapOptions): string[] {
  const args = ['--unshare-all'];
  if (policy.network.kind === 'host') args.push('--share-net');
  if (options.dieWithParent) args.push('--die-with-parent');
  // A new session: no TIOCSTI into the caller's terminal (CVE-2017-5226).
  args.push('--new-session', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc');
  for (const dir of EMPTIED_ON_LINUX) args.push('--tmpfs', dir);
  args.push('--tmpfs', policy.home);
  const emptied = [...EMPTIED_ON_LINUX, policy.home];
  const binds = [...policy.writable, ...policy.readOnly];
  type Step = { path: string; order: number; args: string[] };
  const steps: Step[] = [];
  const alreadyEmpty = (path: string): boolean => emptied.some((dir) => isWithin(path, dir)) && !binds.some((b) => isWithin(path, b));
  for (const path of policy.hiddenFolders) if (!alreadyEmpty(path)) steps.push({ path, order: 0, args: ['--tmpfs', path] });
  for (const path of policy.hiddenFiles) if (!alreadyEmpty(path)) steps.push({ path, order: 0, args: ['--ro-bind', '/dev/null', path] });
  for (const path of policy.writable) steps.push({ path, order: 1, args: ['--bind', path, path] });
  for (const path of policy.readOnly) steps.push({ path, order: 2, args: ['--ro-bind', path, path] });
  steps.sort((a, b) => depth(a.path) - depth(b.path) || a.order - b.order || (a.path < b.path ? -1 : 1));
  for (const step of steps) args.push(...step.args);
  args.push('--bind', policy.sockets.host, policy.sockets.inside);
  return args;
}

/**
 * The same sandbox as a Seatbelt profile for `sandbox-exec -p` (macOS). UNVERIFIED: generated and
 * unit-tested here, never run on a Mac. Seatbelt has no mount namespaces: the home is unreadable
 * rather than empty, /tmp is shared (TMPDIR points at `tmp`), and the network is the host's loopback,
 * where the proxy itself listens (no relay). In SBPL the last matching rule wins, so the broad rules
 * come first and the exceptions after.
 */
export function seatbeltProfile(policy: SandboxPolicy): string {
  const lines = [
    '(version 1)',
    '(deny default)',
    '(allow process-exec)',
    '(allow process-fork)',
    '(allow process-info* (target same-sandbox))',
    '(allow signal (target same-sandbox))',
    '(allow sysctl-read)',
    '(allow mach-lookup)',
    '(allow ipc-posix-shm)',
    '(allow ipc-posix-sem)',
    '(allow file-ioctl)',
    '; reads: the system, not the home nor anything protected',
    '(allow file-read*)',
    `(deny file-read* (subpath ${sbString(policy.home)}))`,
    ...policy.hiddenFolders.map((p) => `(deny file-read* (subpath ${sbString(p)}))`),
    ...policy.hiddenFiles.map((p) => `(deny file-read* (literal ${sbString(p)}))`),
    ...[...policy.writable, ...policy.readOnly, policy.tmp].map((p) => `(allow file-read* (subpath ${sbString(p)}))`),
    '; writes: the root, writable extras, its own temp folder, the terminal',
    ...[...policy.writable, policy.tmp].map((p) => `(allow file-write* (subpath ${sbString(p)}))`),
    '(allow file-write* (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/ttys[0-9]+$"))',
    ...policy.readOnly.map((p) => `(deny file-write* (subpath ${sbString(p)}))`),
    '; network',
  ];
  if (policy.network.kind === 'host') {
    lines.push('(allow network*)');
  } else {
    const port = String(policy.network.proxyPort);
    // Dev servers listen on loopback; the proxy is the only address the workspace may call.
    lines.push('(allow network-bind (local ip "localhost:*"))', '(allow network-inbound (local ip "localhost:*"))', `(allow network-outbound (remote ip "localhost:${port}"))`);
  }
  return `${lines.join('\n')}\n`;
}

/** An SBPL string literal: quotes and backslashes escaped, no control characters. */
export function sbString(value: string): string {
  if ([...value].some((c) => c.charCodeAt(0) < 0x20)) throw new Error(`a sandbox path cannot hold control characters: ${JSON.stringify(value)}`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

function depth(path: string): number {
  return posix.normalize(path).split('/').filter(Boolean).length;
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => posix.normalize(p)))];
}
