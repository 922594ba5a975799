import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { OciKind } from './oci-runtime.js';

/**
 * The engine's own HTTP API on its unix socket, for the calls on ensure()'s hot path (observe,
 * inspect, start). A podman or docker CLI process costs 10–30 ms before it does anything; the same
 * question over the socket costs 1–3 ms, and that difference was most of Berth's overhead on a
 * warm start. Everything else still goes through the CLI, and the CLI is the fallback whenever the
 * socket is not there or does not answer.
 *
 * Only the socket the CLI itself would talk to is used, found by the CLI's own rules (DOCKER_HOST,
 * CONTAINER_HOST, the default paths); anything the CLI resolves in ways Berth would have to guess
 * (docker contexts, remote or ssh hosts, podman connections) keeps the CLI.
 */
export function engineSocketFor(kind: OciKind, env: NodeJS.ProcessEnv, binaryOverridden: boolean): string | null {
  const explicit = env[kind === 'docker' ? 'BERTH_DOCKER_API' : 'BERTH_PODMAN_API'];
  if (explicit === 'off') return null;
  if (explicit !== undefined && explicit !== '') return unixPath(explicit) ?? explicit;
  // A binary of the user's choosing (a wrapper, a shim) is how they want the engine reached.
  if (binaryOverridden) return null;
  return kind === 'docker' ? dockerSocket(env) : podmanSocket(env);
}

function dockerSocket(env: NodeJS.ProcessEnv): string | null {
  if (env['DOCKER_CONTEXT']) return null;
  const host = env['DOCKER_HOST'];
  if (host !== undefined && host !== '') return unixPath(host);
  if (usesNamedContext(env)) return null;
  return existing('/var/run/docker.sock');
}

function podmanSocket(env: NodeJS.ProcessEnv): string | null {
  if (env['CONTAINER_CONNECTION']) return null;
  const host = env['CONTAINER_HOST'];
  if (host !== undefined && host !== '') return unixPath(host);
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  const rootless = process.getuid?.() !== 0;
  if (rootless) return runtimeDir ? existing(join(runtimeDir, 'podman', 'podman.sock')) : null;
  return existing('/run/podman/podman.sock');
}

/** docker's current context, when it is not the default one, may point anywhere. */
function usesNamedContext(env: NodeJS.ProcessEnv): boolean {
  const configDir = env['DOCKER_CONFIG'] ?? join(env['HOME'] ?? homedir(), '.docker');
  try {
    const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { currentContext?: unknown };
    return typeof config.currentContext === 'string' && config.currentContext !== '' && config.currentContext !== 'default';
  } catch {
    return false;
  }
}

function unixPath(url: string): string | null {
  return url.startsWith('unix://') ? url.slice('unix://'.length) : null;
}

function existing(path: string): string | null {
  return existsSync(path) ? path : null;
}

/** The socket did not answer at all (missing, refused, no permission): use the CLI instead. */
export class EngineApiUnreachable extends Error {}

/** The engine answered with an error status; `message` is the engine's own text. */
export class EngineApiError extends Error {
  readonly status: number;
  readonly request: string;

  constructor(status: number, message: string, request: string) {
    super(message);
    this.status = status;
    this.request = request;
  }
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

const API_TIMEOUT_MS = 60_000;
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTSOCK']);

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

  /** Answers 2xx and 304 (docker and podman say "already started" that way); other statuses throw. */
  async call(method: 'GET' | 'POST', path: string, query: Record<string, string> = {}): Promise<ApiResponse> {
    const search = new URLSearchParams(query).toString();
    const fullPath = `${this.prefix}${path}${search ? `?${search}` : ''}`;
    const response = await this.send(method, fullPath);
    if ((response.status >= 200 && response.status < 300) || response.status === 304) return response;
    const message = isRecord(response.body) && typeof response.body['message'] === 'string' ? response.body['message'] : `HTTP ${String(response.status)}`;
    throw new EngineApiError(response.status, message, `${method} ${fullPath}`);
  }

  /** Lets the process exit: idle keep-alive sockets are not kept open on its behalf. */
  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path, agent: this.agent, headers: { Host: 'engine' }, timeout: API_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? null : JSON.parse(text);
          } catch {
            // Not JSON (a plain-text error from a proxy in between): kept as text for the message.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${this.socketPath} timed out`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        reject(error.code !== undefined && UNREACHABLE.has(error.code) ? new EngineApiUnreachable(`${this.socketPath}: ${error.code}`) : error);
      });
      req.end();
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
