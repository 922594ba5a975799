import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

/** Plain files, no build step: `dashboard/` at the package root (next to src/ and dist/). */
const ASSETS = new URL('../../dashboard/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/dashboard/terminal.js': { file: 'terminal.js', type: 'text/javascript; charset=utf-8' },
};

/** xterm.js for the terminal, served from the installed package: no CDN, the version package-lock pins. */
const VENDOR: Record<string, { module: string; type: string }> = {
  '/dashboard/vendor/xterm.mjs': { module: '@xterm/xterm/lib/xterm.mjs', type: 'text/javascript; charset=utf-8' },
  '/dashboard/vendor/xterm.css': { module: '@xterm/xterm/css/xterm.css', type: 'text/css; charset=utf-8' },
  '/dashboard/vendor/addon-fit.mjs': { module: '@xterm/addon-fit/lib/addon-fit.mjs', type: 'text/javascript; charset=utf-8' },
};
const requireHere = createRequire(import.meta.url);

/**
 * Serves the dashboard's static files and the xterm.js it uses on the loopback listener (behind the Host/Origin
 * checks, without the token: they are the package's own files and hold nothing). The token comes
 * with the link `berth daemon status` prints, in the fragment (`/#token=...`), which a browser never
 * sends to any server, so it reaches no log. The page moves it to its tab's sessionStorage, takes
 * it off the address bar, and sends it as `Authorization: Bearer` on each API call. There is no
 * cookie: a browser would send a cookie for 127.0.0.1 to every port, workspace previews included.
 */
export function serveDashboard(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const asset = FILES[url.pathname];
  const vendor = VENDOR[url.pathname];
  if (req.method !== 'GET' || (!asset && !vendor)) return false;
  res.writeHead(200, {
    'content-type': (asset ?? vendor)?.type ?? 'application/octet-stream',
    'cache-control': 'no-store',
    // Everything the page loads is its own: no inline script, no other origin, no framing.
    // xterm.js writes its own <style> elements (sizes, theme), hence inline styles; scripts stay ours alone.
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'x-content-type-options': 'nosniff',
    // The preview links open other loopback ports: they learn nothing of this page's address.
    'referrer-policy': 'no-referrer',
  });
  res.end(asset ? readFileSync(new URL(asset.file, ASSETS)) : readFileSync(requireHere.resolve(vendor?.module ?? '')));
  return true;
}

/** The dashboard link for a daemon listening at `http` (`http://127.0.0.1:PORT`): the token rides in the fragment. */
export function dashboardLink(http: string, token: string): string {
  return `${http}/#token=${token}`;
}
