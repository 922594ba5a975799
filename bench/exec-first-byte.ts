/**
 * Streamed exec's first-byte latency against the raw engine CLI (issue 18): how long after asking
 * for a command its first stdout byte reaches the caller.
 *
 * For each engine one container is created and started, then, interleaved in every iteration (the
 * side that goes first swaps each iteration, so drift on a busy machine lands on both):
 *   raw:   `<bin> exec name ...COMMAND` spawned (argv, no shell), time to its first stdout chunk
 *   berth: runtime.exec(name, COMMAND, { onStdout }), time to the first chunk (library, in-process;
 *          over the engine's API socket where it answers, as Berth.exec does)
 * Each side also waits for the command's end, so the two never overlap. The container is
 * force-removed afterwards, on error or Ctrl-C too.
 *
 * Usage: npx tsx bench/exec-first-byte.ts [--iterations 30] [--warmup 3] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { runStreaming } from '../src/process/index.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, fmt, headerLine, iterate, median, messageOf, pair, percentile, runBenchmark, verdict, type Sides } from './support.js';

/** Within this many ms of the raw CLI's first byte (median). */
const TARGET_MS = 5;
/** Prints at once, then lingers: the first byte is a moment of its own, before the end. */
const COMMAND = ['sh', '-c', 'echo first; sleep 0.05'];

interface Row extends Sides<number> {
  engine: OciKind;
  path: string;
}

/** ms from spawning the engine CLI (argv, no shell, as execFile does) to its first stdout chunk; resolves after it exits. */
async function rawFirstByte(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  let first: number | undefined;
  await runStreaming([bin, ...args], {
    env,
    onStdout: () => {
      first ??= performance.now() - started;
    },
  });
  if (first === undefined) throw new Error(`${bin} ${args.join(' ')} printed nothing`);
  return first;
}

/** ms from calling runtime.exec to its first onStdout chunk; resolves after the command ended. */
async function berthFirstByte(runtime: OciRuntime, name: string): Promise<number> {
  const started = performance.now();
  let first: number | undefined;
  const result = await runtime.exec(name, COMMAND, {
    onStdout: () => {
      first ??= performance.now() - started;
    },
  });
  if (result.exitCode !== 0 || first === undefined) throw new Error(`exec exited ${String(result.exitCode)} (${first === undefined ? 'no output' : 'output'})`);
  return first;
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const runtime = new OciRuntime(kind, { env });
  const name = `berth-bench-fb-${kind}-${randomUUID().slice(0, 8)}`;
  const sample: Sides<number> = { raw: [], berth: [] };
  const path = (await runtime.apiSocket()) === null ? `${kind} CLI` : 'API socket';
  process.stderr.write(`${kind}: creating ${name} from ${TEST_IMAGE} (Berth's exec goes over the ${path})\n`);
  try {
    checkInterrupted();
    await runtime.create({ name, image: TEST_IMAGE, command: ['sleep', 'infinity'], init: true, labels: { 'dev.berth.bench': '1' } }, { start: true });
    await iterate(iterations, warmup, async ({ index, record, rawFirst }) => {
      await pair(sample, record, rawFirst, () => rawFirstByte(runtime.binary, ['exec', name, ...COMMAND], env), () => berthFirstByte(runtime, name));
      if (record && (index + 1) % 10 === 0) process.stderr.write(`${kind}: ${String(index + 1)}/${String(iterations)}\n`);
    });
  } finally {
    process.stderr.write(`${kind}: removing ${name}\n`);
    await runtime.remove(name, { force: true }).catch((error: unknown) => {
      process.stderr.write(`${kind}: could not remove ${name}: ${messageOf(error)}\n`);
      process.exitCode = 1;
    });
  }
  return [{ engine: kind, path, ...sample }];
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines: string[] = [headerLine('Streamed exec first byte', iterations, warmup), ''];
  lines.push(`Command: ${COMMAND.join(' ')}; ms from the call to the first stdout chunk.`, '');
  lines.push("| engine | Berth's path | raw median | berth median | berth - raw | raw p90 | berth p90 |");
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const raw = median(row.raw);
    const berth = median(row.berth);
    lines.push(`| ${row.engine} | ${row.path} | ${fmt(raw)} | ${fmt(berth)} | ${fmt(berth - raw)} | ${fmt(percentile(row.raw, 0.9))} | ${fmt(percentile(row.berth, 0.9))} |`);
  }
  lines.push('', `Target: streamed exec's first byte within ${String(TARGET_MS)} ms of raw \`<engine> exec\` (median)`);
  for (const row of rows) {
    const delta = median(row.berth) - median(row.raw);
    lines.push(`- ${row.engine}: ${fmt(delta)} ms: ${verdict(delta <= TARGET_MS)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark({ defaults: { iterations: 30, warmup: 3 }, cleanup: 'removing the container', benchEngine, report });
