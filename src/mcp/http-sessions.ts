import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

/**
 * The daemon's MCP sessions over streamable HTTP (the SDK's StreamableHTTPServerTransport, one per
 * session, each with its own server for exactly one workspace). The gate in front (token, Host,
 * Origin) is the daemon's; this bounds what an authorised client can hold open:
 * - a session belongs to the workspace it was opened for: its id on another workspace's path is
 *   "not found", as for an unknown id;
 * - a session with no request or stream open for `idleMs` is closed (a client that went away
 *   without DELETE); one with a tool call running or an SSE stream open is in use;
 * - at most `maxSessions` at once: a new one takes the place of the longest-idle session that has
 *   been idle a minute, or is refused with 503 saying why.
 */
export interface McpSessionLimits {
  maxSessions: number;
  idleMs: number;
}

export const DEFAULT_MCP_SESSION_LIMITS: McpSessionLimits = { maxSessions: 32, idleMs: 30 * 60_000 };

/** An idle session is given up for a new one only after this long without a request. */
const EVICTABLE_AFTER_MS = 60_000;

/** The SDK transport's own bound on a POST body (requestBody.js DEFAULT_MAX_REQUEST_BODY_SIZE); we read the body, so we apply it. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface Session {
  id: string;
  workspace: string;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  /** Requests and SSE streams in progress: while any is open the session is in use. */
  open: number;
  lastUsed: number;
}

export class McpHttpSessions {
  private readonly sessions = new Map<string, Session>();
  /** Sessions being opened (their server is made): they count against the cap already. */
  private opening = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly openServer: (workspace: string) => Promise<McpServer>;
  private readonly limits: McpSessionLimits;
  private readonly now: () => number;

  /** `openServer` makes the server of one workspace, or throws (a BerthError) when it may not be served. */
  constructor(openServer: (workspace: string) => Promise<McpServer>, limits: McpSessionLimits = DEFAULT_MCP_SESSION_LIMITS, now: () => number = Date.now) {
    this.openServer = openServer;
    this.limits = limits;
    this.now = now;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, Math.min(60_000, limits.idleMs / 2)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** One HTTP request to `/workspaces/{workspace}/mcp`, after the daemon's gate let it through. */
  async handle(workspace: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = this.sessions.get(sessionId);
      if (session?.workspace !== workspace) {
        return answer(res, 404, -32001, 'Session not found.', 'The session ended (idle, or the daemon restarted) or belongs to another path: connect again without Mcp-Session-Id.');
      }
      return this.serve(session, req, res);
    }
    if (req.method !== 'POST') return answer(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required.', 'Open a session first: POST an initialize request.');
    const body = await readJson(req, res);
    if (body === undefined) return;
    if (!isInitializeRequest(body)) return answer(res, 400, -32000, 'Bad Request: no session; the first request must be initialize.', 'POST an initialize request, then send Mcp-Session-Id with every later one.');
    if (!this.makeRoom()) {
      return answer(res, 503, -32000, `Too many MCP sessions: ${String(this.limits.maxSessions)} are open and in use.`, 'Close MCP clients you no longer use (each sends DELETE when it closes), or wait until one has been idle a minute.');
    }
    this.opening++;
    let session: Session;
    try {
      const server = await this.openServer(workspace);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          session.id = id;
          this.sessions.set(id, session);
        },
      });
      session = { id: '', workspace, server, transport, open: 0, lastUsed: this.now() };
      // DELETE, idle expiry and the daemon stopping all end here: the server's tools let go of what they hold.
      transport.onclose = () => {
        this.sessions.delete(session.id);
        void server.close().catch(() => undefined);
      };
      await server.connect(transport);
    } finally {
      this.opening--;
    }
    await this.serve(session, req, res, body);
    // An initialize the transport refused made no session: nothing may stay behind.
    if (!this.sessions.has(session.id)) await session.transport.close();
  }

  /** Ends every session (the daemon stops). */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
  }

  private async serve(session: Session, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    session.open++;
    session.lastUsed = this.now();
    res.once('close', () => {
      session.open--;
      session.lastUsed = this.now();
    });
    await session.transport.handleRequest(req, res, body);
  }

  private idleFor(session: Session): number {
    return session.open > 0 ? 0 : this.now() - session.lastUsed;
  }

  /** Closes the sessions idle for `idleMs` (a timer calls it; tests too). */
  sweep(): void {
    for (const session of this.sessions.values()) if (this.idleFor(session) >= this.limits.idleMs) void session.transport.close();
  }

  /** Whether a new session fits, giving up the longest-idle one when that is what it takes. */
  private makeRoom(): boolean {
    if (this.sessions.size + this.opening < this.limits.maxSessions) return true;
    const idlest = [...this.sessions.values()].sort((a, b) => this.idleFor(b) - this.idleFor(a))[0];
    if (idlest === undefined || this.idleFor(idlest) < EVICTABLE_AFTER_MS) return false;
    this.sessions.delete(idlest.id);
    void idlest.transport.close();
    return true;
  }
}

/** A JSON-RPC error as the streamable HTTP transport answers one (no id: it answers no request). */
function answer(res: ServerResponse, status: number, code: number, message: string, hint: string): void {
  const text = JSON.stringify({ jsonrpc: '2.0', error: { code, message, data: { hint } }, id: null });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The POST body as JSON, or undefined once it answered 413/400 itself. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      answer(res, 413, -32000, `Request body over ${String(MAX_BODY_BYTES)} bytes.`, 'Send smaller messages (write a large file in parts).');
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    answer(res, 400, -32700, 'Parse error: the body is not JSON.', 'POST one JSON-RPC message (or a batch) with content-type application/json.');
    return undefined;
  }
}
