import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessError, formatCommand, resolveExecutable, run, runInteractive, runStreaming } from '../../src/process/index.js';
import { waitFor } from '../support/wait-for.js';

const bin = (name: string): string => join(import.meta.dirname, '../fixtures/bin', name);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  await waitFor(predicate, { timeout: ms, interval: 20 });
}

async function rejection(promise: Promise<unknown>): Promise<ProcessError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProcessError);
  return error as ProcessError;
}

describe('run', () => {
  it('passes shell metacharacters through verbatim: nothing is ever interpreted by a shell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-noshell-'));
    const marker = join(dir, 'pwned');
    const hostile = [
      `; rm -rf ${dir}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `&& touch ${marker}`,
      `| touch ${marker}`,
      `> ${marker}`,
      "'single' \"double\" \\back",
      '*',
      '',
      'line\nbreak',
    ];
    const result = await run([bin('print-argv.mjs'), ...hostile]);
    expect(JSON.parse(result.stdout)).toEqual(hostile);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });

  it('returns stdout, stderr, exit code and duration', async () => {
    const result = await run([bin('exit-with.mjs'), '0', 'a warning']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '', stderr: 'a warning\n' });
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('fails with a structured ProcessError on a non-zero exit', async () => {
    const error = await rejection(run([bin('exit-with.mjs'), '3', 'boom: disk full']));
    expect(error).toMatchObject({ code: 'E_PROCESS', failure: 'exit', exitCode: 3, signal: null, timedOut: false, stderrTail: 'boom: disk full' });
    expect(error.command).toEqual([bin('exit-with.mjs'), '3', 'boom: disk full']);
    expect(error.message).toContain('Command failed with exit code 3');
    expect(error.message).toContain('boom: disk full');
  });

  it('hands accepted exit codes back instead of failing', async () => {
    expect((await run([bin('exit-with.mjs'), '7'], { okExitCodes: 'any' })).exitCode).toBe(7);
    expect((await run([bin('exit-with.mjs'), '2'], { okExitCodes: [0, 2] })).exitCode).toBe(2);
  });

  it('writes input to stdin', async () => {
    expect((await run([bin('echo-stdin.mjs')], { input: 'hello\n' })).stdout).toBe('HELLO\n');
  });

  it('passes cwd and the environment it is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-cwd-'));
    const result = await run([bin('print-env.mjs'), 'BERTH_PROBE'], { cwd: dir, env: { ...process.env, BERTH_PROBE: 'x y' } });
    expect(JSON.parse(result.stdout)).toEqual({ cwd: dir, env: { BERTH_PROBE: 'x y' } });
  });

  it('kills the whole process tree on timeout, TERM first', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'berth-tree-')), 'pids');
    const error = await rejection(run([bin('tree-forever.mjs'), pidFile], { timeoutMs: 1500 }));
    expect(error).toMatchObject({ failure: 'timeout', timedOut: true, exitCode: null, signal: 'SIGTERM' });
    expect(error.message).toContain('Command timed out after 1500 ms');
    const [child, grandchild] = JSON.parse(readFileSync(pidFile, 'utf8')) as [number, number];
    await until(() => !alive(child) && !alive(grandchild));
  });

  it('escalates to KILL when the tree ignores TERM', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'berth-tree-')), 'pids');
    const started = Date.now();
    const error = await rejection(run([bin('tree-forever.mjs'), pidFile, 'ignore-term'], { timeoutMs: 1500, killGraceMs: 300 }));
    expect(error).toMatchObject({ failure: 'timeout', signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const [child, grandchild] = JSON.parse(readFileSync(pidFile, 'utf8')) as [number, number];
    await until(() => !alive(child) && !alive(grandchild));
  });

  it('stops on an AbortSignal and reports a cancel, not a failure of the command', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'berth-tree-')), 'pids');
    const controller = new AbortController();
    const pending = run([bin('tree-forever.mjs'), pidFile], { signal: controller.signal, timeoutMs: 30_000 });
    await until(() => existsSync(pidFile));
    controller.abort();
    const error = await rejection(pending);
    expect(error).toMatchObject({ failure: 'aborted', aborted: true, timedOut: false });
    const [child, grandchild] = JSON.parse(readFileSync(pidFile, 'utf8')) as [number, number];
    await until(() => !alive(child) && !alive(grandchild));
  });

  it('kills at once with stopSignal SIGKILL, even a tree that ignores TERM (a crash test\'s kill -9)', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'berth-tree-')), 'pids');
    const controller = new AbortController();
    const pending = run([bin('tree-forever.mjs'), pidFile, 'ignore-term'], { signal: controller.signal, timeoutMs: 30_000, killGraceMs: 20_000, stopSignal: 'SIGKILL' });
    await until(() => existsSync(pidFile));
    const started = Date.now();
    controller.abort();
    const error = await rejection(pending);
    expect(error).toMatchObject({ failure: 'aborted', signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(5_000);
    const [child, grandchild] = JSON.parse(readFileSync(pidFile, 'utf8')) as [number, number];
    await until(() => !alive(child) && !alive(grandchild));
  });

  it('does not start at all when the signal is already aborted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-abort-'));
    const error = await rejection(run([bin('tree-forever.mjs'), join(dir, 'pids')], { signal: AbortSignal.abort() }));
    expect(error.failure).toBe('aborted');
    expect(existsSync(join(dir, 'pids'))).toBe(false);
  });

  it('reports a missing executable as not-found with a hint', async () => {
    const error = await rejection(run(['berth-no-such-program-xyz', 'arg']));
    expect(error).toMatchObject({ failure: 'not-found', exitCode: null });
    expect(error.hint).toContain('berth-no-such-program-xyz');
  });

  it('kills a runaway printer at the output limit', async () => {
    const error = await rejection(run([bin('flood.mjs'), String(8 * 1024 * 1024)], { maxOutputBytes: 1024 * 1024 }));
    expect(error.failure).toBe('output-limit');
  });

  it('rejects a bad timeout with what was expected and what was received', async () => {
    await expect(run([bin('print-argv.mjs')], { timeoutMs: -1 })).rejects.toMatchObject({
      code: 'E_INVALID_INPUT',
      message: 'timeoutMs must be a non-negative number of milliseconds, got -1 (number).',
    });
  });
});

describe('runStreaming', () => {
  it('hands stdout to the callback as it arrives instead of collecting it', async () => {
    const chunks: Buffer[] = [];
    const result = await runStreaming([bin('flood.mjs'), String(300_000)], { onStdout: (c) => chunks.push(c) });
    expect(Buffer.concat(chunks).length).toBe(300_000);
    expect(result.stdout).toBe('');
  });
});

describe('runInteractive', () => {
  it('resolves to the exit code, with stdio inherited', async () => {
    expect(await runInteractive([bin('exit-with.mjs'), '7'])).toBe(7);
  });

  it('kills on timeout and reports it', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'berth-tree-')), 'pids');
    const error = await rejection(runInteractive([bin('tree-forever.mjs'), pidFile], { timeoutMs: 1000 }));
    expect(error.failure).toBe('timeout');
  });

  it('reports a missing executable without starting anything', async () => {
    expect((await rejection(runInteractive(['berth-no-such-program-xyz']))).failure).toBe('not-found');
  });
});

describe('resolveExecutable', () => {
  it('never searches the current folder through an empty or relative PATH entry', () => {
    const env = { PATH: `:.:relative/dir:${join(import.meta.dirname, '../fixtures/bin')}` };
    expect(resolveExecutable('print-argv.mjs', env)).toBe(bin('print-argv.mjs'));
    expect(resolveExecutable('print-argv.mjs', { PATH: ':.' })).toBeUndefined();
  });
});

describe('formatCommand', () => {
  it('quotes for reading and neutralises control characters', () => {
    expect(formatCommand(['docker', 'exec', 'a b', "it's", 'x\x1b[2J'])).toBe(`docker exec 'a b' 'it'\\''s' 'x\\x1b[2J'`);
  });
});
