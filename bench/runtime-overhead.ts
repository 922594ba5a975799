/**
 * What the OCI adapter costs on top of the engine CLI it drives.
 *
 * For each engine, one container is created and started through the adapter, then two operations are
 * timed against the raw baseline a caller would otherwise write by hand:
 *   exec:    runtime.exec(name, ['true'])  vs  execFile(bin, ['exec', name, 'true'])
 *   inspect: runtime.inspect(name)          vs  execFile(bin, ['container', 'inspect', name]) + JSON.parse
 * Raw and adapter calls alternate within every iteration (and swap order each iteration), so drift on a
 * busy machine lands on both sides. The container is force-removed afterwards, on error or Ctrl-C too.
 *
 * Usage: npx tsx bench/runtime-overhead.ts [--iterations 40] [--warmup 5] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, execFileAsync, fmt, headerLine, iterate, median, messageOf, pair, percentile, runBenchmark, timed, verdict, type Sides } from './support.js';

const TARGET_RATIO = 1.05;

interface Row extends Sides<number> {
  engine: OciKind;
  operation: 'exec' | 'inspect';
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const runtime = new OciRuntime(kind, { env });
  const bin = runtime.binary;
  const name = `berth-bench-${kind}-${randomUUID().slice(0, 8)}`;
  const exec: Sides<number> = { raw: [], berth: [] };
  const inspect: Sides<number> = { raw: [], berth: [] };

  const rawExec = async (): Promise<void> => {
    await execFileAsync(bin, ['exec', name, 'true'], { env });
  };
  const berthExec = async (): Promise<void> => {
    const result = await runtime.exec(name, ['true']);
    if (result.exitCode !== 0) throw new Error(`${kind} exec true exited ${String(result.exitCode)}: ${result.stderr.trim()}`);
  };
  const rawInspect = async (): Promise<void> => {
    const { stdout } = await execFileAsync(bin, ['container', 'inspect', name], { env });
    const parsed: unknown = JSON.parse(stdout);
    if (!Array.isArray(parsed) || parsed.length !== 1) throw new Error(`${kind} container inspect printed no single record`);
  };
  const berthInspect = async (): Promise<void> => {
    const info = await runtime.inspect(name);
    if (info.state !== 'running') throw new Error(`${kind} container ${name} is ${info.state}, not running`);
  };

  process.stderr.write(`${kind}: creating ${name} from ${TEST_IMAGE}\n`);
  try {
    checkInterrupted();
    await runtime.create({
      name,
      image: TEST_IMAGE,
      command: ['sleep', 'infinity'],
      init: true,
      labels: { 'dev.berth.bench': '1' },
    });
    checkInterrupted();
    await runtime.start(name);
    await iterate(iterations, warmup, async ({ index, record, rawFirst }) => {
      // Each side timed alone; no checkpoint inside an iteration, so Ctrl-C lets the iteration finish.
      const timedPair = (sample: Sides<number>, raw: () => Promise<void>, berth: () => Promise<void>): Promise<void> =>
        pair(sample, record, rawFirst, () => timed(raw), () => timed(berth));
      // Alternate which side goes first, and which operation goes first, each iteration.
      if (rawFirst) {
        await timedPair(exec, rawExec, berthExec);
        await timedPair(inspect, rawInspect, berthInspect);
      } else {
        await timedPair(inspect, rawInspect, berthInspect);
        await timedPair(exec, rawExec, berthExec);
      }
      if (record && (index + 1) % 10 === 0) process.stderr.write(`${kind}: ${String(index + 1)}/${String(iterations)}\n`);
    });
  } finally {
    process.stderr.write(`${kind}: removing ${name}\n`);
    try {
      await runtime.remove(name, { force: true });
    } catch (error) {
      process.stderr.write(`${kind}: could not remove ${name}: ${messageOf(error)}\n`);
      process.exitCode = 1;
    }
  }
  return [
    { engine: kind, operation: 'exec', ...exec },
    { engine: kind, operation: 'inspect', ...inspect },
  ];
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines: string[] = [];
  lines.push(headerLine('Berth runtime overhead', iterations, warmup));
  lines.push('');
  lines.push('| engine | operation | raw median ms | berth median ms | ratio (berth/raw) | raw p90 | berth p90 |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const rawMedian = median(row.raw);
    const berthMedian = median(row.berth);
    lines.push(
      `| ${row.engine} | ${row.operation} | ${fmt(rawMedian)} | ${fmt(berthMedian)} | ${(berthMedian / rawMedian).toFixed(3)} | ` +
        `${fmt(percentile(row.raw, 0.9))} | ${fmt(percentile(row.berth, 0.9))} |`,
    );
  }
  lines.push('');
  lines.push(`Target: adapter exec within 5% of raw execFile (ratio <= ${TARGET_RATIO.toFixed(2)})`);
  for (const row of rows) {
    if (row.operation !== 'exec') continue;
    const ratio = median(row.berth) / median(row.raw);
    lines.push(`- ${row.engine} exec: ratio ${ratio.toFixed(3)}: ${verdict(ratio <= TARGET_RATIO)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark({ defaults: { iterations: 40, warmup: 5 }, cleanup: 'removing the container', benchEngine, report });
