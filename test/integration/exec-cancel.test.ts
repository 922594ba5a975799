import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { execCancellable } from '../../src/workspace/exec-cancel.js';
import { appleOnDouble } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { hostProcesses } from '../support/host-processes.js';


interface Target {
  label: string;
  runtime: () => Runtime;
  image: string;
}

const targets: Target[] = [
  { label: 'podman', runtime: () => new OciRuntime('podman', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'docker', runtime: () => new OciRuntime('docker', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'host', runtime: () => new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-cancel-host-')) }), image: 'host' },
  { label: 'apple 1.2.2 (double)', runtime: () => appleOnDouble('1.2.2'), image: TEST_IMAGE },
];

/**
 * A timeout or an abort ends the command inside the workspace, not only the engine client that
 * waited for it (before: `sleep` kept running in the container after exec rejected).
 */
describe.each(targets)('$label: a cancelled exec ends in the workspace', ({ label, runtime: make, image }) => {
  const token = randomUUID().slice(0, 8);
  const name = `berth-cancel-${token}`;
  const root = mkdtempSync(join(tmpdir(), 'berth-cancel-root-'));
  let runtime: Runtime;

  /** Processes in the workspace whose command line holds `needle` (read from /proc, not ps). */
  const running = async (needle: string): Promise<string[]> => {
    // Host mode: the host's own process table sees every exec (sandboxed ones live in process
    // namespaces of their own, children of the host's).
    if (runtime.kind === 'host') return hostProcesses(needle);
    const script = `for d in /proc/[0-9]*; do c=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null); case "$c" in *"$1"*) echo "\${d#/proc/} $c";; esac; done`;
    const { stdout } = await runtime.exec(name, ['sh', '-c', script, 'sh', needle]);
    return stdout.split('\n').filter((line) => line !== '' && !line.includes('/proc/[0-9]'));
  };

  beforeAll(async () => {
    runtime = make();
    const status = await runtime.ensureSystem();
    if (!status.running) throw new Error(`${label} is not usable: ${status.detail}`);
    await runtime.create(
      { name, image, command: ['sh', '-c', 'exec sleep infinity'], init: true, labels: { 'dev.berth.test': token }, mounts: [{ source: root, target: '/workspace', readOnly: false }], workdir: '/workspace' },
      { start: true },
    );
  });

  afterAll(async () => {
    await runtime?.remove(name, { force: true }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('after a 500 ms timeout: E_TIMEOUT, and the command and its children are gone', async () => {
    const marker = `3${String(Date.now() % 100_000).padStart(5, '0')}`;
    // A child in the background and one that ignores TERM: both must go.
    const argv = ['sh', '-c', `sleep ${marker}1 & trap '' TERM; sleep ${marker}2; wait`];
    const started = performance.now();
    const error = await expectCode(execCancellable(runtime, name, argv, { timeoutMs: 500 }), 'E_TIMEOUT');
    expect(error.details).toMatchObject({ timeoutMs: 500 });
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(await running(`sleep ${marker}`)).toEqual([]);
  });

  it('after an abort: E_ABORTED, and the command is gone', async () => {
    const marker = `4${String(Date.now() % 100_000).padStart(5, '0')}`;
    const controller = new AbortController();
    const pending = execCancellable(runtime, name, ['sleep', `${marker}1`], { signal: controller.signal });
    // Abort once the command really runs in the workspace (so this is not an abort before start).
    await expect.poll(() => running(`sleep ${marker}1`), { timeout: 20_000, interval: 100 }).toHaveLength(1);
    controller.abort(new Error('the app closed the tab'));
    const error = await expectCode(pending, 'E_ABORTED');
    expect(error.details).toMatchObject({ reason: 'the app closed the tab' });
    expect(await running(`sleep ${marker}1`)).toEqual([]);
  });

  it('leaves an exec that finishes in time alone, and other commands running', async () => {
    const marker = `5${String(Date.now() % 100_000).padStart(5, '0')}`;
    const stopOther = new AbortController();
    const other = execCancellable(runtime, name, ['sleep', `${marker}9`], { signal: stopOther.signal }).catch(() => undefined);
    await expect.poll(() => running(`sleep ${marker}9`), { timeout: 20_000, interval: 100 }).toHaveLength(1);
    const result = await execCancellable(runtime, name, ['sh', '-c', 'echo fine'], { timeoutMs: 30_000 });
    expect(result.stdout).toBe('fine\n');
    await expectCode(execCancellable(runtime, name, ['sleep', '30'], { timeoutMs: 300 }), 'E_TIMEOUT');
    // The unrelated command carries no marker of the cancelled one: it still runs.
    expect(await running(`sleep ${marker}9`)).toHaveLength(1);
    stopOther.abort();
    await other;
    expect(await running(`sleep ${marker}9`)).toEqual([]);
  });
});

describe('Berth.exec (the library) on podman: a timeout ends the command in the workspace', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-cancel-lib-'));
  const id = `cancel-${randomUUID().slice(0, 8)}`;

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('rejects with E_TIMEOUT and leaves no sleep behind', async () => {
    const { createBerth } = await import('../../src/berth.js');
    const root = join(scratch, 'project');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(root);
    const berth = await createBerth({ home: join(scratch, 'home'), runtime: 'podman', env: engineEnv(), userHome: join(scratch, 'user') });
    try {
      await berth.up(id, { root, image: TEST_IMAGE });
      await expectCode(berth.exec(id, ['sleep', '3177'], { timeoutMs: 500 }), 'E_TIMEOUT');
      const { stdout } = await berth.exec(id, ['sh', '-c', 'for d in /proc/[0-9]*; do tr "\\0" " " < $d/cmdline 2>/dev/null; echo; done']);
      expect(stdout).not.toContain('sleep 3177');
    } finally {
      await berth.remove(id).catch(() => undefined);
      await berth.close();
    }
  });
});
