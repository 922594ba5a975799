/**
 * What Berth's workspace layer costs on top of the engine CLI calls a caller would otherwise make.
 *
 * For each engine, four scenarios are timed against a raw baseline, interleaved in one run:
 *   cold up:     berth.up(newId)              vs  execFile(bin, ['create', ...]) + execFile(bin, ['start', name])
 *                (a new workspace every iteration; both containers are removed outside the timed region)
 *   warm up:     berth.up(id) on a stopped one vs execFile(bin, ['start', name])   (stopped outside the timed region)
 *   hot ensure:  berth.up(id) on a running one vs execFile(bin, ['container', 'inspect', name])   ("one engine call")
 *   CLI exec:    node dist/cli/main.js exec <id> -- true  vs  execFile(bin, ['exec', name, 'true'])
 *                and, in the same iteration, a bare `node -e 0`: the floor any Node CLI pays, so the
 *                budget raw exec + node -e 0 + 15 ms (issue 14) is measured side by side in one run
 * plus `node dist/cli/main.js --version` (no engine call; loads the whole CLI) against the same raw exec.
 *
 * The library scenarios run Berth in-process, built like createBerth() builds it but over a Runtime
 * wrapped in a Proxy that counts (and times) every method call, i.e. every engine call. The CLI's
 * engine calls are counted once, untimed, through a logging shim named by BERTH_<ENGINE>_BIN.
 * Raw and Berth alternate within every iteration (and swap order each iteration), so drift on a busy
 * machine lands on both sides. Every container made carries a per-run token in its name and is
 * force-removed afterwards, on error or Ctrl-C too; the temporary BERTH_HOME and root go as well.
 *
 * Usage: npx tsx bench/workspace.ts [--iterations 15] [--warmup 2] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveExecutable } from '../src/process/index.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import type { EnsureAction } from '../src/workspace/ensure.js';
import { containerNameFor } from '../src/workspace/workspace-id.js';
import type { EngineCall } from '../test/support/counting-runtime.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, execFileAsync, fmt, headerLine, iterate, median, pair, percentile, runBenchmark, timed, verdict, type Sides, removeRunContainers } from './support.js';
import { scratchBerth } from './scratch-berth.js';

const BERTH_BIN = join(import.meta.dirname, '../dist/cli/main.js');
const TARGET_UP_RATIO = 1.1;
const TARGET_HOT_CALLS = 1;
/** What Berth's own code may add to a CLI exec, over a raw exec plus a bare Node start (issue 14). */
const EXEC_BUDGET_MS = 15;
const STOP_GRACE_SECONDS = 5;
/** The engine calls the breakdown table shows, in the order ensure() makes them. */
const BREAKDOWN_METHODS = ['observe', 'create', 'start', 'inspect'] as const;

type Scenario = 'cold up' | 'warm up' | 'hot ensure' | 'CLI exec' | 'CLI --version' | 'CLI exec, no extra CA' | 'CLI --version, no extra CA';
/**
 * NODE_EXTRA_CA_CERTS makes every Node process read and parse that bundle before running a line
 * of code (measured here: `node -e 0` 57 ms with this machine's setting, 21 ms without). When it
 * is set, the CLI rows are also measured without it, so the table separates Node's start-up tax
 * on this machine from what Berth's own code costs.
 */
const EXTRA_CA = process.env['NODE_EXTRA_CA_CERTS'];
const SCENARIOS: readonly Scenario[] = [
  'cold up',
  'warm up',
  'hot ensure',
  'CLI exec',
  'CLI --version',
  ...(EXTRA_CA ? (['CLI exec, no extra CA', 'CLI --version, no extra CA'] as const) : []),
];

/** One timed call: total milliseconds, plus the engine calls it made (name and milliseconds each). */
interface Measurement {
  ms: number;
  calls: EngineCall[];
}

interface Row extends Sides<Measurement> {
  engine: OciKind;
  scenario: Scenario;
  /** For the CLI rows, counted once through the shim (the Proxy cannot see into another process). */
  cliCalls?: string[] | undefined;
  /** For the CLI exec rows: `node -e 0` (same environment), timed in the same iterations. */
  nodeFloor: number[];
}

/** A sub-step of a raw baseline, timed like an engine call so the breakdown can compare like with like. */
async function step(calls: EngineCall[], method: string, fn: () => Promise<unknown>): Promise<void> {
  calls.push({ method, ms: await timed(fn) });
}

/** Times one call, with the engine calls it made: those the Proxy `counted`, or else the steps `fn` recorded. */
async function measure(fn: (calls: EngineCall[]) => Promise<void>, counted?: EngineCall[]): Promise<Measurement> {
  const own: EngineCall[] = [];
  if (counted) counted.length = 0;
  const ms = await timed(() => fn(own));
  return { ms, calls: counted ? [...counted] : own };
}

/** Measures one scenario's raw and Berth variants as a pair, with a Ctrl-C checkpoint after each. */
function measuredPair(
  row: Row,
  record: boolean,
  rawFirst: boolean,
  raw: (calls: EngineCall[]) => Promise<void>,
  berth: { run: () => Promise<void>; counted?: EngineCall[] | undefined },
): Promise<void> {
  return pair(row, record, rawFirst, () => measure(raw), () => measure(berth.run, berth.counted), checkInterrupted);
}

/**
 * A stand-in engine binary that logs its subcommand, then runs the real one: how many engine calls
 * one CLI invocation makes, seen from outside the process.
 */
function writeShim(dir: string, kind: OciKind, env: NodeJS.ProcessEnv): { path: string; log: string } {
  const real = resolveExecutable(kind, env);
  if (real === undefined) throw new Error(`${kind} is not on PATH.`);
  const path = join(dir, `${kind}-shim`);
  const log = join(dir, `${kind}-shim.log`);
  const quote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${quote(log)}\nexec ${quote(real)} "$@"\n`);
  chmodSync(path, 0o755);
  return { path, log };
}

/** How each engine's Berth side reached the engine, for the report. */
const transports = new Map<OciKind, string>();

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const inner = new OciRuntime(kind, { env });
  const bin = inner.binary;
  const socket = await inner.apiSocket();
  transports.set(kind, socket === null ? 'the CLI' : `the API socket ${socket}`);
  const token = randomUUID().slice(0, 8);
  const run = scratchBerth(kind, inner, env, 'ws');
  const { berth, calls, scratch, home, root } = run;
  writeFileSync(join(root, 'hello.txt'), 'hello from the host\n');
  const made = new Set<string>();
  const cliEnv: NodeJS.ProcessEnv = { ...env, BERTH_HOME: home, BERTH_RUNTIME: kind };
  const spec = { root, image: TEST_IMAGE };
  const rawArgs = (name: string): string[] => [
    'create',
    '--name',
    name,
    '--init',
    '--label',
    'dev.berth.managed=true',
    '--mount',
    `type=bind,source=${root},target=/workspace`,
    TEST_IMAGE,
    'tail',
    '-f',
    '/dev/null',
  ];
  const engine = async (args: string[]): Promise<string> => (await execFileAsync(bin, args, { env })).stdout;
  const expectAction = async (id: string, action: EnsureAction): Promise<void> => {
    const result = await berth.up(id, spec);
    if (result.action !== action) throw new Error(`${kind}: berth.up(${id}) ${result.action}, expected ${action}`);
  };
  const nodeEnv = (withoutExtraCa: boolean): NodeJS.ProcessEnv => (withoutExtraCa ? { ...cliEnv, NODE_EXTRA_CA_CERTS: undefined } : cliEnv);
  const cli = async (args: string[], withoutExtraCa = false): Promise<void> => {
    await execFileAsync(process.execPath, [BERTH_BIN, ...args], { env: nodeEnv(withoutExtraCa) });
  };
  const bareNode = (withoutExtraCa: boolean): Promise<number> => timed(() => execFileAsync(process.execPath, ['-e', '0'], { env: nodeEnv(withoutExtraCa) }));

  const rows = new Map<Scenario, Row>(SCENARIOS.map((scenario) => [scenario, { engine: kind, scenario, raw: [], berth: [], nodeFloor: [] }]));
  const row = (scenario: Scenario): Row => {
    const found = rows.get(scenario);
    if (!found) throw new Error(`no row for ${scenario}`);
    return found;
  };

  // The warm, hot and exec scenarios share one workspace and one raw container, made once up front.
  const wsId = `bench-${token}-w`;
  const wsName = containerNameFor(wsId);
  const rawName = `berth-bench-${token}-raw-w`;
  process.stderr.write(`${kind}: run ${token}, image ${TEST_IMAGE}, BERTH_HOME ${home}\n`);
  try {
    made.add(wsName);
    await expectAction(wsId, 'created');
    made.add(rawName);
    await engine(rawArgs(rawName));
    await engine(['start', rawName]);

    // The CLI's own engine calls, counted once (untimed) through the logging shim.
    const shim = writeShim(scratch, kind, env);
    const shimEnv = { ...cliEnv, [kind === 'docker' ? 'BERTH_DOCKER_BIN' : 'BERTH_PODMAN_BIN']: shim.path };
    const countCli = async (args: string[]): Promise<string[]> => {
      rmSync(shim.log, { force: true });
      await execFileAsync(process.execPath, [BERTH_BIN, ...args], { env: shimEnv });
      return existsSync(shim.log) ? readFileSync(shim.log, 'utf8').split('\n').filter((line) => line !== '') : [];
    };
    row('CLI exec').cliCalls = await countCli(['exec', wsId, '--', 'true']);
    row('CLI --version').cliCalls = await countCli(['--version']);
    if (EXTRA_CA) {
      row('CLI exec, no extra CA').cliCalls = row('CLI exec').cliCalls;
      row('CLI --version, no extra CA').cliCalls = row('CLI --version').cliCalls;
    }

    let coldSerial = 0;
    await iterate(iterations, warmup, async ({ index, record, rawFirst }) => {
      // 1. cold up: a new workspace (and a new raw container) every iteration.
      const coldId = `bench-${token}-c${String(coldSerial)}`;
      const coldRaw = `berth-bench-${token}-raw-c${String(coldSerial)}`;
      coldSerial++;
      made.add(containerNameFor(coldId));
      made.add(coldRaw);
      try {
        await measuredPair(
          row('cold up'),
          record,
          rawFirst,
          async (steps) => {
            await step(steps, 'create', () => engine(rawArgs(coldRaw)));
            await step(steps, 'start', () => engine(['start', coldRaw]));
          },
          { run: () => expectAction(coldId, 'created'), counted: calls },
        );
      } finally {
        // Through Berth, so its ledger closes the entry too. A failure leaves the name in `made`:
        // the final sweep removes it, or says it could not.
        await berth
          .remove(coldId)
          .catch(() => inner.remove(containerNameFor(coldId), { force: true }))
          .then(
            () => made.delete(containerNameFor(coldId)),
            () => undefined,
          );
        await engine(['rm', '--force', coldRaw]).then(
          () => made.delete(coldRaw),
          () => undefined,
        );
      }

      // 2. warm up: both stopped outside the timed region, then started.
      checkInterrupted();
      await inner.stop(wsName, { graceSeconds: STOP_GRACE_SECONDS });
      await engine(['stop', '--time', String(STOP_GRACE_SECONDS), rawName]);
      await measuredPair(
        row('warm up'),
        record,
        rawFirst,
        async (steps) => {
          await step(steps, 'start', () => engine(['start', rawName]));
        },
        { run: () => expectAction(wsId, 'started'), counted: calls },
      );

      // 3. hot ensure: running; Berth should need one engine call, the raw baseline is that one call.
      await measuredPair(
        row('hot ensure'),
        record,
        rawFirst,
        async (steps) => {
          await step(steps, 'inspect', () => engine(['container', 'inspect', rawName]));
        },
        { run: () => expectAction(wsId, 'reused'), counted: calls },
      );

      // 4. CLI exec, and the CLI's Node startup floor, both against a raw exec.
      const rawExec = async (steps: EngineCall[]): Promise<void> => {
        await step(steps, 'exec', () => engine(['exec', rawName, 'true']));
      };
      // The bare Node start goes first or last with the raw side, so all three share the drift.
      const execWithFloor = async (scenario: Scenario, withoutExtraCa: boolean): Promise<void> => {
        const floor = rawFirst ? await bareNode(withoutExtraCa) : undefined;
        await measuredPair(row(scenario), record, rawFirst, rawExec, { run: () => cli(['exec', wsId, '--', 'true'], withoutExtraCa) });
        const ms = floor ?? (await bareNode(withoutExtraCa));
        if (record) row(scenario).nodeFloor.push(ms);
      };
      await execWithFloor('CLI exec', false);
      await measuredPair(row('CLI --version'), record, rawFirst, rawExec, { run: () => cli(['--version']) });
      if (EXTRA_CA) {
        await execWithFloor('CLI exec, no extra CA', true);
        await measuredPair(row('CLI --version, no extra CA'), record, rawFirst, rawExec, { run: () => cli(['--version'], true) });
      }

      if (record && ((index + 1) % 5 === 0 || index + 1 === iterations)) process.stderr.write(`${kind}: ${String(index + 1)}/${String(iterations)}\n`);
    });
  } finally {
    await removeRunContainers(kind, bin, env, token, made);
    run.dispose();
  }
  return SCENARIOS.map(row);
}


function callCounts(row: Row): string {
  if (row.cliCalls !== undefined) return `${String(row.cliCalls.length)}${row.cliCalls.length > 0 ? ` (${row.cliCalls.join(', ')})` : ''}`;
  const counts = row.berth.map((m) => m.calls.length);
  const low = Math.min(...counts);
  const high = Math.max(...counts);
  const names = row.berth[0]?.calls.map((c) => c.method).join(', ') ?? '';
  return low === high ? `${String(low)} (${names})` : `${String(low)}-${String(high)}`;
}

/** Median of one engine call across iterations (the first call of that name in each), or NaN. */
function callMedian(measurements: readonly Measurement[], method: string): number {
  const values = measurements.flatMap((m) => m.calls.filter((c) => c.method === method).slice(0, 1).map((c) => c.ms));
  return values.length === 0 ? Number.NaN : median(values);
}

/** A CLI exec row's medians and its budget: raw exec + node -e 0 + EXEC_BUDGET_MS. */
function execBudget(row: Row): { raw: number; node: number; berth: number; budget: number } {
  const raw = median(row.raw.map((m) => m.ms));
  const node = median(row.nodeFloor);
  return { raw, node, berth: median(row.berth.map((m) => m.ms)), budget: raw + node + EXEC_BUDGET_MS };
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const ratio = (row: Row): number => median(row.berth.map((m) => m.ms)) / median(row.raw.map((m) => m.ms));
  const lines: string[] = [];
  lines.push(`${headerLine('Berth workspace overhead', iterations, warmup)}, image ${TEST_IMAGE}`);
  lines.push('');
  lines.push('| engine | scenario | raw median ms | berth median ms | ratio | raw p90 | berth p90 | engine calls (berth) |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    const raw = row.raw.map((m) => m.ms);
    const berth = row.berth.map((m) => m.ms);
    lines.push(
      `| ${row.engine} | ${row.scenario} | ${fmt(median(raw))} | ${fmt(median(berth))} | ${ratio(row).toFixed(3)} | ` +
        `${fmt(percentile(raw, 0.9))} | ${fmt(percentile(berth, 0.9))} | ${callCounts(row)} |`,
    );
  }
  lines.push('');
  lines.push(
    'Baselines: cold = create + start; warm = start; hot = container inspect; CLI exec and CLI --version = exec true ' +
      '(--version makes no engine call: its ratio is the share of a raw exec that Node startup alone costs).',
  );
  if (EXTRA_CA) {
    lines.push('');
    lines.push(`"no extra CA" rows: the same CLI without NODE_EXTRA_CA_CERTS (set here to ${EXTRA_CA}), which Node loads at every start before any of Berth's code runs.`);
  }
  lines.push('');
  lines.push(`Berth's hot-path calls (observe, inspect, start) used: ${rows.map((r) => r.engine).filter((e, i, all) => all.indexOf(e) === i).map((e) => `${e} ${transports.get(e) ?? 'CLI'}`).join(', ')}. Raw baselines always use the engine CLI.`);
  lines.push('');
  lines.push('Where the time goes (medians ms of each engine call inside the timed call; "other" = total minus its engine calls, in-process work):');
  lines.push('');
  lines.push(`| engine | scenario | side | total | ${BREAKDOWN_METHODS.join(' | ')} | exec | other |`);
  lines.push(`|---|---|---|---:|${BREAKDOWN_METHODS.map(() => '---:').join('|')}|---:|---:|`);
  for (const row of rows) {
    if (row.scenario.startsWith('CLI --version')) continue;
    for (const [side, measurements] of [
      ['raw', row.raw],
      ['berth', row.berth],
    ] as const) {
      const cells = [...BREAKDOWN_METHODS, 'exec'].map((method) => fmt(callMedian(measurements, method)));
      const other = median(measurements.map((m) => m.ms - m.calls.reduce((sum, c) => sum + c.ms, 0)));
      const otherCell = row.scenario.startsWith('CLI exec') && side === 'berth' ? `${fmt(other)} (whole CLI)` : fmt(other);
      lines.push(`| ${row.engine} | ${row.scenario} | ${side} | ${fmt(median(measurements.map((m) => m.ms)))} | ${cells.join(' | ')} | ${otherCell} |`);
    }
  }
  lines.push('');
  lines.push(`CLI exec against its floor (medians ms, measured in the same iterations): budget = raw exec + node -e 0 + ${String(EXEC_BUDGET_MS)} ms; "Berth's own" = berth exec - raw exec - node -e 0.`);
  lines.push('');
  lines.push("| engine | scenario | raw exec | node -e 0 | berth exec | budget | Berth's own |");
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const row of rows.filter((r) => r.scenario.startsWith('CLI exec'))) {
    const parts = execBudget(row);
    lines.push(`| ${row.engine} | ${row.scenario} | ${fmt(parts.raw)} | ${fmt(parts.node)} | ${fmt(parts.berth)} | ${fmt(parts.budget)} | ${fmt(parts.berth - parts.raw - parts.node)} |`);
  }
  lines.push('');
  lines.push('Targets:');
  for (const row of rows) {
    if (row.scenario === 'cold up' || row.scenario === 'warm up') {
      const r = ratio(row);
      lines.push(`- ${row.engine} ${row.scenario}: ratio ${r.toFixed(3)} <= ${TARGET_UP_RATIO.toFixed(2)}: ${verdict(r <= TARGET_UP_RATIO)}`);
    } else if (row.scenario === 'hot ensure') {
      const most = Math.max(...row.berth.map((m) => m.calls.length));
      lines.push(`- ${row.engine} hot ensure: at most ${String(most)} engine call(s) <= ${String(TARGET_HOT_CALLS)}: ${verdict(most <= TARGET_HOT_CALLS)}`);
    } else if (row.scenario.startsWith('CLI exec')) {
      const parts = execBudget(row);
      lines.push(`- ${row.engine} ${row.scenario}: ${fmt(parts.berth)} ms <= raw exec + node -e 0 + ${String(EXEC_BUDGET_MS)} = ${fmt(parts.budget)} ms: ${verdict(parts.berth <= parts.budget)}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark({
  defaults: { iterations: 15, warmup: 2 },
  cleanup: 'removing the containers',
  preflight: () => {
    if (!existsSync(BERTH_BIN)) throw new Error(`${BERTH_BIN} is missing: run \`npm run build\` first.`);
  },
  benchEngine,
  report,
});
