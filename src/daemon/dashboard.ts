import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tokenMatches } from './token.js';
import { TOKEN_COOKIE } from './http/guard.js';

/** Plain files, no build step: `dashboard/` at the package root (next to src/ and dist/). */
const ASSETS = new URL('../../dashboard/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/**
 * Serves the dashboard on the loopback listener. The token reaches the page once, in the link the
 * daemon prints (`/?token=...`): that visit sets it as an HttpOnly, SameSite=Strict cookie scoped to
 * this origin and redirects to `/`, so the token leaves the address bar and history, page scripts
 * never read it, and other sites' requests do not carry it. The guard still checks Origin, since a
 * workspace's dev server on another loopback port counts as the same site.
 */
export function serveDashboard(req: IncomingMessage, res: ServerResponse, url: URL, authorized: boolean, token: string): boolean {
  const asset = FILES[url.pathname];
  if (req.method !== 'GET' || !asset) return false;
  if (url.pathname === '/' && url.searchParams.has('token')) {
    if (!tokenMatches(token, url.searchParams.get('token') ?? undefined)) return page(res, 401, 'That link has a wrong or old token. Run `berth daemon status` for the current one.');
    res.writeHead(303, { location: '/', 'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' });
    res.end();
    return true;
  }
  if (!authorized) return page(res, 401, 'Open the dashboard through the link `berth daemon status` prints (it carries the token once).');
  res.writeHead(200, {
    'content-type': asset.type,
    'cache-control': 'no-store',
    // Everything the page loads is its own: no inline script, no other origin, no framing.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(readFileSync(new URL(asset.file, ASSETS)));
  return true;
}

function page(res: ServerResponse, status: number, message: string): true {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Berth</title><p>${message.replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'))}</p>\n`);
  return true;
}
