/**
 * What one reconcile cycle costs as the number of declared workspaces grows, and what the planner
 * alone costs for 1000 of them.
 *
 * For each engine and each size (BERTH_BENCH_SIZES, default 10, 50, then 200 declared workspaces, grown in place), the run
 * first converges (one cycle creates the new workspaces, timed once), then times converged cycles,
 * interleaved with two raw baselines:
 *   berth cycle:  Reconciler.runOnce(): re-read the manifest, budget, observe, plan, decide, nothing to fix
 *   raw list:     execFile(bin, ['ps', '--all', '--quiet', '--no-trunc', '--filter', 'name=^/?berth-'])
 *                 + execFile(bin, ['container', 'inspect', ...ids])   (the floor of Berth's one list)
 *   naive:        execFile(bin, ['container', 'inspect', name]) once per declared workspace
 *                 (what observing one container at a time would cost)
 * The cycle runs over a Runtime wrapped in a Proxy that counts every method call, i.e. every engine
 * call: the table prints them, and the target is one `list` per cycle whatever the size.
 * Then `plan()` alone over 1000 generated workspaces (some stopped, missing or drifted), target < 50 ms.
 *
 * Every container carries a per-run token in its name and is force-removed at the end, on error or
 * Ctrl-C too; the temporary BERTH_HOME and project folder go as well.
 *
 * Usage: [BERTH_BENCH_SIZES=10,50,200] npx tsx bench/reconcile.ts [--iterations 5] [--warmup 1] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { plan, type DesiredWorkspace, type ObservedWorkspace } from '../src/orchestrator/plan.js';
import { Reconciler } from '../src/orchestrator/reconcile.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { containerNameFor } from '../src/workspace/workspace-id.js';
import type { EngineCall } from '../test/support/counting-runtime.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, execFileAsync, fmt, headerLine, iterate, median, percentile, removeRunContainers, rotated, runBenchmark, timed, verdict } from './support.js';
import { scratchBerth } from './scratch-berth.js';

/** BERTH_BENCH_SIZES=20,100,200 for issue 17's scale curve (default 10,50,200: issue 7's table). */
const SIZES = (process.env['BERTH_BENCH_SIZES'] ?? '10,50,200').split(',').map(Number).filter((n) => n > 0);
const PLANNER_SIZE = 1000;
const PLANNER_ITERATIONS = 50;
const TARGET_LIST_CALLS = 1;
const TARGET_PLANNER_MS = 50;

interface Row {
  engine: OciKind;
  size: number;
  /** The cycle that created this size's new workspaces (once). */
  convergeMs: number;
  convergeCalls: EngineCall[];
  berth: { ms: number; calls: EngineCall[] }[];
  rawList: number[];
  naive: number[];
  planner: number[];
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const inner = new OciRuntime(kind, { env });
  const bin = inner.binary;
  const token = randomUUID().slice(0, 8);
  const run = scratchBerth(kind, inner, env, 'reconcile');
  const { berth, calls, scratch, root } = run;
  const manifest = join(scratch, 'berth.yaml');
  const ids = (size: number): string[] => Array.from({ length: size }, (_, i) => `rb-${token}-${String(i).padStart(3, '0')}`);
  const reconciler = new Reconciler({ manifest, open: () => Promise.resolve(berth), env: {} });
  const engine = (args: string[]): Promise<{ stdout: string }> => execFileAsync(bin, args, { env, maxBuffer: 64 * 1024 * 1024 });
  const rows: Row[] = [];
  try {
    for (const size of SIZES) {
      checkInterrupted();
      writeFileSync(manifest, `version: 1\nworkspaces:\n${ids(size).map((id) => `  ${id}:\n    root: ${root}\n    image: ${TEST_IMAGE}\n`).join('')}`);
      calls.length = 0;
      const converge = performance.now();
      const first = await reconciler.runOnce();
      const convergeMs = performance.now() - converge;
      const failed = first.error?.message ?? first.findings.find((f) => f.outcome === 'failed')?.error;
      if (failed !== undefined) throw new Error(`${kind}: converging ${String(size)} workspaces failed: ${failed}`);
      const row: Row = { engine: kind, size, convergeMs, convergeCalls: [...calls], berth: [], rawList: [], naive: [], planner: [] };
      const sides: Record<'berth' | 'raw' | 'naive', (record: boolean) => Promise<void>> = {
        berth: async (record) => {
          calls.length = 0;
          let report: Awaited<ReturnType<Reconciler['runOnce']>> | undefined;
          const ms = await timed(async () => (report = await reconciler.runOnce()));
          if (report?.findings.length !== 0 || report.error !== null) throw new Error(`${kind}: a converged cycle found ${JSON.stringify(report?.findings ?? report?.error)}`);
          if (record) row.berth.push({ ms, calls: [...calls] });
        },
        raw: async (record) => {
          const ms = await timed(async () => {
            const listed = (await engine(['ps', '--all', '--quiet', '--no-trunc', '--filter', 'name=^/?berth-'])).stdout.split('\n').filter((id) => id !== '');
            await engine(['container', 'inspect', ...listed]);
          });
          if (record) row.rawList.push(ms);
        },
        naive: async (record) => {
          const ms = await timed(async () => {
            for (const id of ids(size)) await engine(['container', 'inspect', containerNameFor(id)]);
          });
          if (record) row.naive.push(ms);
        },
      };
      await iterate(iterations, warmup, async ({ index, record }) => {
        for (const side of rotated(['berth', 'raw', 'naive'] as const, index)) {
          await sides[side](record);
          checkInterrupted();
        }
      });
      rows.push(row);
    }
    // The planner alone: pure, so the engine does not matter; measured in each engine's run for stability.
    const last = rows.at(-1);
    if (last) last.planner = measurePlanner();
  } finally {
    await removeRunContainers(kind, bin, env, token, ids(Math.max(...SIZES)).map(containerNameFor));
    run.dispose();
  }
  return rows;
}

/** plan() over 1000 declared workspaces: 900 converged, 40 stopped, 30 missing, 30 drifted, 2 dev servers each. */
function measurePlanner(): number[] {
  const desired: DesiredWorkspace[] = [];
  const observed: ObservedWorkspace[] = [];
  for (let i = 0; i < PLANNER_SIZE; i++) {
    const id = `ws-${String(i).padStart(4, '0')}`;
    const devServers = [
      { name: 'api', command: ['node', 'server.js'] },
      { name: 'web', command: ['npm', 'run', 'dev'] },
    ];
    const egress = i % 3 === 0 ? { allow: ['registry.npmjs.org', '*.github.com'], deny: [] } : null;
    desired.push({ id, specHash: `h-${id}`, specParts: 'image:a,mounts:b,env:c,resources:d,ports:e,network:f', egress, devServers });
    if (i % 33 === 1) continue; // missing
    observed.push({
      id,
      container: { state: i % 25 === 2 ? 'stopped' : 'running', specHash: i % 33 === 3 ? 'old' : `h-${id}`, specParts: 'image:a,mounts:b,env:x,resources:d,ports:e,network:f', ours: true },
      ledgered: true,
      egress,
      devServers: devServers.map((d) => ({ ...d, live: true })),
    });
  }
  const times: number[] = [];
  for (let i = -5; i < PLANNER_ITERATIONS; i++) {
    const start = performance.now();
    const result = plan(desired, observed);
    const ms = performance.now() - start;
    if (result.actions.length === 0) throw new Error('the planner benchmark world should need actions');
    if (i >= 0) times.push(ms);
  }
  return times;
}

function callSummary(calls: readonly EngineCall[]): string {
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([method, n]) => `${method} ${String(n)}`).join(', ');
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines: string[] = [];
  lines.push(`${headerLine('Berth reconcile cycle', iterations, warmup)}, image ${TEST_IMAGE}`);
  lines.push('');
  lines.push('| engine | declared | berth cycle median ms | p90 | engine calls per cycle (berth) | of which list ms | in-process ms | raw list median ms | naive inspect-each median ms | converge from previous size ms (calls) |');
  lines.push('|---|---:|---:|---:|---|---:|---:|---:|---:|---|');
  for (const row of rows) {
    const berth = row.berth.map((m) => m.ms);
    const list = median(row.berth.map((m) => m.calls.filter((c) => c.method === 'list').reduce((sum, c) => sum + c.ms, 0)));
    const own = median(row.berth.map((m) => m.ms - m.calls.reduce((sum, c) => sum + c.ms, 0)));
    lines.push(
      `| ${row.engine} | ${String(row.size)} | ${fmt(median(berth))} | ${fmt(percentile(berth, 0.9))} | ${callSummary(row.berth[0]?.calls ?? [])} | ${fmt(list)} | ${fmt(own)} | ` +
        `${fmt(median(row.rawList))} | ${fmt(median(row.naive))} | ${fmt(row.convergeMs, 0)} (${callSummary(row.convergeCalls)}) |`,
    );
  }
  lines.push('');
  lines.push(`Planner alone, ${String(PLANNER_SIZE)} declared workspaces (2 dev servers each, 1 in 3 with egress; 30 missing, 40 stopped, 30 drifted), ${String(PLANNER_ITERATIONS)} runs (+5 warm-up):`);
  lines.push('');
  lines.push('| measured in | median ms | p90 ms | max ms |');
  lines.push('|---|---:|---:|---:|');
  for (const row of rows.filter((r) => r.planner.length > 0)) {
    lines.push(`| ${row.engine} run | ${fmt(median(row.planner), 2)} | ${fmt(percentile(row.planner, 0.9), 2)} | ${fmt(Math.max(...row.planner), 2)} |`);
  }
  lines.push('');
  lines.push('Targets:');
  for (const row of rows) {
    const most = Math.max(...row.berth.map((m) => m.calls.filter((c) => c.method === 'list').length));
    const inspects = Math.max(...row.berth.map((m) => m.calls.filter((c) => c.method === 'inspect').length));
    lines.push(`- ${row.engine} ${String(row.size)} declared: ${String(most)} list call(s) per cycle <= ${String(TARGET_LIST_CALLS)}, ${String(inspects)} inspect(s): ${verdict(most <= TARGET_LIST_CALLS && inspects === 0)}`);
  }
  for (const row of rows.filter((r) => r.planner.length > 0)) {
    const p90 = percentile(row.planner, 0.9);
    lines.push(`- planner, ${String(PLANNER_SIZE)} workspaces (${row.engine} run): p90 ${fmt(p90, 2)} ms < ${String(TARGET_PLANNER_MS)} ms: ${verdict(p90 < TARGET_PLANNER_MS)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark<Row>({ defaults: { iterations: 5, warmup: 1 }, cleanup: 'removing the containers', benchEngine, report });
