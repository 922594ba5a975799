import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSighting } from '../../src/devserver/answering.js';
import { DevServerManager } from '../../src/devserver/manager.js';
import type { DevServer } from '../../src/devserver/types.js';
import { defaultFanOut } from '../../src/process/bounded.js';
import type { ExecResult, Runtime } from '../../src/runtime/types.js';

/** How long each fake scan takes: long enough that scans one after another could not overlap. */
const SCAN_MS = 40;
const PGID = 7;

/**
 * What `dev.list` (GET /dev-servers?scan=true) costs across workspaces, through the engine seam:
 * the scans of many workspaces run side by side (bounded), and a workspace whose servers a connect
 * vouches for (running container at that address, port accepting) costs no exec at all.
 */
describe('dev-server confirmation across workspaces', () => {
  let up: Server;
  let upPort = 0;
  let downPort = 0;

  beforeAll(async () => {
    up = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    upPort = (up.address() as { port: number }).port;
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    downPort = (gone.address() as { port: number }).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
  });

  afterAll(() => new Promise<void>((resolve) => up.close(() => resolve())));

  const server = (workspace: string, over: Partial<DevServer> = {}): DevServer => ({
    workspace, name: 'web', command: ['x'], cwd: '/workspace', env: {}, port: null, pgid: PGID, state: 'running',
    url: `http://127.0.0.1:${String(upPort)}/`, detectedPort: upPort, bridgePgid: null, bridgeSlot: null, exitCode: null, startedAt: null, restarts: 0, ...over,
  });

  /** A manager over a fake engine whose every exec is a scan that still finds the server listening. */
  const rig = (servers: DevServer[], sight?: (workspaces: readonly string[]) => Promise<Map<string, ContainerSighting>>) => {
    const records = new Map(servers.map((s) => [`${s.workspace}/${s.name}`, s]));
    const seen = { scanned: [] as string[], running: 0, peak: 0, sighted: [] as (readonly string[])[] };
    const runtime = {
      kind: 'docker',
      capabilities: { isolation: 'container' },
      exec: async (target: string): Promise<ExecResult> => {
        seen.scanned.push(target);
        seen.running += 1;
        seen.peak = Math.max(seen.peak, seen.running);
        await sleep(SCAN_MS);
        seen.running -= 1;
        const port = records.get(`${target}/web`)?.detectedPort ?? 0;
        const stdout = `#ss\nLISTEN 0 5 0.0.0.0:${String(port)} 0.0.0.0:* users:(("python3",pid=${String(PGID)},fd=3))\n#stat\n${String(PGID)} S ${String(PGID)}\n#exit\n#end\n`;
        return { exitCode: 0, stdout, stderr: '', durationMs: SCAN_MS };
      },
    } as unknown as Runtime;
    const manager = new DevServerManager({
      runtime,
      registry: {
        devServers: (workspace?: string) => [...records.values()].filter((s) => workspace === undefined || s.workspace === workspace),
        putDevServer: (s: DevServer) => void records.set(`${s.workspace}/${s.name}`, s),
      },
      supervision: { setHeld: () => undefined },
      resolve: (workspace) => Promise.resolve({ target: workspace, ip: '127.0.0.1', ports: [], fence: [], stateDir: '/tmp/berth-dev' }),
      emit: () => undefined,
      sight: sight && (async (workspaces) => (seen.sighted.push(workspaces), sight(workspaces))),
    });
    return { manager, seen };
  };

  const running = (ip: string | null) => (workspaces: readonly string[]) => Promise.resolve(new Map(workspaces.map((w) => [w, { running: true, ip }])));
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `ws-${String(i)}`);

  it('scans the workspaces side by side, at most the fan-out at once, and each one once', async () => {
    const workspaces = ids(12);
    const { manager, seen } = rig(workspaces.map((w) => server(w)));
    const started = performance.now();
    const listed = await manager.list(undefined, { full: true });
    const elapsed = performance.now() - started;
    expect(seen.scanned.sort()).toEqual([...workspaces].sort());
    expect(seen.peak).toBe(Math.min(defaultFanOut(), workspaces.length));
    // One after another would take 12 scans; side by side, ceil(12 / fan-out) of them.
    expect(elapsed).toBeLessThan(SCAN_MS * workspaces.length);
    expect(listed.every((s) => s.state === 'running')).toBe(true);
  });

  it('confirms workspaces whose servers answer on their sighted container with one list and no exec', async () => {
    const workspaces = ids(20);
    const { manager, seen } = rig(workspaces.map((w) => server(w)), running('127.0.0.1'));
    const listed = await manager.list();
    expect(seen.scanned).toEqual([]);
    expect(seen.sighted).toEqual([workspaces]);
    expect(listed.map((s) => s.state)).toEqual(workspaces.map(() => 'running'));
  });

  it('scans what a connect cannot vouch for: a port that refuses, a container stopped or at another address, no sighting', async () => {
    const sight = (workspaces: readonly string[]): Promise<Map<string, ContainerSighting>> =>
      Promise.resolve(new Map(workspaces.filter((w) => w !== 'unsighted').map((w) => [w, { running: w !== 'stopped', ip: w === 'moved' ? '10.88.0.9' : '127.0.0.1' }])));
    const servers = [
      server('fine'),
      server('refuses', { url: `http://127.0.0.1:${String(downPort)}/`, detectedPort: downPort }),
      server('stopped'),
      server('moved'),
      server('unsighted'),
      server('starting', { state: 'starting', url: null }),
      server('bridged', { bridgePgid: 42 }),
    ];
    const { manager, seen } = rig(servers, sight);
    await manager.list();
    expect(seen.scanned.sort()).toEqual(['bridged', 'moved', 'refuses', 'starting', 'stopped', 'unsighted']);
    // Starting and bridged ones are not even candidates for the list.
    expect(seen.sighted).toEqual([['fine', 'refuses', 'stopped', 'moved', 'unsighted']]);
  });

  it('without a way to sight containers, scans every workspace (a connect alone vouches for nothing here)', async () => {
    const { manager, seen } = rig(ids(3).map((w) => server(w)));
    await manager.list();
    expect(seen.scanned.sort()).toEqual(ids(3));
  });

  it('a failed list vouches for nothing: every workspace is scanned', async () => {
    const { manager, seen } = rig(ids(3).map((w) => server(w)), () => Promise.reject(new Error('engine down')));
    await manager.list();
    expect(seen.scanned.sort()).toEqual(ids(3));
  });
});
