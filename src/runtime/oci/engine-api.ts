import { existsSync, readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
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

/** JSON when it is JSON; else the text (a plain-text error from a proxy in between), kept for the message. */
export function parseEngineBody(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return text;
  }
}

/** The engine's own words for an error status, else the status. */
export function engineErrorMessage(body: unknown, status: number): string {
  return isRecord(body) && typeof body['message'] === 'string' ? body['message'] : `HTTP ${String(status)}`;
}

/** A socket that did not answer at all (missing, refused, no permission) is EngineApiUnreachable. */
export function unreachableOr(error: NodeJS.ErrnoException, socketPath: string): Error {
  return error.code !== undefined && UNREACHABLE.has(error.code) ? new EngineApiUnreachable(`${socketPath}: ${error.code}`) : error;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
