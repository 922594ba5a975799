import { Agent, request, type IncomingMessage } from 'node:http';
import type { OciKind } from './oci-runtime.js';
import { EngineApiError, engineErrorMessage, parseEngineBody, unreachableOr } from './engine-socket.js';

export { engineSocketFor, EngineApiError, EngineApiUnreachable, engineErrorMessage, parseEngineBody, unreachableOr } from './engine-socket.js';

/**
 * The engine's own HTTP API on its unix socket, for the calls on ensure()'s hot path (observe,
 * inspect, start). A podman or docker CLI process costs 10–30 ms before it does anything; the same
 * question over the socket costs 1–3 ms, and that difference was most of Berth's overhead on a
 * warm start. Everything else still goes through the CLI, and the CLI is the fallback whenever the
 * socket is not there or does not answer. Which socket, and what its errors mean: engine-socket.ts.
 */

export interface ApiResponse {
  status: number;
  body: unknown;
}

const API_TIMEOUT_MS = 60_000;

/**
 * A minimal JSON client for one engine socket. Paths are the engine's: docker's unversioned API
 * (the daemon's current version), podman's libpod API, whose JSON is what `podman inspect` prints.
 */
export class EngineApi {
  readonly socketPath: string;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly prefix: string;

  constructor(kind: OciKind, socketPath: string) {
    this.socketPath = socketPath;
    this.prefix = kind === 'podman' ? '/v4.0.0/libpod' : '';
  }

  /**
   * Answers 2xx and 304 (docker and podman say "already started" that way); other statuses throw.
   * `compat`: podman's docker-compatible path instead of its libpod one (the same on docker).
   */
  async call(method: 'GET' | 'POST', path: string, query: Record<string, string> = {}, options: { compat?: boolean } = {}): Promise<ApiResponse> {
    const search = new URLSearchParams(query).toString();
    const fullPath = `${options.compat ? '' : this.prefix}${path}${search ? `?${search}` : ''}`;
    const response = await this.send(method, fullPath);
    if ((response.status >= 200 && response.status < 300) || response.status === 304) return response;
    throw new EngineApiError(response.status, engineErrorMessage(response.body, response.status), `${method} ${fullPath}`);
  }

  /** Lets the process exit: idle keep-alive sockets are not kept open on its behalf. */
  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path, agent: this.agent, headers: { Host: 'engine' }, timeout: API_TIMEOUT_MS }, (res) => {
        readText(res).then((text) => resolve({ status: res.statusCode ?? 0, body: parseEngineBody(text) }), reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${this.socketPath} timed out`)));
      req.on('error', (error: NodeJS.ErrnoException) => reject(unreachableOr(error, this.socketPath)));
      req.end();
    });
  }
}

/** A response's whole body as text. */
export function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
