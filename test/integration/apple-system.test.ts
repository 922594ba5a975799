import { mkdtempSync, readFileSync } from 'node:fs';
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
  it('reports a stopped system without starting it, and says how to start it', async () => {
    const runtime = new AppleRuntime({ env: appleDoubleEnv('1.2.2') });
    const status = await runtime.ensureSystem();
    expect(status.running).toBe(false);
    expect(status.detail).toContain('container system start');
    const error = await expectCode(runtime.list(), 'E_RUNTIME_UNAVAILABLE');
    expect(error.hint).toContain('container system start');
    expect((await runtime.ensureSystem()).running).toBe(false);
  });

  it('when allowed, an XPC error starts the system (never prompting for the kernel) and retries once', async () => {
    const env: NodeJS.ProcessEnv = { ...appleDoubleEnv('1.2.2'), CONTAINER_DOUBLE_KERNEL: '' };
    const state = String(env['CONTAINER_DOUBLE_STATE']);
    const runtime = new AppleRuntime({ env, startSystem: true });
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
});
