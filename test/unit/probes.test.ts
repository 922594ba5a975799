import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../src/orchestrator/probes.js';
import type { Runtime } from '../../src/runtime/types.js';

/** Real HTTP and TCP on loopback; the exec probe is covered on real engines in test/integration/health-*. */
describe('health probes on loopback', () => {
  const noRuntime = {} as Runtime;
  let http: Server;
  let port: number;
  let closedPort: number;

  beforeAll(async () => {
    http = createServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      res.writeHead(req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
    // A port that was just free: listen, note it, close.
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  afterAll(async () => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it('passes an HTTP GET that answers 2xx or 3xx, fails anything else with the status', async () => {
    expect(await runProbe({ kind: 'http', host: '127.0.0.1', port, path: '/ok' }, 1000, noRuntime, '')).toEqual({ ok: true, detail: 'HTTP 200' });
    expect(await runProbe({ kind: 'http', host: '127.0.0.1', port, path: '/moved' }, 1000, noRuntime, '')).toEqual({ ok: true, detail: 'HTTP 302' });
    expect(await runProbe({ kind: 'http', host: '127.0.0.1', port, path: '/missing' }, 1000, noRuntime, '')).toEqual({ ok: false, detail: 'HTTP 404' });
  });

  it('fails an HTTP probe that times out or is refused, saying which', async () => {
    expect(await runProbe({ kind: 'http', host: '127.0.0.1', port, path: '/slow' }, 200, noRuntime, '')).toEqual({ ok: false, detail: 'timed out after 200 ms' });
    expect(await runProbe({ kind: 'http', host: '127.0.0.1', port: closedPort, path: '/' }, 1000, noRuntime, '')).toEqual({ ok: false, detail: 'connection refused' });
  });

  it('passes a TCP connect to a listener and fails a refused one', async () => {
    expect(await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, 1000, noRuntime, '')).toEqual({ ok: true, detail: 'connected' });
    expect(await runProbe({ kind: 'tcp', host: '127.0.0.1', port: closedPort }, 1000, noRuntime, '')).toEqual({ ok: false, detail: 'connection refused' });
  });
});
