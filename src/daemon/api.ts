import type { RequestListener, Server } from 'node:http';
import { serveDashboard } from './dashboard.js';
import { createHandler, sendJson } from './http/handler.js';
import { openApiDocument } from './http/openapi.js';
import { ROUTES, type ApiDeps } from './http/routes.js';
import { acceptWebSockets } from './http/websocket.js';

/**
 * The two faces of the API. On the unix socket: the routes and the OpenAPI document, no gate (the
 * socket's 0600 mode is the gate). On loopback TCP: the same behind the Host/Origin/token gate,
 * plus the dashboard.
 */
export function socketApi(deps: ApiDeps): RequestListener {
  const openapi = openApiDocument(ROUTES, deps.about.version);
  return createHandler({
    routes: ROUTES,
    deps,
    fallback: (req, res, url) => req.method === 'GET' && url.pathname === '/openapi.json' && (sendJson(res, 200, openapi), true),
  });
}

export function loopbackApi(deps: ApiDeps, token: string, port: () => number): RequestListener {
  const openapi = openApiDocument(ROUTES, deps.about.version);
  return createHandler({
    routes: ROUTES,
    deps,
    loopback: { port, token },
    fallback: (req, res, url, authorized) =>
      (req.method === 'GET' && authorized && url.pathname === '/openapi.json' && (sendJson(res, 200, openapi), true)) || serveDashboard(req, res, url),
  });
}

/**
 * The WebSocket routes (exec streams, terminals) on a listener, behind the same gate as its
 * requests. Returns what ends every open socket: closing a server leaves upgraded sockets alone.
 */
export function acceptStreams(server: Server, deps: ApiDeps, loopback?: { token: string; port: () => number }): () => void {
  const wss = acceptWebSockets(server, { routes: ROUTES, deps, loopback });
  return () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  };
}
