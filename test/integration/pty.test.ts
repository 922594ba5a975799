import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { spawnOnPty } from '../../src/process/pty.js';
import { createRuntime } from '../../src/runtime/select.js';
import type { RuntimeKind } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { installationId } from '../../src/workspace/installation.js';
import type { PtyHandle } from '../../src/workspace/pty.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';
import { hostProcesses } from '../support/host-processes.js';


/** The match, or an error that shows what the terminal said (waitFor reports the last one). */
function seenIn(text: string, pattern: RegExp): RegExpExecArray {
  const match = pattern.exec(text);
  if (match === null) throw new Error(`not in ${JSON.stringify(text.slice(-400))}`);
  return match;
}

/** A terminal's output so far, as text, and a way to wait for a pattern in it. */
function screen(pty: PtyHandle): { text: () => string; until: (pattern: RegExp, message: string, timeout?: number) => Promise<RegExpExecArray> } {
  let text = '';
  pty.onData((data) => (text += data.toString('utf8')));
  return {
    text: () => text,
    until: (pattern, message, timeout = 20_000) => waitFor(() => seenIn(text, pattern), { timeout, interval: 20, message }),
  };
}

interface Target {
  label: string;
  kind: RuntimeKind;
  env: () => NodeJS.ProcessEnv;
  spec: Record<string, unknown>;
}

const targets: Target[] = [
  { label: 'podman', kind: 'podman', env: engineEnv, spec: { image: TEST_IMAGE } },
  { label: 'docker', kind: 'docker', env: engineEnv, spec: { image: TEST_IMAGE } },
  { label: 'host (sandboxed)', kind: 'host', env: engineEnv, spec: { sandbox: 'on', env: { SHELL: '/bin/bash' } } },
  { label: 'host (unconfined)', kind: 'host', env: engineEnv, spec: { sandbox: 'off', env: { SHELL: '/bin/bash' } } },
  { label: 'apple 1.2.2 (double)', kind: 'apple', env: () => appleDoubleEnv('1.2.2'), spec: { image: TEST_IMAGE } },
];

async function openBerth(kind: RuntimeKind, env: NodeJS.ProcessEnv, scratch: string): Promise<Berth> {
  const home = join(scratch, 'home');
  const runtime = await createRuntime(kind, { home, env, startSystem: true });
  return new Berth(runtime, { kind, source: 'flag', reports: [] }, { home, owner: installationId(home), env, userHome: join(scratch, 'user'), store: Store.open(home) });
}

describe.each(targets)('$label: berth.pty', ({ kind, env, spec }) => {
  const token = randomUUID().slice(0, 8);
  const id = `pty-${token}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-pty-'));
  const root = join(scratch, 'project');
  mkdirSync(root);
  let berth: Berth;
  const open: PtyHandle[] = [];
  const pty = async (options: Parameters<Berth['pty']>[1]): Promise<PtyHandle> => {
    const handle = await berth.pty(id, options);
    open.push(handle);
    return handle;
  };

  /** Processes in the workspace whose command line holds `needle` (read from /proc, not ps). */
  const running = async (needle: string): Promise<string[]> => {
    if (kind === 'host') return hostProcesses(needle);
    const script = `for d in /proc/[0-9]*; do c=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null); case "$c" in *"$1"*) echo "\${d#/proc/} $c";; esac; done`;
    const { stdout } = await berth.runtime.exec(containerNameFor(id), ['sh', '-c', script, 'sh', needle]);
    return stdout.split('\n').filter((line) => line !== '' && !line.includes('/proc/[0-9]'));
  };

  beforeAll(async () => {
    berth = await openBerth(kind, env(), scratch);
    await berth.up(id, { root, ...spec });
  });

  afterAll(async () => {
    for (const handle of open) await handle.kill('SIGKILL').catch(() => undefined);
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('echoes what is typed and runs it', async () => {
    const terminal = await pty({ cols: 80, rows: 24 });
    const seen = screen(terminal);
    terminal.write(`echo typed-${token}-$((6*7))\r`);
    // The terminal's echo of the typed line, then the command's output.
    await seen.until(new RegExp(`echo typed-${token}-\\$\\(\\(6\\*7\\)\\)`), 'the typed line echoed');
    await seen.until(new RegExp(`[\\r\\n]typed-${token}-42\\r?\n`), 'the command output');
  });

  it('`stty size` shows the size given at start, and the new one after resize()', async () => {
    const terminal = await pty({ cols: 91, rows: 29, command: ['sh'] });
    const seen = screen(terminal);
    terminal.write('stty size; echo size-$((1+1))\r');
    await seen.until(/29 91\r?\n(.*\n)*?size-2/, 'the start size');
    await terminal.resize(117, 43);
    // Through an engine CLI (Apple's `container exec -t`, the double's podman) the new size reaches
    // the workspace when the CLI has forwarded its SIGWINCH: a command typed at once may still see
    // the old one. Asked again until the new size shows, within the deadline.
    await waitFor(
      async () => {
        terminal.write('stty size; echo size-$((2+1))\r');
        return seen.until(/43 117\r?\n(.*\n)*?size-3/, 'the new size', 1_000).catch(() => null);
      },
      { timeout: 20_000, interval: 100, message: 'the new size' },
    );
  });

  it('the default command is the workspace\'s shell with its profile', async () => {
    const terminal = await pty({ cols: 80, rows: 24 });
    const seen = screen(terminal);
    if (kind === 'host') {
      // Host mode: the user's $SHELL as a login shell (it reads their login profile).
      terminal.write('shopt -q login_shell && echo "login=yes-$((40+2))"\r');
      await seen.until(/login=yes-42/, 'a login shell');
    } else {
      // The profile Berth writes exports BERTH_WORKSPACE, goes to /workspace and sets the prompt.
      terminal.write('echo "ws=$BERTH_WORKSPACE cwd=$(pwd)"\r');
      await seen.until(new RegExp(`ws=${id} cwd=/workspace`), 'the profile to have run');
      expect(seen.text()).toContain(`[${id}]`);
    }
  });

  it('kill() ends the terminal\'s processes inside the workspace, and wait() resolves', async () => {
    const marker = `4${String(Date.now() % 100_000).padStart(5, '0')}`;
    const terminal = await pty({ cols: 80, rows: 24 });
    // A child in the background and one in the foreground: both must go.
    terminal.write(`sleep ${marker}1 & sleep ${marker}2\r`);
    await waitFor(async () => (await running(`sleep ${marker}`)).length === 2, { timeout: 20_000, interval: 100, message: 'both sleeps to run' });
    await terminal.kill();
    expect(await running(`sleep ${marker}`)).toEqual([]);
    const { exitCode } = await terminal.wait();
    expect(exitCode).not.toBe(0);
  });

  it('wait() gives the exit code: of a command, and of a shell told to exit', async () => {
    const command = await pty({ cols: 80, rows: 24, command: ['sh', '-c', 'exit 7'] });
    expect(await command.wait()).toEqual({ exitCode: 7 });
    const shell = await pty({ cols: 80, rows: 24 });
    shell.write('exit 3\r');
    expect(await shell.wait()).toEqual({ exitCode: 3 });
    // dash (the images' and this machine's sh) with job control: sandboxed, its terminal's first
    // process group lies outside its process namespace, and without a leader dash failed to hand
    // the terminal back at exit ("Cannot set tty process group") and exited 2 whatever it was told.
    const dash = await pty({ cols: 80, rows: 24, command: ['sh', '-i'] });
    const seen = screen(dash);
    dash.write('sleep 30 & jobs; echo "jobs=$((1+1))"\r');
    await seen.until(/Running\s+sleep 30[\s\S]*jobs=2/, 'job control in sh -i');
    dash.write('kill %1; exit 4\r');
    expect(await dash.wait()).toEqual({ exitCode: 4 });
    expect(seen.text()).not.toContain('Cannot set tty process group');
  });

  it('cwd and env reach the command; a bad size is refused before anything starts', async () => {
    const terminal = await pty({ cols: 80, rows: 24, cwd: '/tmp', env: { PTY_VALUE: `v-${token}` }, command: ['sh', '-c', 'echo "at=$(pwd) v=$PTY_VALUE"'] });
    const seen = screen(terminal);
    await seen.until(new RegExp(`at=/tmp v=v-${token}`), 'cwd and env');
    expect(await terminal.wait()).toEqual({ exitCode: 0 });
    await expect(berth.pty(id, { cols: 0, rows: 24 })).rejects.toMatchObject({ code: 'E_INVALID_INPUT' });
  });
});

/**
 * On Apple container with egress rules a firewall in the guest enforces them, and every command
 * Berth starts there runs behind the fence (no CAP_NET_ADMIN): the terminal too, or a user could
 * type the firewall away.
 */
describe('apple 1.2.2 (double) with egress rules: the terminal is behind the exec fence', () => {
  const token = randomUUID().slice(0, 8);
  const id = `pty-fw-${token}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-pty-fw-'));
  const root = join(scratch, 'project');
  mkdirSync(root);
  let berth: Berth;

  beforeAll(async () => {
    berth = await openBerth('apple', appleDoubleEnv('1.2.2'), scratch);
    await berth.up(id, { root, image: TEST_IMAGE, egress: { allow: ['registry.example.test'] } });
  });

  afterAll(async () => {
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('root in the terminal cannot flush the firewall; its bounding set lacks CAP_NET_ADMIN', async () => {
    const name = containerNameFor(id);
    const unfenced = (await berth.runtime.exec(name, ['sh', '-c', 'grep CapBnd /proc/self/status'])).stdout.trim();
    const terminal = await berth.pty(id, { cols: 120, rows: 24 });
    const seen = screen(terminal);
    terminal.write('id -u; grep CapBnd /proc/self/status; iptables -w -F OUTPUT; echo "rc=$?"\r');
    const [, rc] = await seen.until(/\nrc=(\d+)/, 'the flush to answer');
    expect(rc).not.toBe('0');
    const bounding = /CapBnd:\s+([0-9a-f]+)/.exec(seen.text())?.[1];
    expect(bounding).toBeDefined();
    expect(unfenced).toMatch(/CapBnd:\s+[0-9a-f]+/);
    expect(unfenced).not.toContain(bounding);
    // The rules as the main process set them are still there.
    expect((await berth.runtime.exec(name, ['iptables', '-w', '-S', 'OUTPUT'])).stdout).toContain('-P OUTPUT DROP');
    terminal.write('exit 0\r');
    expect(await terminal.wait()).toEqual({ exitCode: 0 });
  });
});

/** `berth shell` on a terminal is a thin user of berth.pty: raw keys in, the window's size followed. */
describe.each([targets[0]!, targets[4]!])('$label: `berth shell` on a terminal', ({ kind, env, spec }) => {
  const token = randomUUID().slice(0, 8);
  const id = `pty-cli-${token}`;
  const scratch = mkdtempSync(join(tmpdir(), 'berth-pty-cli-'));
  const root = join(scratch, 'project');
  mkdirSync(root);
  const runtimeEnv = env();
  let berth: Berth;

  beforeAll(async () => {
    berth = await openBerth(kind, runtimeEnv, scratch);
    await berth.up(id, { root, ...spec });
  });

  afterAll(async () => {
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('follows the window size, passes keys through, and exits with the shell\'s code', async () => {
    const cliEnv = { ...runtimeEnv, BERTH_HOME: join(scratch, 'home'), BERTH_RUNTIME: kind, BERTH_NO_DAEMON: '1', TERM: 'xterm-256color' };
    const outer = await spawnOnPty([process.execPath, '--import', 'tsx', join(import.meta.dirname, '../../src/cli/main.ts'), 'shell', id], { cols: 90, rows: 30, env: cliEnv });
    let text = '';
    outer.onData((data) => (text += data.toString('utf8')));
    const exited = new Promise<number>((resolve) => outer.onExit(resolve));
    const until = (pattern: RegExp, message: string) => waitFor(() => seenIn(text, pattern), { timeout: 30_000, interval: 20, message });
    try {
      await until(new RegExp(`\\[${id}\\]`), 'the workspace prompt');
      outer.write('stty size; echo "ws=$BERTH_WORKSPACE"\r');
      await until(new RegExp(`30 90\\s+ws=${id}`), 'the start size');
      outer.resize(100, 40);
      // SIGWINCH reaches berth, which resizes the workspace terminal; poll until it has.
      await waitFor(
        async () => {
          text = '';
          outer.write('stty size\r');
          return waitFor(() => /40 100/.exec(text), { timeout: 1_000, interval: 20, message: 'the new size' }).catch(() => null);
        },
        { timeout: 20_000, interval: 100, message: `the new size (seen: ${JSON.stringify(text.slice(-200))})` },
      );
      // Ctrl-C goes to the workspace (raw mode), not to berth: the shell survives it.
      // Once the command runs (its first line printed), not while readline still has the line.
      outer.write('echo "running-$((2*3))"; sleep 600\r');
      await until(/running-6/, 'the command running');
      outer.write('\x03');
      // Ctrl-C flushes what was typed ahead: type on once the prompt is back.
      await until(new RegExp(`\\^C[\\s\\S]*\\[${id}\\] /workspace # $`), 'the prompt after Ctrl-C');
      outer.write('echo "alive-$((2*21))"\r');
      await until(/alive-42/, 'the shell after Ctrl-C');
      outer.write('exit 5\r');
      expect(await exited).toBe(5);
    } finally {
      outer.kill('SIGKILL');
    }
  });
});
