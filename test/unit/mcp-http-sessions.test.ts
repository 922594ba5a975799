import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { McpHttpSessions } from '../../src/mcp/http-sessions.js';

/** The session bounds over real HTTP with the SDK's client, a bare server and a clock the test moves. */
describe('McpHttpSessions: sessions are bounded', () => {
  let now = 0;
  let http: Server | undefined;
  let sessions: McpHttpSessions | undefined;
  let release: () => void = () => undefined;
  let holds = 0;
  const closed: string[] = [];
  const clients: Client[] = [];

  async function serve(limits: { maxSessions: number; idleMs: number }): Promise<URL> {
    let made = 0;
    sessions = new McpHttpSessions(
      (workspace) => {
        const name = `${workspace}-${String(++made)}`;
        const server = new McpServer({ name, version: '0' });
        server.registerTool('ping', {}, () => ({ content: [{ type: 'text', text: 'pong' }] }));
        // A tool call that runs until the test lets it end: a session in use.
        server.registerTool('hold', {}, () => {
          holds++;
          return new Promise((resolve) => (release = () => resolve({ content: [{ type: 'text', text: 'done' }] })));
        });
        server.server.onclose = () => closed.push(name);
        return Promise.resolve(server);
      },
      limits,
      () => now,
    );
    const served = sessions;
    http = createServer((req, res) => void served.handle('ws', req, res));
    await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
    return new URL(`http://127.0.0.1:${String((http.address() as AddressInfo).port)}/mcp`);
  }

  async function connect(url: URL): Promise<Client> {
    const client = new Client({ name: 'test', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(url));
    clients.push(client);
    return client;
  }

  const sessionOf = (client: Client): string => {
    const id = (client as unknown as { _transport?: { sessionId?: string } })._transport?.sessionId;
    if (!id) throw new Error('the client has no session');
    return id;
  };
  /** Requests and streams in progress on the server's side of a session (its client's GET stream included). */
  const openOf = (id: string): number | undefined => (sessions as unknown as { sessions: Map<string, { open: number }> }).sessions.get(id)?.open;
  const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
  const post = (url: URL, headers: Record<string, string>, body: unknown) => fetch(url, { method: 'POST', headers: { ...HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  afterEach(async () => {
    release();
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    await sessions?.closeAll();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    http?.closeAllConnections();
    closed.length = 0;
    now = 0;
    holds = 0;
  });

  // The SDK's client keeps a GET stream open for the life of its session: a session is idle once its
  // client went away (closed without DELETE: its connections end) and nothing else is in progress.
  it('closes a session whose client went away idleMs ago, not one a client still holds', async () => {
    const url = await serve({ maxSessions: 8, idleMs: 60_000 });
    const gone = await connect(url);
    const goneId = sessionOf(gone);
    const busy = await connect(url);
    const holding = busy.callTool({ name: 'hold', arguments: {} });
    await expect.poll(() => holds).toBe(1);
    await gone.close();
    await expect.poll(() => openOf(goneId)).toBe(0);
    now += 30_000;
    sessions?.sweep();
    expect(sessions?.size).toBe(2);
    now += 31_000;
    sessions?.sweep();
    expect(sessions?.size).toBe(1);
    expect(closed).toEqual(['ws-1']);
    // Its id is unknown now: a client coming back is told (404) and opens a new session.
    expect((await post(url, { 'mcp-session-id': goneId }, { jsonrpc: '2.0', id: 3, method: 'tools/list' })).status).toBe(404);
    release();
    expect(await holding).toMatchObject({ content: [{ text: 'done' }] });
    now += 3_600_000;
    // A connected client's GET stream keeps its session, however long no request comes.
    sessions?.sweep();
    expect(await busy.callTool({ name: 'ping', arguments: {} })).toMatchObject({ content: [{ text: 'pong' }] });
  });

  it('at the cap, a new session replaces one idle a minute, else it is refused with 503', async () => {
    const url = await serve({ maxSessions: 2, idleMs: 3_600_000 });
    const first = await connect(url);
    const second = await connect(url);
    await expect(connect(url)).rejects.toThrow(/503|Too many MCP sessions/);
    expect(sessions?.size).toBe(2);
    const firstId = sessionOf(first);
    await first.close();
    await expect.poll(() => openOf(firstId)).toBe(0);
    now += 30_000;
    // Gone for 30 s only: not yet given up.
    await expect(connect(url)).rejects.toThrow(/503|Too many MCP sessions/);
    now += 31_000;
    const third = await connect(url);
    expect(sessions?.size).toBe(2);
    expect(closed).toEqual(['ws-1']);
    expect(await third.callTool({ name: 'ping', arguments: {} })).toMatchObject({ content: [{ text: 'pong' }] });
    expect(await second.callTool({ name: 'ping', arguments: {} })).toMatchObject({ content: [{ text: 'pong' }] });
  });

  it('without a session only initialize is taken, and nothing is made for anything else', async () => {
    const url = await serve({ maxSessions: 2, idleMs: 60_000 });
    expect((await post(url, {}, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(400);
    expect((await post(url, {}, '{not json')).status).toBe(400);
    expect((await fetch(url, { headers: HEADERS })).status).toBe(400);
    expect((await post(url, { 'mcp-session-id': 'made-up' }, '{}')).status).toBe(404);
    expect(sessions?.size).toBe(0);
    expect(closed).toEqual([]);
  });
});
