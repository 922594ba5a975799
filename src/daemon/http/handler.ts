import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { BerthError } from '../../errors.js';
import { invalidBody, toHttpError } from './errors.js';
import { refuseLoopbackRequest } from './guard.js';
import { matchRoute, type Route } from './router.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface HandlerOptions<Deps> {
  routes: readonly Route<Deps>[];
  deps: Deps;
  /** The loopback TCP listener's gate; absent on the unix socket (its 0600 mode is the gate). */
  loopback?: { port: () => number; token: string } | undefined;
  /** Answers what the routes do not (the OpenAPI document, the dashboard); true when it did. */
  fallback?: ((req: IncomingMessage, res: ServerResponse, url: URL, authorized: boolean) => boolean | Promise<boolean>) | undefined;
}

/** The API as a node:http request listener: gate, route, validate, run, answer JSON or `{code, message, hint}`. */
export function createHandler<Deps>(options: HandlerOptions<Deps>): RequestListener {
  return (req, res) => {
    void handle(options, req, res).catch((error: unknown) => {
      const { status, body } = toHttpError(error);
      if (status === 500) process.stderr.write(`berth daemon: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      if (res.headersSent) res.destroy();
      else sendJson(res, status, body);
    });
  };
}

async function handle<Deps>(options: HandlerOptions<Deps>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = requestUrl(req.url ?? '/');
  const refusal = options.loopback ? refuseLoopbackRequest(req, options.loopback.port(), options.loopback.token) : null;
  // A wrong Host or Origin is refused before anything else, the dashboard's login page included.
  if (refusal?.status === 403) return sendJson(res, 403, refusal.error.toJSON());
  if (options.fallback && (await options.fallback(req, res, url, refusal === null))) return;
  if (refusal) return sendJson(res, refusal.status, refusal.error.toJSON());
  const match = matchRoute(options.routes, req.method ?? 'GET', url.pathname);
  if (match === null) throw new BerthError('E_NOT_FOUND', `No API route ${req.method ?? 'GET'} ${url.pathname}.`, { hint: 'GET /openapi.json lists every route.' });
  if ('allowed' in match) {
    res.setHeader('allow', match.allowed.join(', '));
    return sendJson(res, 405, { code: 'E_METHOD', message: `${url.pathname} does not take ${req.method ?? 'GET'}.`, hint: `Use ${match.allowed.join(' or ')}.` });
  }
  const { route, params } = match;
  if (route.produces === 'websocket') {
    res.setHeader('upgrade', 'websocket');
    return sendJson(res, 426, { code: 'E_INVALID_INPUT', message: `${url.pathname} is a WebSocket.`, hint: 'Open it with a WebSocket client (Upgrade: websocket); berth/client does.' });
  }
  let body: unknown = undefined;
  if (route.body) {
    const parsed = route.body.safeParse(await readJson(req, route.maxBodyBytes ?? MAX_BODY_BYTES));
    if (!parsed.success) throw invalidBody(parsed.error);
    body = parsed.data;
  }
  const result: unknown = await route.handle({ deps: options.deps, params, query: url.searchParams, body, req, res });
  if (route.produces === 'stream') return;
  if (route.produces === 'text') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(String(result));
    return;
  }
  sendJson(res, 200, result ?? null);
}

/** The request target as a URL; one that does not parse (`http://[`) is the caller's 400, not our 500. */
function requestUrl(target: string): URL {
  try {
    return new URL(target, 'http://daemon');
  } catch {
    throw new BerthError('E_INVALID_INPUT', `Invalid request: the target ${JSON.stringify(target.slice(0, 80))} is not a URL path.`, { hint: 'Send a path such as /workspaces.' });
  }
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BerthError('E_INVALID_INPUT', `Invalid request: the body is over ${String(maxBytes)} bytes.`, { hint: 'Send a smaller JSON body.' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BerthError('E_INVALID_INPUT', `Invalid request: the body is not JSON (${error instanceof Error ? error.message : String(error)}).`, { hint: 'Send a JSON object with content-type application/json.' });
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
