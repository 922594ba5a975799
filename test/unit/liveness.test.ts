import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LivenessLoop } from '../../src/daemon/liveness.js';
import { allAnswer } from '../../src/devserver/answering.js';
import { isLive, type DevServer } from '../../src/devserver/types.js';

/** Which workspaces a liveness pass scans (an exec each), with real TCP listeners standing in for servers. */
describe('dev-server liveness: a scan only where a connect cannot vouch', () => {
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

  const server = (workspace: string, name: string, over: Partial<DevServer>): DevServer => ({
    workspace, name, command: ['x'], cwd: '/workspace', env: {}, port: null, pgid: 7, state: 'running', url: null,
    detectedPort: null, bridgePgid: null, bridgeSlot: null, exitCode: null, startedAt: null, restarts: 0, ...over,
  });

  const scannedIn = async (servers: DevServer[], passes: number, fullScanEvery = 6): Promise<string[][]> => {
    const scanned: string[][] = [];
    let current: string[] = [];
    const loop = new LivenessLoop({
      // confirm() as DevServerManager does it: the real connect check, a scan when it cannot vouch.
      dev: {
        refresh: (workspace: string) => (current.push(workspace), Promise.resolve([])),
        confirm: async (workspace: string) => ((await allAnswer(servers.filter((s) => s.workspace === workspace && isLive(s)))) ? [] : (current.push(workspace), [])),
        markGone: () => undefined,
      },
      registry: { devServers: () => servers },
      emit: () => undefined,
      intervalMs: 1000,
      fullScanEvery,
    });
    for (let i = 0; i < passes; i++) {
      current = [];
      await loop.pass();
      scanned.push(current);
    }
    return scanned;
  };

  it('skips a workspace whose servers all answer at their URL, and scans it every few passes anyway', async () => {
    const servers = [server('a', 'web', { url: `http://127.0.0.1:${String(upPort)}/` }), server('a', 'api', { url: `http://127.0.0.1:${String(upPort)}/api` })];
    expect(await scannedIn(servers, 3, 3)).toEqual([[], [], ['a']]);
  });

  it('scans a workspace as soon as one of its servers stops answering', async () => {
    const servers = [server('a', 'web', { url: `http://127.0.0.1:${String(upPort)}/` }), server('a', 'dead', { url: `http://127.0.0.1:${String(downPort)}/` })];
    expect(await scannedIn(servers, 1)).toEqual([['a']]);
  });

  it('scans servers a connect cannot vouch for: still starting, or behind a bridge that outlives them', async () => {
    const servers = [
      server('starting', 'web', { state: 'starting' }),
      server('bridged', 'web', { url: `http://127.0.0.1:${String(upPort)}/`, bridgePgid: 42 }),
      server('direct', 'web', { url: `http://127.0.0.1:${String(upPort)}/` }),
    ];
    expect(await scannedIn(servers, 1)).toEqual([['starting', 'bridged']]);
  });
});
