import { BerthError } from '../../errors.js';
import type { McpHttpSessions } from '../../mcp/http-sessions.js';
import type { Route, RouteContext } from './router.js';
import type { ApiDeps } from './routes.js';

/**
 * MCP over streamable HTTP (spec 2025-06-18 and later; the SDK's StreamableHTTPServerTransport):
 * `/workspaces/{id}/mcp`, so the workspace is in the path like every other per-workspace route, a
 * session serves that workspace only, and the daemon's gate (token, loopback Host, own Origin)
 * stands in front as for the rest of the API. POST carries JSON-RPC (answered as JSON or an SSE
 * stream), GET opens the server's own SSE stream, DELETE ends the session.
 */
const PATH = '/workspaces/{id}/mcp';

const MCP_CONTENT = {
  'text/event-stream': { schema: { type: 'string', description: 'MCP streamable HTTP: JSON-RPC messages as SSE events (see the MCP specification, Transports).' } },
  'application/json': { schema: { type: 'object', description: 'A JSON-RPC response.' } },
};

function sessions(deps: ApiDeps): McpHttpSessions {
  if (!deps.mcp) throw new BerthError('E_UNSUPPORTED', 'This listener serves no MCP.', { hint: 'Use the daemon (berthd): its API serves /workspaces/{id}/mcp.' });
  return deps.mcp;
}

const handle = ({ deps, params, req, res }: RouteContext<ApiDeps>): Promise<void> => sessions(deps).handle(params['id'] ?? '', req, res);

export const MCP_ROUTES: readonly Route<ApiDeps>[] = [
  {
    method: 'POST', path: PATH, operationId: 'mcpPost', tag: 'mcp', produces: 'stream', content: MCP_CONTENT, handle,
    summary: 'MCP (streamable HTTP): a JSON-RPC message for the workspace\'s MCP server; without Mcp-Session-Id it must be initialize, which opens a session. Accept: application/json, text/event-stream.',
  },
  {
    method: 'GET', path: PATH, operationId: 'mcpStream', tag: 'mcp', produces: 'stream', content: MCP_CONTENT, handle,
    summary: 'MCP (streamable HTTP): the session\'s server-to-client SSE stream (Mcp-Session-Id required).',
  },
  {
    method: 'DELETE', path: PATH, operationId: 'mcpClose', tag: 'mcp', produces: 'stream', content: MCP_CONTENT, handle,
    summary: 'MCP (streamable HTTP): end the session named by Mcp-Session-Id (its background processes\' followers end with it).',
  },
];
