import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { platform } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { BerthError } from '../../errors.js';
import { resolveExecutable, run, spawnDetached } from '../../process/index.js';
import { protectedPaths } from '../sensitive-paths.js';
import { relayArgv } from './relay.js';
import { bwrapArgs, describeSandbox, SANDBOX_SOCKET_DIR, type MountFact, type SandboxPolicy } from './sandbox-policy.js';

/** `auto`: sandboxed where the machine can; `on`: sandboxed or refused; `off`: unconfined, said loudly. */
export type SandboxMode = 'auto' | 'on' | 'off';

export interface SandboxSupport {
  /** What would confine a workspace here. */
  kind: 'bwrap' | 'seatbelt' | 'none';
  works: boolean;
  /** One sentence for doctor, status and errors. */
  detail: string;
  /** How to make it work, when it does not. */
  hint: string;
}

const INSTALL_HINT =
  'Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap socat`; Fedora: `dnf install bubblewrap socat`) and allow unprivileged user namespaces ' +
  '(`sysctl kernel.unprivileged_userns_clone=1`; Ubuntu 24.04: `sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or choose `--unconfined` / `sandbox: off` to run without it.';

let probed: Promise<SandboxSupport> | undefined;

/**
 * Can this machine sandbox a host-mode workspace? On Linux, bwrap is asked to make every namespace
 * the sandbox uses (some unprivileged containers and hardened kernels refuse). Asked once per process.
 */
export function probeSandbox(): Promise<SandboxSupport> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<SandboxSupport> {
  if (platform() === 'darwin') {
    const works = resolveExecutable('sandbox-exec') !== undefined;
    return {
      kind: 'seatbelt',
      works: false,
      detail: works ? 'sandbox-exec is present, but Berth\'s Seatbelt profile is unverified on a Mac: host mode runs unconfined unless the workspace says sandbox: on.' : 'sandbox-exec is missing.',
      hint: 'Use a container runtime (Apple container, docker, podman) for isolation on macOS.',
    };
  }
  if (platform() !== 'linux') return { kind: 'none', works: false, detail: `no sandbox for host mode on ${platform()}.`, hint: 'Use a container runtime.' };
  if (resolveExecutable('bwrap') === undefined) return { kind: 'bwrap', works: false, detail: 'bubblewrap (bwrap) is not installed.', hint: INSTALL_HINT };
  const result = await run(['bwrap', '--unshare-all', '--die-with-parent', '--new-session', '--ro-bind', '/', '/', 'true'], { okExitCodes: 'any', timeoutMs: 10_000 }).catch((error: unknown) => ({
    exitCode: -1,
    stderr: error instanceof Error ? error.message : String(error),
  }));
  if (result.exitCode !== 0) {
    return { kind: 'bwrap', works: false, detail: `bwrap cannot create namespaces here: ${result.stderr.trim() || `exit ${String(result.exitCode)}`}.`, hint: INSTALL_HINT };
  }
  return { kind: 'bwrap', works: true, detail: 'bubblewrap confines host-mode workspaces (mount, pid, ipc, uts, user and network namespaces).', hint: '' };
}

/** For tests: forget what the probe found. */
export function resetSandboxProbe(): void {
  probed = undefined;
}

export interface SandboxContext {
  home: string;
  berthHome: string;
  env: NodeJS.ProcessEnv;
}

/** The workspace's policy, from its mounts and what this machine holds now. */
export function policyFor(mounts: readonly MountFact[], dir: string, proxyPort: number | null, context: SandboxContext): SandboxPolicy {
  const seen = new Set<string>();
  const hidden: { path: string; type: 'folder' | 'file' | 'absent' }[] = [];
  for (const entry of protectedPaths({ userHome: context.home, berthHome: context.berthHome, env: context.env })) {
    // The home and / are handled whole; /etc, /proc, /sys, /dev stay (read-only, or the sandbox's own).
    if (entry.row.kind === 'home' || entry.row.kind === 'filesystem' || (entry.row.kind === 'system' && entry.row.path !== '/boot')) continue;
    if (seen.has(entry.path)) continue;
    seen.add(entry.path);
    hidden.push({ path: entry.path, type: typeOf(entry.path) });
  }
  return describeSandbox({
    mounts,
    home: context.home,
    protectedPaths: hidden,
    resolvConfTarget: resolvConfUnderRun(),
    socketsOnHost: join(dir, 'sockets'),
    tmpOnHost: join(dir, 'tmp'),
    proxyPort,
  });
}

function typeOf(path: string): 'folder' | 'file' | 'absent' {
  try {
    const info = lstatSync(path);
    if (info.isDirectory()) return 'folder';
    // A symlink is covered through the path it points at (the table lists both).
    return info.isSymbolicLink() ? 'absent' : 'file';
  } catch {
    return 'absent';
  }
}

/** systemd-resolved keeps resolv.conf under /run, which the sandbox empties: bind it back, read-only. */
function resolvConfUnderRun(): string | null {
  try {
    const real = realpathSync('/etc/resolv.conf');
    return real.startsWith('/run/') ? real : null;
  } catch {
    return null;
  }
}

/** A workspace's long-lived sandbox: the namespaces every exec enters, and its relays. */
export interface Holder {
  /** bwrap on the host. */
  pid: number;
  /** Its child: pid 1 of the sandbox, the process execs enter. */
  inner: number;
  /** The host-side relay from the sandbox's proxy socket to the egress proxy, if any. */
  bridge: number | null;
}

/**
 * Runs inside the holder: the relay from loopback PORT to the proxy's unix socket (when egress is
 * controlled), waited for in /proc/net/tcp (LISTEN is state 0A), then a ready mark. It lives while
 * the mark does: a Berth home deleted without `rm` (or a newer holder, which clears the mark)
 * ends it within seconds, and with it every process in the sandbox, instead of leaking it.
 */
const HOLDER_SCRIPT = `port=$1; shift
if [ -n "$port" ]; then
  "$@" >/dev/null 2>&1 &
  hex=$(printf '%04X' "$port"); i=0
  until grep -q ":$hex 00000000:0000 0A" /proc/net/tcp; do i=$((i+1)); [ "$i" -gt 1000 ] && exit 1; sleep 0.01; done
fi
: > ${SANDBOX_SOCKET_DIR}/ready
while [ -e ${SANDBOX_SOCKET_DIR}/ready ]; do sleep 2; done`;

const START_DEADLINE_MS = 10_000;

/** Starts the holder (and the host-side proxy relay): the sandbox exists when this resolves. */
export async function startHolder(policy: SandboxPolicy, dir: string): Promise<Holder> {
  const sockets = policy.sockets.host;
  mkdirSync(sockets, { recursive: true, mode: 0o700 });
  mkdirSync(policy.tmp, { recursive: true, mode: 0o700 });
  for (const name of ['ready', 'proxy.sock']) rmSync(join(sockets, name), { force: true });
  const hostSocket = join(sockets, 'proxy.sock');
  if (Buffer.byteLength(hostSocket) > 100) {
    throw new BerthError('E_INVALID_INPUT', `The sandbox's proxy socket path is too long for a unix socket: ${hostSocket}.`, { hint: 'Use a shorter BERTH_HOME.' });
  }
  let bridge: number | null = null;
  let inner: string[] = [];
  if (policy.network.kind === 'proxy-only') {
    const port = policy.network.proxyPort;
    bridge = await spawnDetached(relayArgv({ unix: hostSocket }, { tcp: { host: '127.0.0.1', port } }), { logFile: join(dir, 'bridge.log') });
    await until(() => existsSync(hostSocket), 'the host-side proxy relay to listen', join(dir, 'bridge.log'));
    inner = [String(port), ...relayArgv({ tcp: { host: '127.0.0.1', port } }, { unix: `${SANDBOX_SOCKET_DIR}/proxy.sock` })];
  } else {
    inner = [''];
  }
  const argv = ['bwrap', ...bwrapArgs(policy, { dieWithParent: false }), '--', 'sh', '-c', HOLDER_SCRIPT, 'sh', ...inner];
  const pid = await spawnDetached(argv, { logFile: join(dir, 'holder.log') });
  try {
    await until(() => existsSync(join(sockets, 'ready')) || !alive(pid), 'the sandbox to start', join(dir, 'holder.log'));
    const child = childrenOf(pid)[0];
    if (!existsSync(join(sockets, 'ready')) || child === undefined) {
      throw new BerthError('E_RUNTIME_FAILED', `host: the sandbox did not start: ${logTail(join(dir, 'holder.log'))}`, { hint: INSTALL_HINT });
    }
    return { pid, inner: child, bridge };
  } catch (error) {
    await stopHolder({ pid, inner: childrenOf(pid)[0] ?? 0, bridge });
    throw error;
  }
}

/** The holder still runs (and is ours: its command line names the workspace's folder). */
export function holderAlive(holder: Holder, dir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${String(holder.pid)}/cmdline`, 'utf8');
    if (!cmdline.split('\u0000').includes(join(dir, 'sockets'))) return false;
    if (!childrenOf(holder.pid).includes(holder.inner)) return false;
    return holder.bridge === null || alive(holder.bridge);
  } catch {
    return false;
  }
}

/**
 * Ends the sandbox as an engine ends a container: every process in it. pid 1 of the holder's process
 * namespace takes that namespace along, but an exec (enterArgv) runs in a process namespace of its
 * own and would live on in a stopped workspace, writing into folders `rm` is removing (ENOTEMPTY).
 * Every way in joins the holder's IPC namespace (bwrap always makes one; an exec's `--mount-proc`
 * gives it a mount namespace of its own, so that one cannot tell), so the sandbox's processes are
 * the ones sharing it. Resolves once they are gone (bounded: a process stuck in the kernel is not
 * waited for forever).
 */
export async function stopHolder(holder: Holder): Promise<void> {
  const processes = [holder.inner, holder.pid, ...sharingIpcNamespace(holder.inner)];
  for (const pid of processes) signal(pid, 'SIGKILL');
  // The relay runs in a process group of its own (spawnDetached): socat's forks go with it.
  if (holder.bridge !== null) signal(-holder.bridge, 'SIGKILL');
  const deadline = Date.now() + STOP_DEADLINE_MS;
  while (processes.some(alive) && Date.now() < deadline) await sleep(STOP_POLL_MS);
}

/** How long stopHolder waits for the sandbox's processes to be gone, and how often it looks. */
const STOP_DEADLINE_MS = 5_000;
const STOP_POLL_MS = 20;

/** The processes in the same IPC namespace as `pid` (not `pid` itself, never this process). */
function sharingIpcNamespace(pid: number): number[] {
  if (pid === 0) return [];
  const ns = ipcNamespaceOf(pid);
  if (ns === null || ns === ipcNamespaceOf(process.pid)) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const other = Number(entry);
    if (!Number.isInteger(other) || other === pid || other === process.pid) continue;
    if (ipcNamespaceOf(other) === ns) found.push(other);
  }
  return found;
}

function ipcNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${String(pid)}/ns/ipc`);
  } catch {
    // Gone, or not ours to look at (then not in a sandbox of ours either).
    return null;
  }
}

/**
 * A terminal's command, led so that job control works inside the process namespace of its own that
 * enterArgv gives it. The terminal's foreground process group (the one Berth's pseudo-terminal, or
 * the user's own, started in) lies outside that namespace, where it reads as 0: a job-control shell
 * that remembers it hands the terminal back to 0 at exit, and dash then prints "Cannot set tty process
 * group (No such process)" and exits 2, whatever `exit` said. bash, where there is one, leads: with
 * `set -m` it takes the terminal for a process group inside the namespace and runs the command as its
 * foreground job, which starts and ends as on any terminal; the trailing `exit` keeps bash from
 * exec'ing the command in its own place. Without bash the command runs as before.
 */
export function terminalArgv(argv: readonly string[]): string[] {
  return ['sh', '-c', 'command -v bash >/dev/null 2>&1 && exec bash -c \'set -m; "$@"; exit "$?"\' bash "$@"; exec "$@"', 'sh', ...argv];
}

/**
 * The argv that runs a command inside the holder, in `workdir`. `setpriv --pdeathsig KILL` ties it to
 * Berth; `unshare --pid --kill-child` gives it a process namespace of its own that ends with it, so a
 * kill -9 of Berth leaves nothing behind (bwrap's --die-with-parent, for a process that enters an
 * existing sandbox). `workspaceProcesses` joins the holder's process namespace instead: what a dev
 * server's launch, scans and kills need, as every exec in a container does.
 */
export function enterArgv(holder: Holder, workdir: string, argv: readonly string[], workspaceProcesses: boolean): string[] {
  const user = sameUserNamespace(holder.inner) ? [] : ['--user', '--preserve-credentials'];
  const enter = ['nsenter', `--target=${String(holder.inner)}`, ...user, '--mount', '--net', '--ipc', '--uts', '--root', `--wd=${workdir}`];
  if (workspaceProcesses) return ['setpriv', '--pdeathsig', 'KILL', '--', ...enter, '--pid', '--', ...argv];
  return ['setpriv', '--pdeathsig', 'KILL', '--', ...enter, '--no-fork', '--', 'unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--', ...argv];
}

/**
 * nsenter into the holder's user namespace (when it has its own) and the given namespaces only:
 * a host process that lives in one of the sandbox's namespaces, e.g. its network (preview.ts).
 */
export function entryArgv(holder: Holder, namespaces: readonly string[]): string[] {
  const user = sameUserNamespace(holder.inner) ? [] : ['--user', '--preserve-credentials'];
  return ['nsenter', `--target=${String(holder.inner)}`, ...user, ...namespaces, '--'];
}

function sameUserNamespace(pid: number): boolean {
  try {
    return readlinkSync('/proc/self/ns/user') === readlinkSync(`/proc/${String(pid)}/ns/user`);
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    // A zombie is dead for our purpose.
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${String(pid)}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  if (pid === 0) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function until(condition: () => boolean, what: string, log: string): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new BerthError('E_RUNTIME_FAILED', `host: timed out waiting for ${what}: ${logTail(log)}`, { hint: INSTALL_HINT });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' / ') || '(no output)';
  } catch {
    return '(no output)';
  }
}
