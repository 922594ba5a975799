import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { berthCli, json } from '../e2e/cli-suite.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { expectCode } from '../support/expect-code.js';

/**
 * The Apple container system's lifecycle, on the test double: a fresh double is a Mac where
 * `container system start` has not run yet.
 */
describe('Apple container system lifecycle (double)', () => {
  it('with BERTH_APPLE_AUTOSTART=0, reports a stopped system without starting it, and says how to start it', async () => {
    const runtime = new AppleRuntime({ env: { ...appleDoubleEnv('1.2.2'), BERTH_APPLE_AUTOSTART: '0' } });
    const status = await runtime.ensureSystem();
    expect(status.running).toBe(false);
    expect(status.detail).toContain('container system start');
    const error = await expectCode(runtime.list(), 'E_RUNTIME_UNAVAILABLE');
    expect(error.hint).toContain('container system start');
    expect((await runtime.ensureSystem()).running).toBe(false);
  });

  it('by default, an XPC error starts the system (never prompting for the kernel) and retries once', async () => {
    const env: NodeJS.ProcessEnv = { ...appleDoubleEnv('1.2.2'), CONTAINER_DOUBLE_KERNEL: '' };
    const state = String(env['CONTAINER_DOUBLE_STATE']);
    const runtime = new AppleRuntime({ env });
    expect(await runtime.list()).toEqual([]);
    expect((await runtime.ensureSystem()).running).toBe(true);
    // Without an explicit kernel flag the start would have prompted (and failed on closed stdin),
    // leaving no kernel: the double records what the start did.
    const system = JSON.parse(readFileSync(join(state, 'system.json'), 'utf8')) as { kernelInstalled: boolean };
    expect(system.kernelInstalled).toBe(true);
  });

  it('berth doctor reports the stopped system with a fix, and --fix starts it', async () => {
    const env = { ...appleDoubleEnv('1.2.2'), BERTH_HOME: mkdtempSync(join(tmpdir(), 'berth-apple-doctor-')) };
    const berth = berthCli(env);
    type Report = { ok: boolean; checks: { id: string; status: string; fix?: string; detail: string }[] };
    const before = await berth(['doctor', '--runtime', 'apple', '--json']);
    expect(before.exitCode).toBe(1);
    const stopped = JSON.parse(before.stdout) as Report;
    expect(stopped.checks.find((c) => c.id === 'runtime.reachable')).toMatchObject({ status: 'fail', fix: expect.stringContaining('berth doctor --fix') as unknown });
    expect(stopped.checks.find((c) => c.id === 'apple.version')).toMatchObject({ status: 'ok', detail: 'container 1.2.2' });

    const fixed = json<Report>(await berth(['doctor', '--runtime', 'apple', '--json', '--fix']));
    expect(fixed.ok).toBe(true);
    expect(fixed.checks.find((c) => c.id === 'runtime.reachable')?.status).toBe('ok');
    expect(fixed.checks.find((c) => c.id === 'apple.network')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^default network \d+\.\d+\.\d+\.\d+\/\d+/) as unknown });
  });

  it('doctor warns about a version outside the parsed range', async () => {
    const env = { ...appleDoubleEnv('2.0.0'), BERTH_HOME: mkdtempSync(join(tmpdir(), 'berth-apple-doctor-')) };
    const report = JSON.parse((await berthCli(env)(['doctor', '--runtime', 'apple', '--json'])).stdout) as { checks: { id: string; status: string }[] };
    expect(report.checks.find((c) => c.id === 'apple.version')?.status).toBe('warn');
  });

  const TEST_IMAGE_REF = 'berth-workspace:test';
  type Report = { ok: boolean; checks: { id: string; status: string; fix?: string; detail: string }[] };
  const scratchEnv = (version: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const scratch = mkdtempSync(join(tmpdir(), 'berth-apple-up-'));
    mkdirSync(join(scratch, 'project'));
    return { ...appleDoubleEnv(version), BERTH_HOME: join(scratch, 'home'), BERTH_RUNTIME: 'apple', BERTH_TEST_PROJECT: join(scratch, 'project'), ...extra };
  };

  it('berth up with the system installed but stopped starts it once, records an event, and comes up', async () => {
    const env = scratchEnv('1.2.2', { CONTAINER_DOUBLE_KERNEL: 'installed' });
    const berth = berthCli(env);
    const ws = `autostart-${randomUUID().slice(0, 8)}`;
    try {
      const up = await berth(['up', ws, '--root', String(env['BERTH_TEST_PROJECT']), '--image', TEST_IMAGE_REF, '--json']);
      expect(up.exitCode, up.stderr).toBe(0);
      const system = JSON.parse(readFileSync(join(String(env['CONTAINER_DOUBLE_STATE']), 'system.json'), 'utf8')) as { running: boolean };
      expect(system.running).toBe(true);
      const events = await berth(['events', '--json']);
      expect(events.stdout).toContain('runtime.system-started');
      expect(events.stdout.match(/runtime\.system-started/g)?.length).toBe(1);
    } finally {
      const removed = await berth(['rm', ws]);
      expect(removed.exitCode, removed.stderr).toBe(0);
    }
  });

  it('with autostart off (BERTH_APPLE_AUTOSTART=0), berth up refuses with the hint and starts nothing', async () => {
    const env = scratchEnv('1.2.2', { CONTAINER_DOUBLE_KERNEL: 'installed', BERTH_APPLE_AUTOSTART: '0' });
    const up = await berthCli(env)(['up', `no-autostart-${randomUUID().slice(0, 8)}`, '--root', String(env['BERTH_TEST_PROJECT']), '--image', TEST_IMAGE_REF]);
    expect(up.exitCode).not.toBe(0);
    expect(up.stderr).toContain('container system start');
    const file = join(String(env['CONTAINER_DOUBLE_STATE']), 'system.json');
    expect(existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { running?: boolean }).running === true).toBe(false);
  });

  it('with autostart off in config.json alone (appleAutostart: false), berth up refuses with the hint and starts nothing', async () => {
    const env = scratchEnv('1.2.2', { CONTAINER_DOUBLE_KERNEL: 'installed' });
    delete env['BERTH_APPLE_AUTOSTART'];
    mkdirSync(String(env['BERTH_HOME']), { recursive: true, mode: 0o700 });
    writeFileSync(join(String(env['BERTH_HOME']), 'config.json'), '{ "appleAutostart": false }\n');
    const up = await berthCli(env)(['up', `no-autostart-cfg-${randomUUID().slice(0, 8)}`, '--root', String(env['BERTH_TEST_PROJECT']), '--image', TEST_IMAGE_REF]);
    expect(up.exitCode).not.toBe(0);
    expect(up.stderr).toContain('container system start');
    const file = join(String(env['CONTAINER_DOUBLE_STATE']), 'system.json');
    expect(existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { running?: boolean }).running === true).toBe(false);
  });

  it('refuses a release below the minimum (0.8.0): doctor fails the version with an upgrade fix, berth up says to upgrade', async () => {
    const env = scratchEnv('0.8.0', { CONTAINER_DOUBLE_KERNEL: 'installed' });
    const berth = berthCli(env);
    const report = JSON.parse((await berth(['doctor', '--runtime', 'apple', '--json', '--fix'])).stdout) as Report;
    expect(report.checks.find((c) => c.id === 'apple.version')).toMatchObject({ status: 'fail', detail: expect.stringContaining('older than 0.9.0') as unknown, fix: expect.stringContaining('Upgrade Apple container to 0.9.0') as unknown });
    expect(report.checks.find((c) => c.id === 'runtime.reachable')).toMatchObject({ status: 'fail', detail: expect.stringContaining('Upgrade Apple container') as unknown });
    const up = await berth(['up', `old-${randomUUID().slice(0, 8)}`, '--root', String(env['BERTH_TEST_PROJECT']), '--image', TEST_IMAGE_REF]);
    expect(up.exitCode).not.toBe(0);
    expect(up.stderr).toContain('Apple container 0.8.0 is older than 0.9.0');
    expect(up.stderr).toContain('Upgrade Apple container to 0.9.0 or later');
    expect(up.stderr).not.toMatch(/Unknown option|Usage:/);
  });

  it.each([
    ['0.9.0', {}, /on 0\.9\.0: .*all capabilities.*Differs here: no `container cp` before 1\.0\.0.*no --init before 0\.10\.0.*no `system start --timeout` before 0\.10\.0/],
    ['0.12.3', {}, /on 0\.12\.3: .*--cap-add.*Differs here: no `container cp` before 1\.0\.0: copies go through tar over exec$/],
    ['1.2.2', {}, /on 1\.2\.2: .*--cap-add.*container cp; --init$/],
  ] as const)('berth doctor on %s names the version, what works there and what does not', async (version, extra, release) => {
    const env = scratchEnv(version, { CONTAINER_DOUBLE_KERNEL: 'installed', ...extra });
    const report = JSON.parse((await berthCli(env)(['doctor', '--runtime', 'apple', '--json', '--fix'])).stdout) as Report;
    expect(report.checks.find((c) => c.id === 'apple.version')).toMatchObject({ status: 'ok', detail: `container ${version}` });
    expect(report.checks.find((c) => c.id === 'apple.release')?.detail).toMatch(release);
    expect(report.checks.find((c) => c.id === 'apple.network')?.status).toBe('ok');
  });

  it('berth doctor on macOS 15 says networks need macOS 26 and egress is unavailable, not "system not running"', async () => {
    const env = scratchEnv('1.2.2', { CONTAINER_DOUBLE_KERNEL: 'installed', CONTAINER_DOUBLE_MACOS: '15' });
    const report = JSON.parse((await berthCli(env)(['doctor', '--runtime', 'apple', '--json', '--fix'])).stdout) as Report;
    expect(report.checks.find((c) => c.id === 'runtime.reachable')?.status).toBe('ok');
    expect(report.checks.find((c) => c.id === 'apple.network')).toMatchObject({ status: 'warn', detail: expect.stringContaining('need macOS 26') as unknown });
    expect(JSON.stringify(report)).not.toContain('not running');
  });

  it('berth up with egress rules on macOS 15 says egress needs macOS 26, and starts nothing', async () => {
    const env = scratchEnv('1.2.2', { CONTAINER_DOUBLE_KERNEL: 'installed', CONTAINER_DOUBLE_MACOS: '15' });
    const berth = berthCli(env);
    expect((await berth(['doctor', '--runtime', 'apple', '--json', '--fix'])).exitCode).toBe(0);
    const bootBefore = (JSON.parse(readFileSync(join(String(env['CONTAINER_DOUBLE_STATE']), 'system.json'), 'utf8')) as { bootMs: number }).bootMs;
    const ws = `macos15-${randomUUID().slice(0, 8)}`;
    try {
      const up = await berth(['up', ws, '--root', String(env['BERTH_TEST_PROJECT']), '--image', TEST_IMAGE_REF, '--allow', 'example.com']);
      expect(up.exitCode).not.toBe(0);
      expect(up.stderr).toContain('networks need macOS 26');
      expect(up.stderr).toContain('egress control is unavailable');
      expect(up.stderr).not.toContain('not running');
      const bootAfter = (JSON.parse(readFileSync(join(String(env['CONTAINER_DOUBLE_STATE']), 'system.json'), 'utf8')) as { bootMs: number }).bootMs;
      expect(bootAfter).toBe(bootBefore);
    } finally {
      // Nothing was made; this only cleans up if that ever changes.
      await berth(['rm', ws]);
    }
  });
});
