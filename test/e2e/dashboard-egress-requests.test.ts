import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestEgress } from '../../src/egress/requests.js';
import { stampEvent } from '../../src/events.js';
import { run } from '../../src/process/index.js';
import { Store } from '../../src/state/store.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN } from './cli-suite.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

/**
 * An agent's egress requests in the dashboard (issue 16): a pending list with approve and deny, in
 * a real browser against a daemon serving a sandboxed host workspace with egress rules. Approving
 * opens the target through the ordinary rule change; denying changes nothing; the agent's reason is
 * shown as text, never markup.
 */
describe('dashboard egress requests in chromium, daemon on host', () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-requests-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const ws = `req-${run8}`;
  const env = { ...process.env, BERTH_HOME: home };
  let daemon: RunningDaemon;
  let browser: Browser;

  beforeAll(async () => {
    if (!statSync(CHROMIUM, { throwIfNoEntry: false })) throw new Error(`${CHROMIUM} is missing: run scripts/test-env.sh (it installs Debian's chromium package).`);
    daemon = await startDaemon(home, env, ['--runtime', 'host', '--http', '127.0.0.1:0']);
    await daemon.client.up(ws, { root, egress: { allow: ['example.invalid'] } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.client.remove(ws).catch(() => undefined);
    await daemon?.stop().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('lists pending requests, approve opens the target, deny keeps it closed, reasons stay text', async () => {
    // What the MCP server's egress_request does, from another process's view of the same state.
    const store = Store.open(home);
    const record = (event: Parameters<typeof stampEvent>[0]) => store.events.appendEvent(stampEvent(event));
    const wanted = requestEgress(store, record, ws, 'registry.npmjs.org', 'npm install needs the registry <img src=x onerror="window.pwned=1">');
    const unwanted = requestEgress(store, record, ws, 'pastebin.com:443', 'upload the logs');
    store.close();

    const status = await run([process.execPath, BERTH_BIN, 'daemon', 'status', '--json'], { env });
    const link = (JSON.parse(status.stdout) as { dashboard: string }).dashboard;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(link);
      const wantedRow = page.locator(`tr[data-request="${wanted.id}"]`);
      await expect.poll(() => wantedRow.textContent(), { timeout: 10_000 }).toContain('registry.npmjs.org');
      // The agent's words as text: the markup shows, nothing of it runs.
      expect(await wantedRow.textContent()).toContain('<img src=x onerror="window.pwned=1">');
      expect(await page.evaluate('window.pwned')).toBeUndefined();
      expect(await wantedRow.locator('img').count()).toBe(0);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-egress-requests.png'), fullPage: true });

      await wantedRow.locator('button.approve').click();
      await expect.poll(() => wantedRow.count(), { timeout: 10_000 }).toBe(0);
      expect((await daemon.client.egress(ws))?.policy.allow).toContain('registry.npmjs.org');

      await page.locator(`tr[data-request="${unwanted.id}"] button.deny`).click();
      await expect.poll(() => page.locator(`tr[data-request="${unwanted.id}"]`).count(), { timeout: 10_000 }).toBe(0);
      expect((await daemon.client.egress(ws))?.policy.allow).not.toContain('pastebin.com:443');
      expect(await page.locator('#egress-requests tbody').textContent()).toContain('No pending requests');
    } finally {
      await context.close();
    }
    // The decisions are events, and final.
    const events = await daemon.client.events({ workspace: ws, type: 'egress' });
    expect(events.map((e) => e.type).filter((t) => t.startsWith('egress.request'))).toEqual(['egress.requested', 'egress.requested', 'egress.request-approved', 'egress.request-denied']);
    const again = await run([process.execPath, BERTH_BIN, 'egress', 'approve', ws, unwanted.id], { env, okExitCodes: 'any' });
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain('already denied');
  });
});
