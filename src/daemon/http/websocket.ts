import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { BerthError } from '../../errors.js';
import { tokenMatches } from '../token.js';
import { refuseLoopbackRequest } from './guard.js';
import { matchRoute, type Route } from './router.js';
import { authMessage, OPEN_TIMEOUT_MS, parseMessage, type StreamServerMessage } from './stream-protocol.js';

/** A frame is a keystroke burst or an exec's stdin chunk; nothing legitimate comes near this. */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

export interface UpgradeOptions<Deps> {
  routes: readonly Route<Deps>[];
  deps: Deps;
  /** The loopback listener's gate (Host, Origin, token); absent on the unix socket. */
  loopback?: { port: () => number; token: string } | undefined;
}

/**
 * Accepts WebSocket upgrades for the routes that declare `produces: 'websocket'`, behind the same
 * gate as every other request: on loopback TCP a wrong Host or Origin is refused before the
 * upgrade (403), and the token comes either as `Authorization: Bearer` on the upgrade or, for a
 * browser (which cannot set that header on a WebSocket), as the first message `{type: 'auth'}`.
 * Until it has, no other message is read.
 */
export function acceptWebSockets<Deps>(server: Server, options: UpgradeOptions<Deps>): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = safeUrl(req.url);
    const match = url ? matchRoute(options.routes, 'GET', url.pathname) : null;
    if (!url || match === null || 'allowed' in match || match.route.produces !== 'websocket' || !match.route.connect) return refuseUpgrade(socket, 404, 'No WebSocket route here.');
    const refusal = options.loopback ? refuseLoopbackRequest(req, options.loopback.port(), options.loopback.token) : null;
    if (refusal?.status === 403) return refuseUpgrade(socket, 403, refusal.error.message);
    const connect = match.route.connect;
    const { params } = match;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const start = (): void => {
        try {
          connect({ deps: options.deps, params, query: url.searchParams, ws });
        } catch (error) {
          closeWithError(ws, error);
        }
      };
      if (refusal === null) return start();
      awaitToken(ws, options.loopback?.token ?? '', start);
    });
  });
  return wss;
}

/** The first message must carry the token; anything else (or nothing within the deadline) closes the socket. */
function awaitToken(ws: WebSocket, token: string, start: () => void): void {
  const timer = setTimeout(() => closeWithError(ws, unauthorized('no token arrived in time')), OPEN_TIMEOUT_MS);
  ws.once('message', (data: RawData, isBinary: boolean) => {
    clearTimeout(timer);
    const parsed = isBinary ? null : parseMessage(authMessage, rawText(data));
    if (!parsed?.ok || !tokenMatches(token, parsed.value.token)) return closeWithError(ws, unauthorized('the first message must be {"type":"auth","token":...} with the daemon token'));
    start();
  });
}

function unauthorized(why: string): BerthError {
  return new BerthError('E_UNAUTHORIZED', `Refused: ${why}.`, { hint: 'Send `Authorization: Bearer <token>` on the upgrade, or {"type":"auth","token":"<token>"} first; the token is in $BERTH_HOME/daemon.token.' });
}

export function send(ws: WebSocket, message: StreamServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}

/** Sends the error as the last message and closes (1008 for a refusal, 1011 for a failure). */
export function closeWithError(ws: WebSocket, error: unknown): void {
  const berthError = error instanceof BerthError ? error : null;
  send(ws, {
    type: 'error',
    code: berthError?.code ?? 'E_INTERNAL',
    message: error instanceof Error ? error.message : String(error),
    hint: berthError?.hint,
  });
  ws.close(berthError?.code === 'E_UNAUTHORIZED' || berthError?.code === 'E_INVALID_INPUT' ? 1008 : 1011);
}

export function rawText(data: RawData): string {
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');
}

export function rawBytes(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const reason = status === 403 ? 'Forbidden' : 'Not Found';
  const body = JSON.stringify({ code: status === 403 ? 'E_UNAUTHORIZED' : 'E_NOT_FOUND', message });
  socket.end(`HTTP/1.1 ${String(status)} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${String(Buffer.byteLength(body))}\r\nconnection: close\r\n\r\n${body}`);
}

function safeUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://daemon');
  } catch {
    return null;
  }
}
