import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN } from './cli-suite.js';

const ENGINE = 'podman';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

/** What xterm.js shows (its DOM renderer: one div per row). */
function screen(page: Page): Promise<string> {
  return page.locator('#terminal-screen .xterm-rows').innerText();
}

/**
 * The dashboard's terminal in a real browser, against a real daemon and a podman workspace: a
 * shell opens, typed commands run and show their output, `stty size` follows the window, and a
 * reload re-attaches to the same shell (its earlier output is still there, its variables too).
 */
describe(`dashboard terminal in chromium, daemon on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-term-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const env = engineEnv();
  const ws = `term-${run8}`;
  let daemon: RunningDaemon;
  let browser: Browser;

  beforeAll(async () => {
    if (!statSync(CHROMIUM, { throwIfNoEntry: false })) throw new Error(`${CHROMIUM} is missing: run scripts/test-env.sh (it installs Debian's chromium package).`);
    daemon = await startDaemon(home, env, ['--runtime', ENGINE, '--http', '127.0.0.1:0']);
    await daemon.client.up(ws, { root, image: TEST_IMAGE });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop().catch(() => undefined);
    await run([ENGINE, 'rm', '-f', `berth-${ws}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('opens a shell, runs what is typed, follows the window size, and survives a reload', async () => {
    const status = await run([process.execPath, BERTH_BIN, 'daemon', 'status', '--json'], { env: { ...env, BERTH_HOME: home } });
    const link = (JSON.parse(status.stdout) as { dashboard: string }).dashboard;
    const token = readFileSync(join(home, 'daemon.token'), 'utf8').trim();
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    try {
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await page.goto(link);
      await page.locator(`tr[data-workspace="${ws}"] button.terminal`).click();
      await expect.poll(() => page.locator('#terminal-status').textContent(), { timeout: 15_000 }).toBe('connected');
      await page.locator('#terminal-screen .xterm').click();

      // Typed input runs in the workspace: the hostname is the container's, not this machine's.
      await page.keyboard.type(`MARK=m${run8}; echo "$MARK:$(cat /etc/hostname | wc -c)"\r`);
      await expect.poll(() => screen(page), { timeout: 10_000 }).toMatch(new RegExp(`m${run8}:\\d+`));

      // The terminal's size follows the window.
      await page.keyboard.type('stty size\r');
      const sizeOf = async (): Promise<string | undefined> => [...(await screen(page)).matchAll(/^(\d+) (\d+)\s*$/gm)].at(-1)?.[0].trim();
      await expect.poll(sizeOf, { timeout: 10_000 }).toMatch(/^\d+ \d+$/);
      const first = await sizeOf();
      await page.setViewportSize({ width: 800, height: 900 });
      await page.keyboard.type('clear; stty size\r');
      await expect.poll(sizeOf, { timeout: 10_000 }).not.toBe(first);
      const [, , firstCols] = /^(\d+) (\d+)$/.exec(first ?? '') ?? [];
      const [, , cols] = /^(\d+) (\d+)$/.exec((await sizeOf()) ?? '') ?? [];
      expect(Number(cols)).toBeLessThan(Number(firstCols));

      // A reload is a dropped connection: the same shell comes back, its variables intact.
      await page.reload();
      await page.locator(`tr[data-workspace="${ws}"] button.terminal`).click();
      await expect.poll(() => page.locator('#terminal-status').textContent(), { timeout: 15_000 }).toBe('connected');
      await page.locator('#terminal-screen .xterm').click();
      await page.keyboard.type('echo "again:$MARK"\r');
      await expect.poll(() => screen(page), { timeout: 10_000 }).toContain(`again:m${run8}`);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-terminal.png'), fullPage: true });
      expect(errors, errors.join("\n")).toEqual([]);
      expect(JSON.stringify(await page.evaluate('document.cookie'))).not.toContain(token);
    } finally {
      await context.close();
    }
  });
});
