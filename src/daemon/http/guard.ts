import type { IncomingMessage } from 'node:http';
import { BerthError } from '../../errors.js';
import { tokenMatches } from '../token.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The loopback listener's gate, in order:
 * 1. Host must name loopback with our port. A page on evil.example whose name the attacker
 *    re-points at 127.0.0.1 (DNS rebinding) still sends `Host: evil.example`, so it stops here.
 * 2. Origin, when sent, must be exactly our own origin. Not just any loopback origin: a dev server
 *    inside a workspace is served on 127.0.0.1 too, is "same-site" with us, and is not trusted.
 * 3. `Authorization: Bearer <token>`, and nothing else: no cookie, no query parameter. A browser
 *    attaches a cookie to every request for 127.0.0.1 whatever the port, so a cookie would reach a
 *    workspace's preview server; a header is only ever sent by code that holds the token (the
 *    dashboard keeps it in its own tab's sessionStorage).
 * A wrong Host or Origin is 403 (no token helps), a missing token 401.
 * The unix socket skips all three: its 0600 mode already says only this user connects.
 */
export function refuseLoopbackRequest(req: IncomingMessage, port: number, token: string): { status: 401 | 403; error: BerthError } | null {
  const host = req.headers.host ?? '';
  const [hostname, hostPort] = splitHost(host);
  if (!LOOPBACK_HOSTS.has(hostname) || hostPort !== String(port)) {
    const error = new BerthError('E_UNAUTHORIZED', `Refused: Host ${JSON.stringify(host)} is not this daemon's loopback address.`, {
      hint: `Use http://127.0.0.1:${String(port)}/ (other names are refused as a DNS-rebinding defence).`,
    });
    return { status: 403, error };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, port)) {
    const error = new BerthError('E_UNAUTHORIZED', `Refused: Origin ${JSON.stringify(origin)} is not this daemon's dashboard.`, {
      hint: `Only pages served by the daemon itself (http://127.0.0.1:${String(port)}) may call it from a browser.`,
    });
    return { status: 403, error };
  }
  if (!tokenMatches(token, presentedToken(req))) {
    const error = new BerthError('E_UNAUTHORIZED', 'Refused: this request carries no valid token.', {
      hint: 'Send `Authorization: Bearer <token>`; the token is in $BERTH_HOME/daemon.token, and `berth daemon status` prints the dashboard link.',
    });
    return { status: 401, error };
  }
  return null;
}

export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
}

function splitHost(host: string): [string, string] {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.toLowerCase());
  return [match?.[1] ?? '', match?.[2] ?? '80'];
}

function isOwnOrigin(origin: string, port: number): boolean {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.port === String(port);
  } catch {
    return false;
  }
}
