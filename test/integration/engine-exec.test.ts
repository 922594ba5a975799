import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSocketFor, EngineApiError } from '../../src/runtime/oci/engine-api.js';
import { startApiExec } from '../../src/runtime/oci/engine-exec.js';
import { OciRuntime, type OciKind } from '../../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/** Collects what an exec writes, with when each chunk came (ms after the exec was asked for). */
function recorder() {
  const started = performance.now();
  const stdout: { at: number; data: Buffer }[] = [];
  const stderr: Buffer[] = [];
  return {
    stdout,
    stderr,
    handlers: { onStdout: (data: Buffer) => stdout.push({ at: performance.now() - started, data }), onStderr: (data: Buffer) => stderr.push(data) },
    out: () => Buffer.concat(stdout.map((c) => c.data)),
    err: () => Buffer.concat(stderr),
    elapsed: () => performance.now() - started,
  };
}

/**
 * exec over the engine's API socket (hijacked connection), on the real engines: output as it comes,
 * bytes as bytes, stdin to EOF, a TTY that resizes, the command's exit code, and engine refusals
 * as typed errors.
 */
describe.each<OciKind>(['podman', 'docker'])('%s: exec over the engine API socket', (kind) => {
  const env = engineEnv();
  const socket = engineSocketFor(kind, env, false) ?? '';
  const cli = new OciRuntime(kind, { env, apiSocket: null });
  const token = randomUUID().slice(0, 8);
  const running = `berth-apiexec-${token}`;
  const stopped = `berth-apiexec-stopped-${token}`;

  beforeAll(async () => {
    const spec = (name: string) => ({ name, image: TEST_IMAGE, command: ['tail', '-f', '/dev/null'], init: true, labels: { 'dev.berth.test': token } });
    await cli.create(spec(running), { start: true });
    await cli.create(spec(stopped));
  });

  afterAll(async () => {
    for (const name of [running, stopped]) await cli.remove(name, { force: true }).catch(() => undefined);
  });

  it('delivers the first output while the command still runs, stderr apart, and the exit code', async () => {
    const rec = recorder();
    const session = await startApiExec(socket, { container: running, argv: ['sh', '-c', 'echo first; echo oops >&2; sleep 2; echo second; exit 7'] }, rec.handlers);
    const { exitCode } = await session.done;
    expect(exitCode).toBe(7);
    expect(rec.out().toString()).toBe('first\nsecond\n');
    expect(rec.err().toString()).toBe('oops\n');
    const first = rec.stdout[0]?.at ?? Infinity;
    // "first" came before the 2 s sleep ended, not with everything at the end.
    expect(rec.elapsed() - first).toBeGreaterThan(1500);
  });

  it('keeps bytes as bytes (no UTF-8 decoding on the way)', async () => {
    const rec = recorder();
    const session = await startApiExec(socket, { container: running, argv: ['printf', '\\377\\376\\000A'] }, rec.handlers);
    expect((await session.done).exitCode).toBe(0);
    expect(rec.out().toString('hex')).toBe('fffe0041');
  });

  it('passes env, working directory and user', async () => {
    const rec = recorder();
    const session = await startApiExec(socket, { container: running, argv: ['sh', '-c', 'echo "$GREETING $(pwd) $(id -u)"'], env: { GREETING: 'héllo' }, workdir: '/tmp', user: '65534' }, rec.handlers);
    await session.done;
    expect(rec.out().toString()).toBe('héllo /tmp 65534\n');
  });

  it('writes stdin and ends it, so the command reads EOF', async () => {
    const rec = recorder();
    const session = await startApiExec(socket, { container: running, argv: ['sh', '-c', 'wc -c; echo end'], stdin: true }, rec.handlers);
    session.write(Buffer.from([0xff, 0x00, 0x41]));
    session.write('bc');
    session.endInput();
    expect((await session.done).exitCode).toBe(0);
    expect(rec.out().toString().replace(/\s+/g, ' ').trim()).toBe('5 end');
  });

  it('gives a TTY of the asked size once started, and resizes it', async () => {
    const rec = recorder();
    // The size is read after a first line: docker before API 1.42 ignores the size given at start,
    // and the resize right after it can land after a command that reads its size at once.
    const session = await startApiExec(socket, { container: running, argv: ['sh', '-c', 'read a; stty size; read b; stty size'], tty: { cols: 100, rows: 30 }, stdin: true }, rec.handlers);
    const seen = () => rec.out().toString();
    session.write('one\r');
    await expect.poll(seen, { timeout: 10_000 }).toContain('30 100');
    await session.resize(120, 40);
    session.write('two\r');
    expect((await session.done).exitCode).toBe(0);
    expect(seen()).toContain('40 120');
  });

  it('refuses a stopped or missing container with the engine status', async () => {
    const rec = recorder();
    const stoppedError = await startApiExec(socket, { container: stopped, argv: ['true'] }, rec.handlers).catch((error: unknown) => error);
    expect(stoppedError).toBeInstanceOf(EngineApiError);
    // docker answers 409; podman 4.3 refuses at create with a 500 whose text says why.
    expect([409, 500]).toContain((stoppedError as EngineApiError).status);
    expect((stoppedError as EngineApiError).message).toMatch(/not running|stopped|state/i);
    const missing = await startApiExec(socket, { container: `berth-apiexec-none-${token}`, argv: ['true'] }, rec.handlers).catch((error: unknown) => error);
    expect((missing as EngineApiError).status).toBe(404);
  });
});
