import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { z } from 'zod';
import { BerthError } from '../../errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext<Deps> {
  deps: Deps;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Already validated against the route's body schema. */
  body: unknown;
  req: IncomingMessage;
  res: ServerResponse;
}

/** A WebSocket route's context: the upgraded socket instead of a request and response. */
export interface SocketContext<Deps> {
  deps: Deps;
  params: Record<string, string>;
  query: URLSearchParams;
  ws: WebSocket;
}

/**
 * One API operation: what it is (for the OpenAPI document, generated from this table so the two
 * cannot disagree) and what it does. `json` handlers return the body; `text` a string; `stream`
 * handlers write the response themselves (SSE); `websocket` routes `connect` an upgraded socket
 * (http/websocket.ts) and answer a plain request with 426.
 */
export interface Route<Deps> {
  method: Method;
  /** OpenAPI style: `/workspaces/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  /** A larger body than the 1 MiB every other route takes (a file written through the API). */
  maxBodyBytes?: number;
  query?: Record<string, string>;
  /** Response headers the success answer carries (name → what it says), for the document. */
  headers?: Record<string, string>;
  produces: 'json' | 'text' | 'stream' | 'websocket';
  /** The success body's shape, for the document (JSON Schema). */
  returns?: Record<string, unknown>;
  /** A `stream` route's response media types for the document, when not the event feed's SSE. */
  content?: Record<string, unknown>;
  handle: (context: RouteContext<Deps>) => unknown;
  /** `websocket` routes: takes the socket once the gate let it through. */
  connect?: (context: SocketContext<Deps>) => void;
}

export type RouteMatch<Deps> = { route: Route<Deps>; params: Record<string, string> } | { allowed: Method[] } | null;

const compiled = new WeakMap<object, RegExp>();

function pattern(path: string): RegExp {
  return new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
}

/** The route for this method and path; `{allowed}` when the path exists with other methods. */
export function matchRoute<Deps>(routes: readonly Route<Deps>[], method: string, pathname: string): RouteMatch<Deps> {
  const allowed: Method[] = [];
  for (const route of routes) {
    let regex = compiled.get(route);
    if (!regex) compiled.set(route, (regex = pattern(route.path)));
    const match = regex.exec(pathname);
    if (!match) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(match.groups ?? {})) params[key] = decodeParam(key, value);
    return { route, params };
  }
  return allowed.length > 0 ? { allowed } : null;
}

/** A path segment as sent: a broken `%` escape is the caller's mistake (400), not ours. */
function decodeParam(key: string, value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new BerthError('E_INVALID_INPUT', `Invalid request: the path's {${key}} has a broken %-escape (${JSON.stringify(value.slice(0, 80))}).`, {
      hint: 'Percent-encode path segments (encodeURIComponent): every % is followed by two hex digits.',
    });
  }
}
