import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { OciKind } from './oci-runtime.js';

/**
 * Where the engine's API socket is, and what its answers and failures mean: what every client of
 * the socket shares (engine-api.ts's JSON calls over node:http, engine-http.ts's exec requests over
 * node:net), kept apart from both so that `berth exec` loads neither node:http nor the other client.
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

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTSOCK']);

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
