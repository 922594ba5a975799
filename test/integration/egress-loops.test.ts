import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/events.js';
import { EgressService } from '../../src/egress/service.js';
import { runStreaming } from '../../src/process/index.js';
import type { EgressPolicy } from '../../src/egress/policy.js';
import type { EgressRecord } from '../../src/state/store.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The egress proxy on several accept loops (cluster workers, src/egress/proxy-loops.ts): every
 * check holds in every loop. Which loop serves a connection is read from /proc (the process holding
 * the accepted socket), so each assertion is shown to cover every loop, not whichever the kernel
 * happened to pick. Loopback only.
 */
const HOST = '127.0.0.1';
const LOOPS = 2;

interface Harness {
  service: EgressService;
  records: EgressRecord[];
  events: RecordedEvent[];
  proxyPort: number;
  targetPort: number;
  auth: (workspace: string, token: string) => string;
  tokens: { a: string; b: string };
}

let target: Server;
let harness: Harness | undefined;

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function start(): Promise<Harness> {
  const targetPort = (target.address() as { port: number }).port;
  const proxyPort = await freePort();
  const tokens = { a: randomBytes(18).toString('base64url'), b: randomBytes(18).toString('base64url') };
  const base = { runtime: 'docker' as const, network: null, bridge: null, proxyHost: HOST, proxyPort, updatedAt: new Date().toISOString() };
  const records: EgressRecord[] = [
    { ...base, workspace: 'ws-a', token: tokens.a, policy: { allow: [`${HOST}:${String(targetPort)}`], deny: [] } },
    { ...base, workspace: 'ws-b', token: tokens.b, policy: { allow: [], deny: [] } },
  ];
  const events: RecordedEvent[] = [];
  const store = {
    egress: { egress: (workspace?: string) => records.filter((r) => workspace === undefined || r.workspace === workspace) },
    events: { appendEvent: (event: RecordedEvent) => (events.push(event), events.length), appendEvents: (batch: readonly RecordedEvent[]) => void events.push(...batch) },
  };
  // No timer sync within a test: only apply() brings a change, so "in force when it returns" is what is tested.
  const service = new EgressService(store, { syncIntervalMs: 600_000, loops: LOOPS });
  await service.start();
  await service.apply('ws-a');
  const auth = (workspace: string, token: string): string => `Basic ${Buffer.from(`${workspace}:${token}`).toString('base64')}`;
  return { service, records, events, proxyPort, targetPort, auth, tokens };
}

function setPolicy(h: Harness, workspace: string, policy: EgressPolicy): void {
  const index = h.records.findIndex((r) => r.workspace === workspace);
  const record = h.records[index];
  if (record === undefined) throw new Error(`no record ${workspace}`);
  h.records[index] = { ...record, policy };
}

/** The pid of the process holding the proxy's end of `socket` (it accepted it), or undefined. */
function servingPid(socket: Socket, proxyPort: number, pids: readonly number[]): number | undefined {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(proxyPort)}`;
  const remote = `0100007F:${hex(socket.localPort ?? 0)}`;
  const line = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === local && f[2] === remote);
  const inode = line?.[9];
  if (inode === undefined || inode === '0') return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${String(pid)}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${String(pid)}/fd/${fd}`) === `socket:[${inode}]`) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

interface Open {
  socket: Socket;
  pid: number;
}

/** Opens connections until every loop has accepted at least `perLoop` of them; returns them all, idle. */
async function openOnEveryLoop(h: Harness, perLoop: number): Promise<Open[]> {
  const pids = h.service.loopPids();
  expect(pids).toHaveLength(LOOPS);
  const open: Open[] = [];
  for (let round = 0; round < 40; round++) {
    const batch = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const socket = connect(h.proxyPort, HOST);
        socket.on('error', () => undefined);
        await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        const pid = await waitFor(() => servingPid(socket, h.proxyPort, pids), { timeout: 10_000, interval: 5, message: 'the accepting loop' });
        return { socket, pid };
      }),
    );
    open.push(...batch);
    if (pids.every((pid) => open.filter((o) => o.pid === pid).length >= perLoop)) return open;
  }
  throw new Error(`the kernel gave no connection to some loop: ${JSON.stringify(pids.map((pid) => [pid, open.filter((o) => o.pid === pid).length]))}`);
}

/** Sends a CONNECT on an open connection; resolves with the status code the proxy answered. */
function connectStatus(socket: Socket, targetPort: number, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (match?.[1]) {
        socket.off('data', onData);
        socket.destroy();
        resolve(Number(match[1]));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed without an answer (${head})`)));
    socket.write(`CONNECT ${HOST}:${String(targetPort)} HTTP/1.1\r\nHost: ${HOST}:${String(targetPort)}\r\nProxy-Authorization: ${auth}\r\n\r\n`);
  });
}

describe('egress proxy on several accept loops', () => {
  beforeEach(async () => {
    target = createServer((_req, res) => res.end('target\n'));
    await new Promise<void>((resolve) => target.listen(0, HOST, resolve));
    harness = await start();
  });

  afterEach(async () => {
    await harness?.service.close();
    harness = undefined;
    await new Promise<void>((resolve) => target.close(() => resolve()));
  });

  it('serves on every loop, and a deny is in force on every loop when apply returns, for connections already accepted too', async () => {
    const h = harness!;
    const allowed = await openOnEveryLoop(h, 4);
    const statuses = await Promise.all(allowed.map((o) => connectStatus(o.socket, h.targetPort, h.auth('ws-a', h.tokens.a))));
    expect(new Set(statuses)).toEqual(new Set([200]));
    await waitFor(() => h.events.filter((e) => e.type === 'egress.allow').length >= allowed.length, { timeout: 10_000, message: "every loop's decisions in the event log" });

    // Accepted by both loops before the change, asked after it: refused by both.
    const waiting = await openOnEveryLoop(h, 8);
    setPolicy(h, 'ws-a', { allow: [], deny: [`${HOST}:${String(h.targetPort)}`] });
    await h.service.apply('ws-a');
    const after = await Promise.all(waiting.map((o) => connectStatus(o.socket, h.targetPort, h.auth('ws-a', h.tokens.a))));
    expect(after.filter((s) => s !== 403)).toEqual([]);
    // And a burst of new tunnels right after: none opens.
    const fresh = await openOnEveryLoop(h, 8);
    const burst = await Promise.all(fresh.map((o) => connectStatus(o.socket, h.targetPort, h.auth('ws-a', h.tokens.a))));
    expect(burst.filter((s) => s !== 403)).toEqual([]);
  });

  it("a workspace's token is not another's on any loop", async () => {
    const h = harness!;
    // ws-b may go nowhere; ws-a may reach the target. B's name with A's token, and A's name with B's token: 407 everywhere.
    setPolicy(h, 'ws-b', { allow: [`${HOST}:${String(h.targetPort)}`], deny: [] });
    setPolicy(h, 'ws-a', { allow: [], deny: [] });
    await h.service.apply();
    const open = await openOnEveryLoop(h, 6);
    const half = Math.floor(open.length / 2);
    const statuses = await Promise.all(
      open.map((o, i) => connectStatus(o.socket, h.targetPort, i < half ? h.auth('ws-b', h.tokens.a) : h.auth('ws-a', h.tokens.b))),
    );
    expect(statuses.filter((s) => s !== 407)).toEqual([]);
    // Sanity: B's own token does open it, on every loop.
    const own = await openOnEveryLoop(h, 2);
    const ownStatuses = await Promise.all(own.map((o) => connectStatus(o.socket, h.targetPort, h.auth('ws-b', h.tokens.b))));
    expect(new Set(ownStatuses)).toEqual(new Set([200]));
  });

  it('a killed loop is replaced by one that serves the current rules, and one that keeps dying closes the port', async () => {
    const h = harness!;
    setPolicy(h, 'ws-a', { allow: [], deny: [`${HOST}:${String(h.targetPort)}`] });
    await h.service.apply('ws-a');
    const [victim] = h.service.loopPids();
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => h.service.loopPids().length === LOOPS && !h.service.loopPids().includes(victim!), { timeout: 30_000, message: 'a replacement loop' });
    expect(h.events.some((e) => e.type === 'egress.loop-exited' && (e.data as { restarted?: boolean } | undefined)?.restarted === true)).toBe(true);
    // The replacement listens only once it has the current state: the deny holds there too.
    const open = await waitFor(async () => openOnEveryLoop(h, 4), { timeout: 30_000, message: 'every loop, the new one too, accepting' });
    const statuses = await Promise.all(open.map((o) => connectStatus(o.socket, h.targetPort, h.auth('ws-a', h.tokens.a))));
    expect(statuses.filter((s) => s !== 403)).toEqual([]);

    // Loops that keep dying are not restarted forever: the shared socket closes with the last one.
    await waitFor(
      () => {
        for (const pid of h.service.loopPids()) process.kill(pid, 'SIGKILL');
        return h.events.some((e) => e.type === 'egress.loop-exited' && (e.data as { restarted?: boolean } | undefined)?.restarted === false) && h.service.loopPids().length === 0;
      },
      { timeout: 60_000, interval: 200, message: 'the loops given up on' },
    );
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(h.proxyPort, HOST);
      socket.once('connect', () => (socket.destroy(), resolve('connected')));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
    await expect(h.service.apply('ws-a')).rejects.toThrow(/no egress proxy loop is running/);
  });

  it('kill -9 of the primary leaves no loop behind', async () => {
    const script = fileURLToPath(new URL('../support/egress-loops-primary.ts', import.meta.url));
    let out = '';
    const running = runStreaming([process.execPath, '--import', 'tsx', script], { timeoutMs: 120_000, onStdout: (chunk) => (out += chunk.toString()) }).catch(() => undefined);
    const [primary, ...pids] = await waitFor(() => /^primary (\d+) loops (\d+(?: \d+)*)$/m.exec(out)?.slice(1).flatMap((group) => group.split(' ').map(Number)), {
      timeout: 30_000,
      message: 'the primary to report its loops',
    });
    expect(pids).toHaveLength(LOOPS);
    process.kill(primary!, 'SIGKILL');
    await running;
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => pids.every((pid) => !alive(pid)), { timeout: 10_000, message: 'every loop to exit after its primary' });
  });
});
