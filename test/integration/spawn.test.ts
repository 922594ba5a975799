import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import type { ProcessHandle } from '../../src/workspace/processes.js';
import type { WorkspaceSpecInput } from '../../src/workspace/spec.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { hostProcesses } from '../support/host-processes.js';
import { LSP_ECHO, lspRequest } from '../support/lsp-echo.js';

interface Target {
  label: string;
  /** A fresh runtime object each call, as a restarted app makes; same engine, same state. */
  runtime: (home: string) => () => Runtime;
  image: string;
}

const targets: Target[] = [
  { label: 'podman', runtime: () => () => new OciRuntime('podman', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'docker', runtime: () => () => new OciRuntime('docker', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'host (sandboxed)', runtime: (home) => () => new HostRuntime({ stateDir: join(home, 'host'), berthHome: home, sandbox: 'on' }), image: 'host' },
  { label: 'host (unconfined)', runtime: (home) => () => new HostRuntime({ stateDir: join(home, 'host'), berthHome: home, sandbox: 'off' }), image: 'host' },
  {
    label: 'apple 1.2.2 (double)',
    runtime: () => {
      const env = appleDoubleEnv('1.2.2');
      return () => new AppleRuntime({ env, startSystem: true });
    },
    image: TEST_IMAGE,
  },
];


/** Everything a handle's stream delivers, and a way to wait until it holds something. */
function collect(handle: ProcessHandle, stream: 'stdout' | 'stderr' = 'stdout'): { bytes: () => Buffer; text: () => string; chunks: Buffer[]; stop: () => void } {
  const chunks: Buffer[] = [];
  const listener = (chunk: Buffer): void => {
    chunks.push(chunk);
  };
  const stop = stream === 'stdout' ? handle.onStdout(listener) : handle.onStderr(listener);
  const bytes = (): Buffer => Buffer.concat(chunks);
  return { bytes, text: () => bytes().toString('utf8'), chunks, stop };
}

for (const { label, runtime: runtimeFor, image } of targets) {
describe(`${label}: spawn and processes`, () => {
  const token = randomUUID().slice(0, 8);
  const ws = `spawn-${token}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-spawn-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const makeRuntime = runtimeFor(home);
  const opened: Berth[] = [];
  /** A Berth as a (re)started app opens one: a new runtime object and a new store connection. */
  const open = (): Berth => {
    const runtime = makeRuntime();
    const berth = new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: 'f0e1d2c3-b4a5-4697-8899-aabbccddeeff', env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
    opened.push(berth);
    return berth;
  };
  let berth: Berth;

  /** Processes in the workspace whose command line starts with `needle` (/proc, not ps). */
  const running = async (needle: string): Promise<string[]> => {
    if (berth.runtime.kind === 'host') return hostProcesses(needle);
    const script = `for d in /proc/[0-9]*; do c=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null); case "$c" in "$1"*) echo "\${d#/proc/}";; esac; done`;
    const { stdout } = await berth.exec(ws, ['sh', '-c', script, 'sh', needle]);
    return stdout.split('\n').filter((line) => line !== '');
  };

  beforeAll(async () => {
    berth = open();
    if (!(await berth.runtime.ensureSystem({ start: true })).running) throw new Error(`${label} is not usable`);
    const unconfined: WorkspaceSpecInput = { sandbox: 'off' };
    await berth.up(ws, { root, image, ...(label.includes('unconfined') ? unconfined : {}) });
    if (berth.runtime.kind === 'host') {
      const isolation = (await berth.runtime.inspect(containerNameFor(ws))).labels['berth.isolation'];
      expect(isolation).toBe(label.includes('unconfined') ? 'none' : 'sandbox');
    }
  });

  afterAll(async () => {
    for (const handle of await berth.processes(ws).catch(() => [])) await handle.kill('SIGKILL').catch(() => undefined);
    await berth.runtime.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
    for (const b of opened) await b.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('streams output while the command runs, and wait() gives its exit code', async () => {
    // The command waits for a file the test makes only once it has seen the first line (in the
    // workspace folder, its working directory): that line cannot have come with the rest at the end.
    const gate = `.spawn-gate-${token}`;
    const handle = await berth.spawn(ws, ['sh', '-c', `echo first; until [ -e ${gate} ]; do sleep 0.05; done; echo second; exit 7`]);
    const out = collect(handle);
    let ended = false;
    const exited = handle.wait().finally(() => (ended = true));
    await expect.poll(() => out.text(), { timeout: 20_000, interval: 20 }).toContain('first');
    expect(out.text()).toBe('first\n');
    expect(ended).toBe(false);
    writeFileSync(join(root, gate), '');
    expect(await exited).toEqual({ exitCode: 7, signal: null });
    expect(out.text()).toBe('first\nsecond\n');
    out.stop();
  });

  it('round-trips stdin like an LSP over stdio: requests answered one by one, then end of file', async () => {
    const handle = await berth.spawn(ws, ['node', '-e', LSP_ECHO]);
    const out = collect(handle);
    const err = collect(handle, 'stderr');
    await expect.poll(() => out.text(), { timeout: 20_000, interval: 20 }).toContain('ready\n');
    for (const [i, params] of [{ uri: 'file:///a.ts' }, { text: 'héllo ✓' }, { n: 3 }].entries()) {
      handle.stdin.write(lspRequest(i + 1, params));
      const answer = JSON.stringify({ jsonrpc: '2.0', id: i + 1, result: { echo: params } });
      await expect.poll(() => out.text(), { timeout: 20_000, interval: 20 }).toContain(answer);
    }
    handle.stdin.end();
    expect(await handle.wait()).toEqual({ exitCode: 0, signal: null });
    expect(err.text()).toBe('stdin closed\n');
  });

  it('kill() ends the process group: its children are gone from the process table, even one that ignores TERM', async () => {
    const marker = `7${String(Date.now() % 100_000).padStart(5, '0')}`;
    const handle = await berth.spawn(ws, ['sh', '-c', `sleep ${marker}1 & trap '' TERM; sleep ${marker}2; wait`]);
    await expect.poll(() => running(`sleep ${marker}`), { timeout: 20_000, interval: 100 }).toHaveLength(2);
    await handle.kill();
    expect(await running(`sleep ${marker}`)).toEqual([]);
    const exit = await handle.wait();
    expect(exit.exitCode).toBeNull();
    expect(exit.signal).toMatch(/^SIG(TERM|KILL)$/);
  });

  it('a new Berth (an app restart) lists the process, replays its output, writes its stdin and kills it', async () => {
    const command = `echo ready; echo warming >&2; while IFS= read -r line; do echo "got $line"; done # ${token}`;
    const first = await berth.spawn(ws, ['sh', '-c', command], { env: { SECRET_VALUE: 's3cret' } });
    const firstOut = collect(first);
    await expect.poll(() => firstOut.text(), { timeout: 20_000, interval: 20 }).toBe('ready\n');
    first.stdin.write('one\n');
    await expect.poll(() => firstOut.text(), { timeout: 20_000, interval: 20 }).toBe('ready\ngot one\n');
    firstOut.stop();

    const again = open();
    const listed = await again.processes(ws);
    const found = listed.find((p) => p.id === first.id);
    expect(found?.argv).toEqual(first.argv);
    expect(found?.workspace).toBe(ws);
    if (!found) return;
    const out = collect(found);
    const err = collect(found, 'stderr');
    await expect.poll(() => out.text(), { timeout: 20_000, interval: 20 }).toBe('ready\ngot one\n');
    await expect.poll(() => err.text(), { timeout: 20_000, interval: 20 }).toBe('warming\n');
    found.stdin.write('two\n');
    await expect.poll(() => out.text(), { timeout: 20_000, interval: 20 }).toBe('ready\ngot one\ngot two\n');
    await found.kill();
    expect(await found.wait()).toEqual({ exitCode: null, signal: 'SIGTERM' });
    // The first handle sees the same end.
    expect(await first.wait()).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(await running(`sh -c ${command}`)).toEqual([]);
    // What a restarted app can read back holds no env values.
    const again2 = await open().processes(ws);
    expect(JSON.stringify(again2.map((p) => p.argv))).not.toContain('s3cret');
    expect(await again2.find((p) => p.id === first.id)?.wait()).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('keeps output bounded: the ring in the workspace and the replay hold the newest bytes only', async () => {
    const ringBytes = 8192;
    // ~190 KB of numbered lines, then it stays up.
    const handle = await berth.spawn(ws, ['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done; echo done; exec sleep 600'], { ringBytes });
    const { stdout: files } = await berth.exec(ws, ['sh', '-c', 'cd "$1" && until [ -f out.end ] && [ "$(cat out.end)" -gt 190000 ]; do sleep 0.1; done; wc -c out.[0-9]*', 'sh', processDir(berth, ws, home, handle.id)], { timeoutMs: 60_000 });
    const kept = files.trim().split('\n').filter((l) => !l.includes('total')).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(ringBytes);
    const [reattached] = (await open().processes(ws)).filter((p) => p.id === handle.id);
    if (!reattached) throw new Error('not listed');
    const out = collect(reattached);
    await expect.poll(() => out.text(), { timeout: 20_000, interval: 20 }).toContain('done\n');
    expect(out.bytes().length).toBeLessThanOrEqual(ringBytes);
    expect(out.text()).toMatch(/line 19999\ndone\n$/);
    out.stop();
    await handle.kill('SIGKILL');
    expect(await handle.wait()).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });

  it('passes hostile bytes unchanged: NUL and invalid UTF-8, on stdout, stderr and stdin', async () => {
    const handle = await berth.spawn(ws, ['sh', '-c', "printf '\\377\\376\\000A'; printf '\\000\\377' >&2; cat"]);
    const out = collect(handle);
    const err = collect(handle, 'stderr');
    await expect.poll(() => out.bytes().length, { timeout: 20_000, interval: 20 }).toBe(4);
    expect(out.bytes()).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    handle.stdin.write(Buffer.from([0xc3, 0x28, 0x00, 0xff, 0x0a]));
    handle.stdin.end();
    expect(await handle.wait()).toEqual({ exitCode: 0, signal: null });
    expect(out.bytes()).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x00, 0xff, 0x0a]));
    expect(err.bytes()).toEqual(Buffer.from([0x00, 0xff]));
  });

  it('refuses a command the workspace does not have: E_NOT_FOUND, nothing left running', async () => {
    await expectCode(berth.spawn(ws, [`no-such-tool-${token}`]), 'E_NOT_FOUND');
    expect((await berth.processes(ws)).map((p) => p.argv[0])).not.toContain(`no-such-tool-${token}`);
  });
});
}

/** The process's folder as the workspace sees it (processes.ts `processSite`). */
function processDir(berth: Berth, ws: string, home: string, id: string): string {
  return berth.runtime.capabilities.isolation === 'container' ? `/tmp/berth-processes/${id}` : join(home, 'dev', ws, 'processes', id);
}
