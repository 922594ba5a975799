import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBerth } from '../../src/berth.js';
import { run, runStreaming } from '../../src/process/index.js';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { execCancellable } from '../../src/workspace/exec-cancel.js';
import { BERTH_BIN } from '../e2e/cli-suite.js';
import { appleOnDouble } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

/** Chunks as they came, with when (ms since the recorder was made). */
function recorder() {
  const started = performance.now();
  const chunks: { at: number; data: Buffer }[] = [];
  return {
    chunks,
    onChunk: (data: Buffer) => chunks.push({ at: performance.now() - started, data }),
    bytes: () => Buffer.concat(chunks.map((c) => c.data)),
    firstAt: () => chunks[0]?.at ?? Infinity,
    elapsed: () => performance.now() - started,
  };
}

/** Every byte value, twice, so a decoder that touches any of them shows. */
const ALL_BYTES = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i))]);

const PRINT_SLEEP_PRINT = ['sh', '-c', 'echo first; sleep 2; echo second'];

interface Target {
  label: string;
  runtime: () => Runtime;
  image: string;
  sandbox?: 'off';
}

const targets: Target[] = [
  { label: 'podman (API socket)', runtime: () => new OciRuntime('podman', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'docker (API socket)', runtime: () => new OciRuntime('docker', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'podman (CLI)', runtime: () => new OciRuntime('podman', { env: engineEnv(), apiSocket: null }), image: TEST_IMAGE },
  { label: 'docker (CLI)', runtime: () => new OciRuntime('docker', { env: engineEnv(), apiSocket: null }), image: TEST_IMAGE },
  { label: 'host (sandboxed)', runtime: () => new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-stream-host-')) }), image: 'host' },
  { label: 'host (unconfined)', runtime: () => new HostRuntime({ stateDir: mkdtempSync(join(tmpdir(), 'berth-stream-host-')) }), image: 'host', sandbox: 'off' },
  { label: 'apple 1.2.2 (double)', runtime: () => appleOnDouble('1.2.2'), image: TEST_IMAGE },
];

/**
 * exec on every runtime: output as it comes (before, everything came at the end in one piece),
 * bytes as bytes (before, `ff fe` came back as `ef bf bd ef bf bd`), stdin bytes in, stderr apart.
 */
describe.each(targets)('$label: exec streams, bytes-safe', ({ label, runtime: make, image, sandbox }) => {
  const token = randomUUID().slice(0, 8);
  const name = `berth-stream-${token}`;
  const root = mkdtempSync(join(tmpdir(), 'berth-stream-root-'));
  let runtime: Runtime;

  beforeAll(async () => {
    mkdirSync(join(root, 'sub'));
    runtime = make();
    const status = await runtime.ensureSystem();
    if (!status.running) throw new Error(`${label} is not usable: ${status.detail}`);
    await runtime.create(
      {
        name,
        image,
        command: ['sh', '-c', 'exec sleep infinity'],
        init: true,
        labels: { 'dev.berth.test': token },
        mounts: [{ source: root, target: '/workspace', readOnly: false }],
        workdir: '/workspace',
        ...(sandbox ? { sandbox } : {}),
      },
      { start: true },
    );
  });

  afterAll(async () => {
    await runtime?.remove(name, { force: true }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('hands the first stdout chunk over while the command still runs', async () => {
    const out = recorder();
    const result = await runtime.exec(name, PRINT_SLEEP_PRINT, { onStdout: out.onChunk });
    const finished = out.elapsed();
    expect(result.exitCode).toBe(0);
    expect(out.bytes().toString()).toBe('first\nsecond\n');
    // Streamed output is not kept a second time in the result.
    expect(result.stdout).toBe('');
    // "first" came before the 2 s sleep ended, not with everything at the end.
    expect(finished - out.firstAt()).toBeGreaterThan(1500);
  });

  it("keeps bytes as bytes with encoding 'buffer', on stdout and stderr", async () => {
    const result = await runtime.exec(name, ['sh', '-c', "printf '\\377\\376\\000A'; printf '\\377\\000' >&2"], { encoding: 'buffer' });
    expect(Buffer.isBuffer(result.stdout)).toBe(true);
    expect(result.stdout.toString('hex')).toBe('fffe0041');
    expect(result.stderr.toString('hex')).toBe('ff00');
    // The callbacks get the same bytes.
    const out = recorder();
    await runtime.exec(name, ['printf', '\\377\\376\\000A'], { onStdout: out.onChunk });
    expect(out.bytes().toString('hex')).toBe('fffe0041');
  });

  it('writes stdin bytes (a buffer or a stream) that come back through cat unchanged', async () => {
    const once = await runtime.exec(name, ['cat'], { stdin: ALL_BYTES, encoding: 'buffer' });
    expect(once.stdout.equals(ALL_BYTES)).toBe(true);
    const streamed = await runtime.exec(name, ['cat'], { stdin: Readable.from([ALL_BYTES.subarray(0, 100), ALL_BYTES.subarray(100)]), encoding: 'buffer' });
    expect(streamed.stdout.equals(ALL_BYTES)).toBe(true);
    // The old name still works.
    expect((await runtime.exec(name, ['cat'], { input: 'old name' })).stdout).toBe('old name');
  });

  it('keeps stderr apart from stdout and hands back the exit code', async () => {
    const out = recorder();
    const err = recorder();
    const argv = ['sh', '-c', 'echo out; echo err >&2; exit 7'];
    const streamed = await runtime.exec(name, argv, { onStdout: out.onChunk, onStderr: err.onChunk });
    expect(streamed.exitCode).toBe(7);
    expect(out.bytes().toString()).toBe('out\n');
    expect(err.bytes().toString()).toBe('err\n');
    expect(await runtime.exec(name, argv)).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs in cwd (and the old workdir)', async () => {
    // Host mode runs in the mounted folder itself, at its host path.
    const expected = `${runtime.kind === 'host' ? join(root, 'sub') : '/workspace/sub'}\n`;
    expect((await runtime.exec(name, ['pwd'], { cwd: '/workspace/sub' })).stdout).toBe(expected);
    expect((await runtime.exec(name, ['pwd'], { workdir: '/workspace/sub' })).stdout).toBe(expected);
  });

  it('a streamed exec that times out: the output so far came, then E_TIMEOUT', async () => {
    const out = recorder();
    await expectCode(execCancellable(runtime, name, ['sh', '-c', 'echo started; sleep 30'], { timeoutMs: 1500, onStdout: out.onChunk }), 'E_TIMEOUT');
    expect(out.bytes().toString()).toBe('started\n');
  });
});

/** Berth.exec, the library: the option names, the encoding overload, through the exec fence. */
describe('Berth.exec on podman: streamed and bytes-safe', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-stream-lib-'));
  const id = `stream-${randomUUID().slice(0, 8)}`;

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('streams, returns Buffers for encoding buffer, reads stdin', async () => {
    const root = join(scratch, 'project');
    mkdirSync(join(root, 'sub'), { recursive: true });
    const berth = await createBerth({ home: join(scratch, 'home'), runtime: 'podman', env: engineEnv(), userHome: join(scratch, 'user') });
    try {
      await berth.up(id, { root, image: TEST_IMAGE });
      const out = recorder();
      const streamed = await berth.exec(id, PRINT_SLEEP_PRINT, { onStdout: out.onChunk });
      expect(out.elapsed() - out.firstAt()).toBeGreaterThan(1500);
      expect(streamed.stdout).toBe('');
      const bytes: Buffer = (await berth.exec(id, ['cat'], { stdin: Buffer.from([0xff, 0xfe, 0x00, 0x41]), encoding: 'buffer', cwd: '/workspace/sub' })).stdout;
      expect(bytes.toString('hex')).toBe('fffe0041');
      const text: string = (await berth.exec(id, ['pwd'], { cwd: '/workspace/sub' })).stdout;
      expect(text).toBe('/workspace/sub\n');
    } finally {
      await berth.remove(id).catch(() => undefined);
      await berth.close();
    }
  });
});

/** `berth exec`, the CLI (the built binary): output as it comes, bytes unchanged on stdout, stdin through. */
describe.each(['podman', 'docker'] as const)('berth exec (CLI) on %s streams', (engine) => {
  const scratch = mkdtempSync(join(tmpdir(), `berth-stream-cli-${engine}-`));
  const ws = `cli-stream-${randomUUID().slice(0, 8)}`;
  const env = { ...engineEnv(), BERTH_HOME: join(scratch, 'home'), BERTH_RUNTIME: engine };
  const cli = (args: string[], input?: Buffer) => {
    const out = recorder();
    const err = recorder();
    const done = runStreaming([process.execPath, BERTH_BIN, ...args], { env, input, okExitCodes: 'any', timeoutMs: 120_000, onStdout: out.onChunk, onStderr: err.onChunk });
    return { out, err, done };
  };

  beforeAll(async () => {
    const root = join(scratch, 'project');
    mkdirSync(root);
    const up = await run([process.execPath, BERTH_BIN, 'up', ws, '--root', root, '--image', TEST_IMAGE], { env, okExitCodes: 'any', timeoutMs: 120_000 });
    expect(up.exitCode, up.stderr).toBe(0);
  });

  afterAll(async () => {
    await run([process.execPath, BERTH_BIN, 'rm', ws], { env, okExitCodes: 'any', timeoutMs: 120_000 });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prints the first line while the command still runs', async () => {
    const { out, done } = cli(['exec', ws, '--', ...PRINT_SLEEP_PRINT]);
    const { exitCode } = await done;
    expect(exitCode).toBe(0);
    expect(out.bytes().toString()).toBe('first\nsecond\n');
    expect(out.elapsed() - out.firstAt()).toBeGreaterThan(1500);
  });

  it('passes bytes through unchanged, stdin to stdout, stderr apart, and the exit code', async () => {
    const bytes = cli(['exec', ws, '--', 'printf', '\\377\\376\\000A']);
    expect((await bytes.done).exitCode).toBe(0);
    expect(bytes.out.bytes().toString('hex')).toBe('fffe0041');
    const cat = cli(['exec', ws, '--', 'cat'], ALL_BYTES);
    expect((await cat.done).exitCode).toBe(0);
    expect(cat.out.bytes().equals(ALL_BYTES)).toBe(true);
    const apart = cli(['exec', ws, '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect((await apart.done).exitCode).toBe(7);
    expect(apart.out.bytes().toString()).toBe('out\n');
    expect(apart.err.bytes().toString()).toBe('err\n');
  });
});
