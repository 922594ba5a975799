/**
 * Keystroke echo round trip in a workspace terminal: Berth's (workspace/pty.ts, the engine's TTY exec
 * over its API socket, what `berth.pty()` and `berth shell` use) against the raw baseline a caller
 * would otherwise write, `<engine> exec -it <container> sh` under a pseudo-terminal (node-pty).
 *
 * For each engine one container is created and both terminals are opened on it, both running `sh`
 * (no profile: the same program on each side), whose terminal is told `stty olcuc`: it echoes a typed
 * lowercase letter in uppercase, so an echo that comes back uppercase came from the container's
 * terminal, not from the pseudo-terminal on this side. A round trip is one typed letter until its
 * echo arrives back; raw and Berth alternate within every
 * iteration and swap order each iteration. The container is force-removed afterwards, on error or
 * Ctrl-C too.
 *
 * Usage: npx tsx bench/pty.ts [--iterations 200] [--warmup 20] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { spawnOnPty } from '../src/process/pty.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { openPty } from '../src/workspace/pty.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, commandLine, fmt, headerLine, iterate, median, pair, percentile, removeRunContainers, runBenchmark, verdict, type Sides } from './support.js';

const TARGET_MS = 5;
const ECHO_TIMEOUT_MS = 10_000;

interface Row extends Sides<number> {
  engine: OciKind;
}

/** A terminal as the bench drives it: type one character, resolve when it has come back. */
interface Typist {
  type(char: string): Promise<number>;
  close(): Promise<void>;
}

function typist(write: (data: string) => void, subscribe: (cb: (data: Buffer) => void) => void, close: () => Promise<void>): Typist {
  let waiting: { char: string; resolve: () => void } | null = null;
  subscribe((data) => {
    if (waiting !== null && data.includes(waiting.char.toUpperCase())) {
      const { resolve } = waiting;
      waiting = null;
      resolve();
    }
  });
  return {
    type: (char) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no echo of "${char}" within ${String(ECHO_TIMEOUT_MS)} ms`)), ECHO_TIMEOUT_MS);
        const start = performance.now();
        waiting = {
          char,
          resolve: () => {
            clearTimeout(timer);
            resolve(performance.now() - start);
          },
        };
        write(char);
      }),
    close,
  };
}

/** Waits until the container's terminal echoes what is typed in uppercase: the shell is up and has run `stty olcuc`. */
async function ready(terminal: Typist, write: (data: string) => void): Promise<void> {
  write('stty olcuc\n');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await terminal.type('r');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const runtime = new OciRuntime(kind, { env });
  const token = `berth-bench-pty-${randomUUID().slice(0, 8)}`;
  const name = `${token}-${kind}`;
  const row: Row = { engine: kind, raw: [], berth: [] };
  const opened: Typist[] = [];
  try {
    await runtime.create({ name, image: TEST_IMAGE, command: ['sleep', 'infinity'], init: true, labels: {} }, { start: true });
    const rawPty = await spawnOnPty([runtime.binary, 'exec', '-it', name, 'sh'], { cols: 200, rows: 50, env: { ...env, TERM: 'xterm-256color' } });
    const exited = new Promise<void>((resolve) => rawPty.onExit(() => resolve()));
    const raw = typist(
      (data) => rawPty.write(data),
      (cb) => rawPty.onData(cb),
      async () => {
        rawPty.kill('SIGKILL');
        await exited;
      },
    );
    opened.push(raw);
    const handle = await openPty(runtime, name, ['sh'], { cols: 200, rows: 50 });
    const berth = typist(
      (data) => handle.write(data),
      (cb) => void handle.onData(cb),
      () => handle.kill('SIGKILL'),
    );
    opened.push(berth);
    await ready(raw, (data) => rawPty.write(data));
    await ready(berth, (data) => handle.write(data));
    const letters = 'abcdefghijklmnopqstuvwxyz';
    await iterate(iterations, warmup, async ({ index, record, rawFirst }) => {
      // A different letter each time (no stale echo can answer), a fresh line now and then (canonical mode holds 4095).
      const char = letters[(index + warmup) % letters.length] ?? 'a';
      if ((index + warmup) % 1000 === 999) for (const t of [raw, berth]) await t.type('\n');
      await pair(row, record, rawFirst, () => raw.type(char), () => berth.type(char), checkInterrupted);
    });
  } finally {
    for (const terminal of opened) await terminal.close().catch(() => undefined);
    await removeRunContainers(kind, runtime.binary, env, token, [name]);
  }
  return [row];
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines = [
    headerLine('Berth PTY keystroke echo', iterations, warmup),
    '',
    `\`${commandLine()}\``,
    '',
    '| engine | raw `exec -it` under a pty, median ms | berth.pty, median ms | difference ms | raw p90 | berth p90 |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const difference = median(row.berth) - median(row.raw);
    lines.push(`| ${row.engine} | ${fmt(median(row.raw), 2)} | ${fmt(median(row.berth), 2)} | ${fmt(difference, 2)} | ${fmt(percentile(row.raw, 0.9), 2)} | ${fmt(percentile(row.berth, 0.9), 2)} |`);
  }
  lines.push('', `Target: berth.pty's echo round trip within ${String(TARGET_MS)} ms of the raw CLI's (median)`);
  for (const row of rows) {
    const difference = median(row.berth) - median(row.raw);
    lines.push(`- ${row.engine}: ${fmt(difference, 2)} ms: ${verdict(difference <= TARGET_MS)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark<Row>({
  defaults: { iterations: 200, warmup: 20 },
  cleanup: 'closing the terminals and removing the container',
  benchEngine,
  report,
});
