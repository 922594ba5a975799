import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { describeMcpSuite } from '../support/mcp-suite.js';

/**
 * The same tool suite as stdio, over the built berthd's `/workspaces/{id}/mcp` (streamable HTTP on
 * the loopback listener, port picked by the daemon), plus what only HTTP has: the gate in front of
 * it (token, Host, Origin) and sessions bound to their workspace.
 */
const daemons = new Map<string, RunningDaemon>();

function token(home: string): string {
  return readFileSync(join(home, 'daemon.token'), 'utf8').trim();
}

function endpoint(home: string, workspace: string): URL {
  const http = daemons.get(home)?.http;
  if (!http) throw new Error('the daemon has no loopback listener');
  return new URL(`${http}/workspaces/${workspace}/mcp`);
}

/** A raw request with headers a browser page or a rebinding attacker would send (node lets us set Host). */
function send(url: URL, headers: Record<string, string>, body: unknown, method = 'POST'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'page', version: '0' } } };

describeMcpSuite({
  name: 'HTTP',
  before: async ({ home, env }) => {
    daemons.set(home, await startDaemon(home, env, ['--http', '127.0.0.1:0']));
  },
  connect: async ({ home, id }, client) => {
    await client.connect(new StreamableHTTPClientTransport(endpoint(home, id), { requestInit: { headers: { authorization: `Bearer ${token(home)}` } } }));
  },
  after: async ({ home }) => {
    await daemons.get(home)?.stop();
    daemons.delete(home);
  },
  more: (context) => {
    const sessionOf = (client: Client): string => {
      const sessionId = (client as unknown as { _transport?: { sessionId?: string } })._transport?.sessionId;
      if (!sessionId) throw new Error('the client has no session');
      return sessionId;
    };

    it('the gate: no token, a dev server page\'s Origin or a rebinding Host cannot drive a session', async () => {
      const url = endpoint(context.home, context.id);
      const bearer = `Bearer ${token(context.home)}`;
      const sessionId = sessionOf(context.client);
      const marker = `pwned-${String(Date.now())}`;
      // What a page would send to run a command through the live session: exec touching a file.
      const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'exec', arguments: { command: `touch ${marker}` } } };
      const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
      const devServerPage = `http://127.0.0.1:${String(Number(url.port) + 1)}`;
      const attempts = [
        { why: 'no token', headers: { ...session }, status: 401 },
        { why: 'a workspace dev server page (same host, other port)', headers: { ...session, authorization: bearer, origin: devServerPage }, status: 403 },
        { why: 'a localhost page on another port', headers: { ...session, authorization: bearer, origin: `http://localhost:${String(Number(url.port) + 2)}` }, status: 403 },
        { why: 'DNS rebinding (evil name pointed at 127.0.0.1)', headers: { ...session, authorization: bearer, host: `rebind.example:${url.port}` }, status: 403 },
        { why: 'a token in the query, not the header', headers: { ...session }, status: 401, query: `?token=${token(context.home)}` },
      ];
      for (const attempt of attempts) {
        const target = new URL(url.href + (attempt.query ?? ''));
        const answer = await send(target, attempt.headers, call);
        expect(answer.status, attempt.why).toBe(attempt.status);
        expect(JSON.parse(answer.text)).toMatchObject({ code: 'E_UNAUTHORIZED' });
        // Nor may such a request open a session of its own.
        const opening = Object.fromEntries(Object.entries(attempt.headers).filter(([key]) => key !== 'mcp-session-id'));
        expect((await send(target, opening, INITIALIZE)).status, attempt.why).toBe(attempt.status);
      }
      expect(existsSync(join(context.root, marker))).toBe(false);
      // The same request with the token and no foreign Origin/Host runs: the refusals above were the gate's.
      const allowed = await send(url, { ...session, authorization: bearer }, call);
      expect(allowed.status).toBe(200);
      expect(allowed.text).toContain('exit_code');
    });

    it('a session serves its own workspace: its id on another workspace\'s path is not found; DELETE ends it', async () => {
      const bearer = `Bearer ${token(context.home)}`;
      const second = new Client({ name: 'berth-test-2', version: '0' });
      const transport = new StreamableHTTPClientTransport(endpoint(context.home, context.id), { requestInit: { headers: { authorization: bearer } } });
      await second.connect(transport);
      const sessionId = sessionOf(second);
      const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
      const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18', authorization: bearer };
      const elsewhere = await send(endpoint(context.home, 'another-workspace'), headers, list);
      expect(elsewhere.status).toBe(404);
      expect(elsewhere.text).toContain('Session not found');
      // Opening one for a workspace that does not exist says so, and opens nothing.
      const missing = await send(endpoint(context.home, 'no-such-workspace'), { authorization: bearer }, INITIALIZE);
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.text)).toMatchObject({ code: 'E_NOT_FOUND' });
      expect((await send(endpoint(context.home, context.id), headers, list)).status).toBe(200);
      await transport.terminateSession();
      const gone = await send(endpoint(context.home, context.id), headers, list);
      expect(gone.status).toBe(404);
      await second.close();
    });
  },
});
