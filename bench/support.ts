/**
 * What the benchmark scripts share: their command line, Ctrl-C handling, the interleaved raw-vs-Berth
 * loop, statistics, formatting, and the script runner with its exit codes.
 */
// eslint-disable-next-line no-restricted-imports -- the raw baseline being measured
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import type { OciKind } from '../src/runtime/oci/oci-runtime.js';

/** execFile as a caller would use it by hand: the raw baseline Berth is measured against. */
export const execFileAsync = promisify(execFile);

/** The engines a benchmark can run on, in the default order of --engines. */
const ENGINES: readonly OciKind[] = ['podman', 'docker'];

/** What the command line chose: how many recorded and warm-up iterations, on which engines. */
export interface BenchOptions {
  iterations: number;
  warmup: number;
  engines: OciKind[];
}

/** Reads --iterations, --warmup and --engines (each script has its own defaults); throws on anything else. */
export function parseOptions(defaults: { iterations: number; warmup: number }): BenchOptions {
  const { iterations, warmup, values } = parseCounts(defaults, { engines: ENGINES.join(',') });
  const engines: OciKind[] = [];
  for (const part of (values['engines'] ?? '').split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const kind = ENGINES.find((engine) => engine === name);
    if (kind === undefined) throw new Error(`--engines: unknown engine "${name}"; choose from ${ENGINES.join(', ')}.`);
    if (!engines.includes(kind)) engines.push(kind);
  }
  if (engines.length === 0) throw new Error('--engines: name at least one engine.');
  return { iterations, warmup, engines };
}

/** Reads --iterations and --warmup plus the script's own string options (name → default); throws on anything else. */
function parseCounts(defaults: { iterations: number; warmup: number }, own: Readonly<Record<string, string>>): LocalOptions {
  const options: Record<string, { type: 'string'; default: string }> = {
    iterations: { type: 'string', default: String(defaults.iterations) },
    warmup: { type: 'string', default: String(defaults.warmup) },
  };
  for (const [name, value] of Object.entries(own)) options[name] = { type: 'string', default: value };
  const { values } = parseArgs({ options, strict: true, allowPositionals: false });
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) if (typeof value === 'string') text[name] = value;
  return {
    iterations: positiveInt('--iterations', text['iterations'] ?? '', 1),
    warmup: positiveInt('--warmup', text['warmup'] ?? '', 0),
    values: text,
  };
}

/** An option's text as an integer of at least `min`, or an error naming the flag. */
export function positiveInt(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${flag} must be an integer >= ${String(min)}, got "${text}".`);
  return value;
}

/** Thrown at a checkpoint once SIGINT or SIGTERM has arrived, so the run unwinds through its clean-up. */
class Interrupted extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}

/** The signal that asked the run to stop, once one has. */
let interruptedBy: NodeJS.Signals | undefined;

/** A checkpoint: throws Interrupted if the run has been asked to stop. */
export function checkInterrupted(): void {
  if (interruptedBy !== undefined) throw new Interrupted(interruptedBy);
}

/** On SIGINT or SIGTERM, notes the signal (for checkInterrupted) and says what happens next, once. */
function stopOnSignals(cleanup: string): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== undefined) return;
    interruptedBy = signal;
    process.stderr.write(`\n${signal}: stopping after the current call, then ${cleanup}...\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The exit code a shell gives a command stopped by the signal: 128 + its number. */
function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** Percentile with linear interpolation between closest ranks (p in 0..1). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * p;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] ?? Number.NaN;
  const high = sorted[upper] ?? Number.NaN;
  return low + (high - low) * (position - lower);
}

/** The 50th percentile. */
export const median = (values: readonly number[]): number => percentile(values, 0.5);

/** Milliseconds for a table cell: one decimal (or `digits`), or "-" where there is no value. */
export function fmt(ms: number, digits = 1): string {
  return Number.isNaN(ms) ? '-' : ms.toFixed(digits);
}

/** A target line's verdict. */
export function verdict(met: boolean): string {
  return met ? 'PASS' : 'FAIL';
}

/** The report's first line: what ran, when, how often, on which Node and machine, so runs can be compared. */
export function headerLine(title: string, iterations: number, warmup: number): string {
  const cpuList = cpus();
  const model = cpuList[0]?.model.trim() ?? 'unknown CPU';
  return (
    `${title}: ${new Date().toISOString()}, node ${process.version}, ${String(iterations)} iterations ` +
    `(+${String(warmup)} warm-up), ${String(cpuList.length)} cores, ${model}`
  );
}

/** How the script was started, to type again: `npx tsx bench/<script>.ts` and its arguments. */
export function commandLine(): string {
  const script = relative(process.cwd(), process.argv[1] ?? '') || (process.argv[1] ?? '?');
  return ['npx tsx', script, ...process.argv.slice(2)].join(' ');
}

/** Wall-clock milliseconds one call takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** One iteration of the loop: `index` counts up from -warmup, warm-up ones are not recorded, raw goes first on even ones. */
export interface Iteration {
  index: number;
  record: boolean;
  rawFirst: boolean;
}

/** Runs `warmup` unrecorded iterations, then `iterations` recorded ones, with a checkpoint before each. */
export async function iterate(iterations: number, warmup: number, body: (iteration: Iteration) => Promise<void>): Promise<void> {
  for (let index = -warmup; index < iterations; index++) {
    checkInterrupted();
    await body({ index, record: index >= 0, rawFirst: (index & 1) === 0 });
  }
}

/**
 * `items` rotated left by `index` (any integer): for comparisons of more than two sides, so that over
 * consecutive iterations each side goes first, and follows each other side, equally often.
 */
export function rotated<T>(items: readonly T[], index: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const by = ((index % n) + n) % n;
  return [...items.slice(by), ...items.slice(0, by)];
}

/** The raw and Berth results of one measurement, one entry per recorded iteration each. */
export interface Sides<T> {
  raw: T[];
  berth: T[];
}

/**
 * Runs the raw and Berth variants back to back, raw first when `rawFirst` (so drift on a busy
 * machine lands on both sides), keeps both results when `record`, and runs `checkpoint` after each.
 */
export async function pair<T>(
  sides: Sides<T>,
  record: boolean,
  rawFirst: boolean,
  raw: () => Promise<T>,
  berth: () => Promise<T>,
  checkpoint: () => void = () => undefined,
): Promise<void> {
  let r: T;
  let b: T;
  if (rawFirst) {
    r = await raw();
    checkpoint();
    b = await berth();
  } else {
    b = await berth();
    checkpoint();
    r = await raw();
  }
  if (record) {
    sides.raw.push(r);
    sides.berth.push(b);
  }
  checkpoint();
}

/** An error's message, for a one-line report. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Removes every container a run made: the names it knows of, then any other whose name holds the
 * run's token. Says what it removes; sets a failing exit code when something is left over.
 */
export async function removeRunContainers(kind: OciKind, bin: string, env: NodeJS.ProcessEnv, token: string, made: Iterable<string>): Promise<void> {
  const names = new Set(made);
  const leftOver = async (): Promise<string> =>
    (await execFileAsync(bin, ['ps', '--all', '--filter', `name=${token}`, '--format', '{{.Names}}'], { env })).stdout;
  try {
    for (const name of (await leftOver()).split('\n')) if (name.includes(token)) names.add(name.trim());
  } catch (error) {
    process.stderr.write(`${kind}: could not list containers: ${messageOf(error)}\n`);
    process.exitCode = 1;
  }
  if (names.size === 0) return;
  process.stderr.write(`${kind}: removing ${[...names].join(', ')}\n`);
  try {
    await execFileAsync(bin, ['rm', '--force', '--volumes', ...names], { env });
  } catch (error) {
    // "No such container" for one already gone is fine; anything left over is not.
    const stdout = await leftOver().catch(() => '?');
    if (stdout.trim() !== '') {
      process.stderr.write(`${kind}: could not remove ${stdout.trim()}: ${messageOf(error)}\n`);
      process.exitCode = 1;
    }
  }
}

/** A benchmark script: its defaults, what Ctrl-C leaves it to do, how it measures one engine, how it reports. */
export interface Benchmark<Row> {
  defaults: { iterations: number; warmup: number };
  /** What the run does once stopped, for the Ctrl-C message, e.g. "removing the container". */
  cleanup: string;
  /** Checked once the options parse, before the signal handlers and any engine (e.g. that the build is there). */
  preflight?: () => void;
  benchEngine: (kind: OciKind, iterations: number, warmup: number) => Promise<Row[]>;
  report: (rows: readonly Row[], iterations: number, warmup: number) => void;
}

/**
 * Runs a benchmark as a script: each engine in turn, then the report. Exits 0 whatever the numbers
 * say; 1 when anything failed, 130 or 143 when stopped by SIGINT or SIGTERM (then with no report).
 */
export function runBenchmark<Row>(bench: Benchmark<Row>): void {
  benchmarkMain(bench).catch((error: unknown) => {
    process.stderr.write(`${messageOf(error)}\n`);
    process.exitCode = 1;
  });
}

/** The body of runBenchmark; anything it throws (bad options, a failed preflight) is reported there. */
async function benchmarkMain<Row>(bench: Benchmark<Row>): Promise<void> {
  const { iterations, warmup, engines } = parseOptions(bench.defaults);
  bench.preflight?.();
  stopOnSignals(bench.cleanup);
  const { rows, failed } = await eachEngine(engines, (kind) => bench.benchEngine(kind, iterations, warmup));
  if (interruptedBy !== undefined) {
    process.exitCode = exitCodeFor(interruptedBy);
    return;
  }
  if (rows.length > 0) bench.report(rows, iterations, warmup);
  if (failed) process.exitCode = 1;
}

/** Runs each engine in turn, collecting rows: a failing engine is reported and the next one runs; a signal stops them all. */
async function eachEngine<Row>(engines: readonly OciKind[], run: (kind: OciKind) => Promise<Row[]>): Promise<{ rows: Row[]; failed: boolean }> {
  const rows: Row[] = [];
  let failed = false;
  for (const kind of engines) {
    try {
      rows.push(...(await run(kind)));
    } catch (error) {
      if (error instanceof Interrupted || interruptedBy !== undefined) break;
      failed = true;
      process.stderr.write(`${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    if (interruptedBy !== undefined) break;
  }
  return { rows, failed };
}

/** What a benchmark that drives no engine was given: its counts, and its own options as text (--name value). */
export interface LocalOptions {
  iterations: number;
  warmup: number;
  values: Record<string, string>;
}

/** A benchmark that drives no engine (loopback servers, in-process code): one run, then its report. */
export interface LocalBenchmark<Result> {
  defaults: { iterations: number; warmup: number };
  /** The script's own options besides --iterations and --warmup: name → default text. */
  options?: Readonly<Record<string, string>>;
  /** What the run does once stopped, for the Ctrl-C message, e.g. "stopping the servers". */
  cleanup: string;
  /** Checked once the options parse, before the signal handlers (e.g. that a tool is installed). */
  preflight?: (options: LocalOptions) => void;
  /** Measures; owns its clean-up (finally), and calls checkInterrupted() between steps. */
  run: (options: LocalOptions) => Promise<Result>;
  report: (result: Result, options: LocalOptions) => void;
}

/**
 * Runs a benchmark that needs no engine as a script, with the same contract as runBenchmark: exits 0
 * whatever the numbers say; 1 when anything failed, 130 or 143 when stopped by a signal (then with no report).
 */
export function runLocalBenchmark<Result>(bench: LocalBenchmark<Result>): void {
  localMain(bench).catch((error: unknown) => {
    if (interruptedBy !== undefined) {
      process.exitCode = exitCodeFor(interruptedBy);
      return;
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}

async function localMain<Result>(bench: LocalBenchmark<Result>): Promise<void> {
  const options = parseCounts(bench.defaults, bench.options ?? {});
  bench.preflight?.(options);
  stopOnSignals(bench.cleanup);
  const result = await bench.run(options);
  if (interruptedBy !== undefined) {
    process.exitCode = exitCodeFor(interruptedBy);
    return;
  }
  bench.report(result, options);
}
