/**
 * One scan of a workspace's processes and listening sockets, in ONE exec whatever the number of
 * dev servers: `ss -ltnpH` when the image has it, else /proc/net/tcp{,6} with socket inodes mapped
 * to pids through /proc/<pid>/fd. Process groups and zombies come from /proc/<pid>/stat, which every
 * Linux has (ps may not). Exit codes come from the files the launcher writes when a command ends.
 */
export const SCAN_SCRIPT = `
dir=$1
echo '#ss'
if command -v ss >/dev/null 2>&1; then ss -ltnpH 2>/dev/null; else
  echo '#tcp'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
  echo '#fds'
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    for f in "$d"/fd/*; do l=$(readlink "$f" 2>/dev/null) || continue; case $l in socket:*) l=\${l#socket:[}; echo "$p \${l%]}";; esac; done
  done
fi
echo '#stat'
for d in /proc/[0-9]*; do s=$(cat "$d/stat" 2>/dev/null) || continue; set -- \${s##*) }; echo "\${d#/proc/} $1 $3"; done
echo '#exit'
for f in "$dir"/*.exit; do [ -f "$f" ] && echo "$(basename "$f" .exit) $(cat "$f")"; done
echo '#end'
`;

/** The scan ran to its end: a scan cut short (its workspace stopping under it) proves nothing. */
export function scanComplete(exitCode: number, stdout: string): boolean {
  return exitCode === 0 && /(^|\n)#end\n?$/.test(stdout);
}

export interface Listener {
  /** The bound address as the kernel reports it: `0.0.0.0`, `127.0.0.1`, `::`, `::1`, ... */
  address: string;
  port: number;
  /** Owning processes, when the scan could tell. */
  pids: number[];
}

export interface ScanResult {
  listeners: Listener[];
  /** pid → process group, for live (non-zombie) processes. */
  groups: Map<number, number>;
  /** server name → exit code, for commands that have ended. */
  exits: Map<string, number>;
}

export function parseScan(output: string): ScanResult {
  const sections = new Map<string, string[]>();
  let current = '';
  for (const line of output.split('\n')) {
    if (/^#(ss|tcp|fds|stat|exit|end)$/.test(line)) {
      current = line.slice(1);
      sections.set(current, []);
    } else if (line.trim() !== '') {
      sections.get(current)?.push(line);
    }
  }
  const groups = new Map<number, number>();
  for (const line of sections.get('stat') ?? []) {
    const [pid, state, pgid] = line.trim().split(/\s+/);
    if (state !== 'Z' && state !== 'X') groups.set(Number(pid), Number(pgid));
  }
  const exits = new Map<string, number>();
  for (const line of sections.get('exit') ?? []) {
    const [name, code] = line.trim().split(/\s+/);
    if (name !== undefined && code !== undefined && /^\d+$/.test(code)) exits.set(name, Number(code));
  }
  const listeners = sections.has('tcp') ? parseProcNet(sections.get('tcp') ?? [], sections.get('fds') ?? []) : parseSs(sections.get('ss') ?? []);
  return { listeners, groups, exits };
}

/** `LISTEN 0 5 0.0.0.0:8000 0.0.0.0:* users:(("python3",pid=25,fd=3))`, or `[::]:8000`, `*:8000`. */
function parseSs(lines: readonly string[]): Listener[] {
  const listeners: Listener[] = [];
  for (const line of lines) {
    const local = line.trim().split(/\s+/)[3];
    if (local === undefined) continue;
    const at = local.lastIndexOf(':');
    const port = Number(local.slice(at + 1));
    if (at < 0 || !Number.isInteger(port)) continue;
    let address = local.slice(0, at).replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    if (address === '*') address = '0.0.0.0';
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    listeners.push({ address, port, pids });
  }
  return listeners;
}

const TCP_LISTEN = '0A';

/** /proc/net/tcp{,6}: hex addresses (little-endian words), state 0A = LISTEN, socket inode in column 10. */
function parseProcNet(lines: readonly string[], fds: readonly string[]): Listener[] {
  const pidsByInode = new Map<string, number[]>();
  for (const line of fds) {
    const [pid, inode] = line.trim().split(/\s+/);
    if (pid === undefined || inode === undefined) continue;
    pidsByInode.set(inode, [...(pidsByInode.get(inode) ?? []), Number(pid)]);
  }
  const listeners: Listener[] = [];
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    const [, local, , state] = fields;
    const inode = fields[9];
    if (local === undefined || state !== TCP_LISTEN || inode === undefined) continue;
    const [hexAddress = '', hexPort = ''] = local.split(':');
    listeners.push({ address: decodeAddress(hexAddress), port: parseInt(hexPort, 16), pids: pidsByInode.get(inode) ?? [] });
  }
  return listeners;
}

function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  // Each 32-bit word is in host (little-endian) byte order.
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.every((b) => b === 0)) return '::';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** Loopback-only binds cannot be reached from outside the container without a bridge. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** The ports a process group listens on, lowest first. */
export function portsOfGroup(scan: ScanResult, pgid: number): Listener[] {
  return scan.listeners
    .filter((l) => l.pids.some((pid) => scan.groups.get(pid) === pgid))
    .sort((a, b) => a.port - b.port);
}

export function groupAlive(scan: ScanResult, pgid: number): boolean {
  for (const group of scan.groups.values()) if (group === pgid) return true;
  return false;
}
