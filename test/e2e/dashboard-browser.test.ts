import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN } from './cli-suite.js';
import { waitFor } from '../support/wait-for.js';

const ENGINE = 'podman';
/** Debian's chromium package (scripts/test-env.sh installs it); playwright-core drives it as it is. */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

/**
 * The dashboard in a real browser against a real daemon and engine: a running workspace and its
 * dev server are shown, the preview link opens the server's page, the stop button stops it, and
 * an egress decision shows up live.
 */
describe(`dashboard in chromium, daemon on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-dash-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), `<title>preview ${run8}</title><h1>hello from the workspace</h1>\n`);
  const env = engineEnv();
  const ws = `dash-${run8}`;
  const fenced = `dash-eg-${run8}`;
  let daemon: RunningDaemon;
  let browser: Browser;

  beforeAll(async () => {
    if (!statSync(CHROMIUM, { throwIfNoEntry: false })) throw new Error(`${CHROMIUM} is missing: run scripts/test-env.sh (it installs Debian's chromium package).`);
    daemon = await startDaemon(home, env, ['--runtime', ENGINE, '--http', '127.0.0.1:0']);
    await daemon.client.up(ws, { root, image: TEST_IMAGE });
    await daemon.client.startDevServer(ws, 'web', { command: ['python3', '-m', 'http.server', String(await freePort())] }, { wait: true });
    // --no-sandbox: CI runs as root, where chromium's own sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.client.remove(fenced).catch(() => undefined);
    await daemon?.stop().catch(() => undefined);
    for (const name of [ws, fenced]) await run([ENGINE, 'rm', '-f', `berth-${name}`], { env, okExitCodes: 'any' });
    await run([ENGINE, 'network', 'rm', `berth-net-${fenced}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('gives a page on another loopback port (a preview) no credential, while the dashboard keeps working', async () => {
    const token = readFileSync(join(home, 'daemon.token'), 'utf8').trim();
    // The link exactly as the user gets it.
    const status = await run([process.execPath, BERTH_BIN, 'daemon', 'status', '--json'], { env: { ...env, BERTH_HOME: home } });
    const link = (JSON.parse(status.stdout) as { dashboard: string }).dashboard;
    // A stand-in for a workspace's dev server: another port on 127.0.0.1, recording what it gets.
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const preview = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(req.url === '/' ? `<title>preview</title><img src="/pixel.png"><script>fetch('/probe', { credentials: 'include' })</script>` : 'ok');
    });
    await new Promise<void>((listening) => preview.listen(0, '127.0.0.1', listening));
    const previewUrl = `http://127.0.0.1:${String((preview.address() as { port: number }).port)}/`;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(link);
      await expect.poll(() => page.locator(`tr[data-workspace="${ws}"]`).textContent(), { timeout: 10_000 }).toContain('running');
      const other = await context.newPage();
      await other.goto(previewUrl);
      await expect.poll(() => seen.map((r) => r.url).sort(), { timeout: 10_000 }).toEqual(expect.arrayContaining(['/', '/pixel.png', '/probe']));
      for (const request of seen) expect(request.headers.cookie, request.url).toBeUndefined();
      expect(JSON.stringify(seen)).not.toContain(token);
      // The preview's own origin holds nothing of the daemon's either.
      expect(await other.evaluate('JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + document.cookie')).not.toContain(token);

      // The token left the address bar and lives in this tab's sessionStorage; no cookie exists.
      expect(page.url()).toBe(`${daemon.http ?? ''}/`);
      expect(await page.evaluate('sessionStorage.getItem("berth.token")')).toBe(token);
      expect(await context.cookies()).toEqual([]);

      // A reload keeps the tab working: the token stays in its sessionStorage.
      await page.reload();
      await expect.poll(() => page.locator(`tr[data-workspace="${ws}"]`).textContent(), { timeout: 10_000 }).toContain('running');
    } finally {
      await context.close();
      await new Promise((closed) => preview.close(closed));
    }
  });

  it('shows the workspace and its dev server, opens the preview, stops the server with the button, shows egress live, rides out a daemon restart', async () => {
    const token = readFileSync(join(home, 'daemon.token'), 'utf8').trim();
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${daemon.http ?? ''}/#token=${token}`);
    // The link's token left the address bar; no cookie carries it.
    expect(page.url()).toBe(`${daemon.http ?? ''}/`);
    expect(await page.evaluate('document.cookie')).toBe('');

    const workspaceRow = page.locator(`tr[data-workspace="${ws}"]`);
    await expect.poll(() => workspaceRow.textContent(), { timeout: 10_000 }).toContain('running');
    const serverRow = page.locator(`tr[data-devserver="${ws}/web"]`);
    await expect.poll(() => serverRow.locator('.state').textContent(), { timeout: 10_000 }).toBe('running');

    const link = serverRow.locator('a.preview');
    const url = await link.getAttribute('href');
    expect(url).toMatch(/^http:\/\//);
    const [preview] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await preview.waitForLoadState();
    expect(await preview.locator('h1').textContent()).toBe('hello from the workspace');
    await preview.close();

    await page.locator(`tr[data-devserver="${ws}/web"] button.logs`).click();
    await expect.poll(() => page.locator('#logs-text').textContent(), { timeout: 10_000 }).toContain('GET /');

    await serverRow.locator('button.stop').click();
    await expect.poll(() => serverRow.locator('.state').textContent(), { timeout: 15_000 }).toBe('stopped');
    expect((await daemon.client.listDevServers({ workspace: ws }))[0]).toMatchObject({ state: 'stopped', url: null });
    await expect.poll(() => page.locator('#events').textContent(), { timeout: 5_000 }).toContain('devserver.stopped');

    // Egress decisions arrive live: a request from inside a fenced workspace to a name it may not
    // reach (refused by the daemon's proxy before any lookup).
    await daemon.client.up(fenced, { root, image: TEST_IMAGE, egress: { allow: ['registry.example.test'] } });
    await waitFor(async () => (await daemon.client.health()).egressListeners.length > 0, { timeout: 5000, interval: 250, message: 'the egress listener' });
    const curl = await run([ENGINE, 'exec', `berth-${fenced}`, 'sh', '-c', 'curl -s -o /dev/null -w "%{http_code}" -x "$HTTP_PROXY" http://denied.example.test/'], { env, okExitCodes: 'any' });
    expect(curl.stdout).toBe('403');
    await expect.poll(() => page.locator('#egress').textContent(), { timeout: 5_000 }).toContain(`deny ${fenced} → denied.example.test:80`);

    // New workspaces appear without a reload (their events trigger a refresh).
    await expect.poll(() => page.locator(`tr[data-workspace="${fenced}"]`).textContent(), { timeout: 10_000 }).toContain('running');

    // The daemon restarts under the open page: its event stream reconnects with Last-Event-ID and
    // delivers what happened meanwhile (here a CLI stop, in-process since no daemon ran).
    const port = new URL(daemon.http ?? '').port;
    await daemon.stop();
    const stopped = await run([process.execPath, BERTH_BIN, 'stop', fenced], { env: { ...env, BERTH_HOME: home, BERTH_RUNTIME: ENGINE } });
    expect(stopped.stdout).toContain(`Stopped workspace ${fenced}`);
    daemon = await startDaemon(home, env, ['--runtime', ENGINE, '--http', `127.0.0.1:${port}`]);
    await expect.poll(() => page.locator('#events').textContent(), { timeout: 15_000 }).toContain(`workspace.stopped ${fenced}`);
    await expect.poll(() => page.locator(`tr[data-workspace="${fenced}"] .state`).textContent(), { timeout: 10_000 }).toBe('stopped');
    await expect.poll(() => page.locator('#daemon').textContent(), { timeout: 5_000 }).toContain(`daemon ${String(daemon.pid)} on ${ENGINE}`);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(statSync(join(ARTIFACTS, 'dashboard.png')).size).toBeGreaterThan(1000);
    expect(errors).toEqual([]);
    await context.close();
  });
});
