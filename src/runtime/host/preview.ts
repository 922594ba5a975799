import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, rmdir, mkdir, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../../errors.js';
import { spawnDetached } from '../../process/index.js';
import { relayArgv } from './relay.js';
import { entryArgv, type Holder } from './sandbox.js';

/**
 * A dev server in a sandbox with a network of its own (egress controlled) listens on the sandbox's
 * loopback, which the host cannot reach. Two relays carry it out, both host processes the
 * workspace cannot see (another pid namespace) nor reach (their socket is in a host folder that is
 * not bound in, so the workspace cannot swap it for a link to, say, the docker socket):
 *
 *   host 127.0.0.1:hostPort ─ relay ─ unix socket ─ relay in the sandbox's network only ─ 127.0.0.1:port
 *
 * The inner relay watches the server's listener (/proc/self/net/tcp shows the namespace of the
 * reader) and ends both when it goes, so the preview URL stops answering with the server, as a
 * container's bridge does, and liveness by connect stays honest.
 */
const record = z.object({ port: z.number().int(), hostPort: z.number().int(), outer: z.number().int(), inner: z.number().int() });
type PreviewRecord = z.infer<typeof record>;

/** Runs in the sandbox's network namespace, in the host's everything else. Args: hex port, peer pgid, relay argv. */
const WATCH_SCRIPT = `hex=$1; peer=$2; shift 2
"$@" &
while grep -Eq ":$hex [0-9A-F]+:0000 0A" /proc/self/net/tcp /proc/self/net/tcp6 2>/dev/null; do sleep 0.5; done
kill -KILL -"$peer" 2>/dev/null
kill -KILL 0`;

const READY_DEADLINE_MS = 5_000;

function folder(dir: string): string {
  return join(dir, 'previews');
}

/**
 * The host loopback port that reaches `port` on the sandbox's loopback: the one already relayed,
 * else new relays (on the same port number when the host has it free, so the URL matches what the
 * server prints). Two processes asking at once get one pair (a lock folder per port).
 */
export async function publishPreview(holder: Holder, dir: string, target: string, port: number): Promise<number> {
  const previews = folder(dir);
  mkdirSync(previews, { recursive: true, mode: 0o700 });
  return withLock(join(previews, `${String(port)}.lock`), async () => {
    const existing = read(previews, port);
    if (existing && alive(existing)) return existing.hostPort;
    if (existing) end(previews, existing);
    const socket = join(previews, `${String(port)}.sock`);
    if (Buffer.byteLength(socket) > 100) throw new BerthError('E_INVALID_INPUT', `The preview socket path is too long for a unix socket: ${socket}.`, { hint: 'Use a shorter BERTH_HOME.' });
    let lastError = '';
    for (const wanted of [port, 0]) {
      const hostPort = await freeLoopbackPort(wanted);
      if (hostPort === null) continue;
      rmSync(socket, { force: true });
      const log = join(previews, `${String(port)}.log`);
      const outer = await spawnDetached(relayArgv({ tcp: { host: '127.0.0.1', port: hostPort } }, { unix: socket }), { logFile: log });
      const inner = await spawnDetached(
        [...entryArgv(holder, ['--net']), 'sh', '-c', WATCH_SCRIPT, 'sh', port.toString(16).toUpperCase().padStart(4, '0'), String(outer), ...relayArgv({ unix: socket }, { tcp: { host: target, port } })],
        { logFile: log },
      );
      const published: PreviewRecord = { port, hostPort, outer, inner };
      if (await ready(published, socket)) {
        writeFileSync(join(previews, `${String(port)}.json`), JSON.stringify(published), { mode: 0o600 });
        return hostPort;
      }
      end(previews, published);
      lastError = tail(log);
    }
    throw new BerthError('E_RUNTIME_FAILED', `host: could not relay the sandbox's port ${String(port)} to the host: ${lastError}`, { hint: 'Install socat, or check that the dev server still listens.' });
  });
}

/** Ends the relays of `port`, if any. */
export async function unpublishPreview(dir: string, port: number): Promise<void> {
  const previews = folder(dir);
  await withLock(join(previews, `${String(port)}.lock`), () => {
    const existing = read(previews, port);
    if (existing) end(previews, existing);
    return Promise.resolve();
  }).catch((error: unknown) => {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  });
}

/** Ends every relay of the sandbox (it stops, or is started anew). */
export async function unpublishAll(dir: string): Promise<void> {
  const names = await readdir(folder(dir)).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const existing = read(folder(dir), Number(name.slice(0, -'.json'.length)));
    if (existing) end(folder(dir), existing);
  }
}

function read(previews: string, port: number): PreviewRecord | undefined {
  try {
    return record.parse(JSON.parse(readFileSync(join(previews, `${String(port)}.json`), 'utf8')));
  } catch {
    return undefined;
  }
}

function end(previews: string, published: PreviewRecord): void {
  for (const pgid of [published.inner, published.outer]) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const suffix of ['json', 'sock']) rmSync(join(previews, `${String(published.port)}.${suffix}`), { force: true });
}

/** Both relays run, and they are ours (their command lines name the socket). */
function alive(published: PreviewRecord): boolean {
  return [published.outer, published.inner].every((pid) => {
    try {
      const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
      return !/^\d+ \(.*\) Z /.test(stat) && readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').includes(`${String(published.port)}.sock`);
    } catch {
      return false;
    }
  });
}

/** A connection through both relays is accepted and not closed at once by a missing inner end. */
async function ready(published: PreviewRecord, socket: string): Promise<boolean> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (!alive(published)) return false;
    const listening = await stat(socket).then((s) => s.isSocket(), () => false);
    if (listening && (await accepts(published.hostPort))) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** `wanted` when the host's loopback has it free, any free port for 0, null when `wanted` is taken. */
function freeLoopbackPort(wanted: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(wanted, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A lock folder: mkdir is atomic; one left by a killed process is taken over after a few seconds. */
async function withLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 10_000 || Date.now() > deadline) await rmdir(lock).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  try {
    return await work();
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' / ') || '(no output)';
  } catch {
    return '(no output)';
  }
}
