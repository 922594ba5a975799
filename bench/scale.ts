/**
 * What work over many workspaces costs: converging N new workspaces one at a time (`--concurrency 1`)
 * vs at the default concurrency, side by side in one run, and a listing of 20 workspaces
 * (`GET /workspaces` on a real daemon, Berth.list in process over the engine socket and over the
 * CLI) vs one raw engine API list call.
 *
 *   converge serial:   planManifest + applyManifest(concurrency 1) of N new workspaces (what `berth apply --concurrency 1` does)
 *   converge default:  the same with the default concurrency (cores and the memory budget)
 *   GET /workspaces:   the built berthd on this run's home, through its unix socket
 *   Berth.list (API):  in process, one `GET /containers/json` on the engine socket (listBrief)
 *   Berth.list (CLI):  in process, the engine socket off: `ps` + `inspect` CLI processes (the old path)
 *   raw API list:      one `GET /containers/json?all=true` with the run's label filter, straight to the socket
 *
 * Serial and default runs alternate which goes first by size (12: serial first; 50: default first),
 * each on fresh workspace ids after a 2-workspace warm-up; each converged set is removed (untimed).
 * Every container carries a per-run token and is force-removed at the end, on error or Ctrl-C too.
 *
 * Usage: npm run build && [BERTH_BENCH_CONVERGE_SIZES=12,50] npx tsx bench/scale.ts [--engines podman,docker] [--iterations 10] [--warmup 2]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Berth } from '../src/berth.js';
import { defaultConcurrency } from '../src/orchestrator/concurrency.js';
import { memoryBudget } from '../src/orchestrator/budget.js';
import { applyManifest, planManifest } from '../src/orchestrator/plan-manifest.js';
import { EngineApi } from '../src/runtime/oci/engine-api.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { Store } from '../src/state/store.js';
import { installationId } from '../src/workspace/installation.js';
import { LABELS } from '../src/workspace/labels.js';
import { containerNameFor } from '../src/workspace/workspace-id.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { BERTHD_BIN, startDaemon } from '../test/support/daemon.js';
import { checkInterrupted, commandLine, fmt, headerLine, iterate, median, percentile, removeRunContainers, rotated, runBenchmark, timed, verdict } from './support.js';
import { scratchBerth } from './scratch-berth.js';

/** BERTH_BENCH_CONVERGE_SIZES=12 for a shorter run (default 12,50). */
const CONVERGE_SIZES = (process.env['BERTH_BENCH_CONVERGE_SIZES'] ?? '12,50').split(',').map(Number).filter((n) => n > 0);
const LIST_SIZE = 20;
const TARGET_RATIO_AT_12 = 0.75;
const TARGET_LIST_RATIO = 2;

interface Row {
  engine: OciKind;
  concurrency: number;
  converge: { size: number; serialMs: number; defaultMs: number }[];
  list: { daemon: number[]; api: number[]; cli: number[]; raw: number[] };
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const inner = new OciRuntime(kind, { env });
  const token = randomUUID().slice(0, 8);
  const run = scratchBerth(kind, inner, env, 'scale');
  const { berth, scratch, root, home } = run;
  const manifest = join(scratch, 'berth.yaml');
  const made = new Set<string>();
  let batch = 0;
  const freshIds = (size: number): string[] => {
    batch += 1;
    return Array.from({ length: size }, (_, i) => `sc-${token}-${String(batch)}-${String(i).padStart(2, '0')}`);
  };
  const write = (ids: readonly string[]): void => {
    for (const id of ids) made.add(containerNameFor(id));
    writeFileSync(manifest, `version: 1\nworkspaces:${ids.length === 0 ? ' {}' : ''}\n${ids.map((id) => `  ${id}:\n    root: ${root}\n    image: ${TEST_IMAGE}\n`).join('')}`);
  };
  const apply = async (concurrency?: number): Promise<number> => {
    const planned = await planManifest(manifest, { open: () => Promise.resolve(berth), env: {}, record: false });
    let failed: string | undefined;
    const ms = await timed(async () => {
      failed = (await applyManifest(planned, { concurrency, env: {} })).find((o) => !o.ok)?.message;
    });
    if (failed !== undefined) throw new Error(`${kind}: apply failed: ${failed}`);
    return ms;
  };
  const concurrency = defaultConcurrency({ budgetBytes: memoryBudget({}, null).bytes });
  const row: Row = { engine: kind, concurrency, converge: [], list: { daemon: [], api: [], cli: [], raw: [] } };
  try {
    write(freshIds(2));
    await apply();
    write([]);
    await apply();
    for (const size of CONVERGE_SIZES) {
      checkInterrupted();
      const order = size === CONVERGE_SIZES[0] ? (['serial', 'default'] as const) : (['default', 'serial'] as const);
      const result = { size, serialMs: 0, defaultMs: 0 };
      for (const side of order) {
        write(freshIds(size));
        const ms = await apply(side === 'serial' ? 1 : undefined);
        if (side === 'serial') result.serialMs = ms;
        else result.defaultMs = ms;
        process.stderr.write(`${kind}: converged ${String(size)} ${side}: ${fmt(ms, 0)} ms\n`);
        write([]);
        await apply();
        checkInterrupted();
      }
      row.converge.push(result);
    }

    // Listing: LIST_SIZE workspaces, four ways, rotated.
    write(freshIds(LIST_SIZE));
    await apply();
    const store = Store.open(home);
    const viaCli = new Berth(new OciRuntime(kind, { env, apiSocket: null }), { kind, source: 'flag', reports: [] }, { home, owner: installationId(home), env, userHome: homedir(), store });
    const socket = await inner.apiSocket();
    if (socket === null) throw new Error(`${kind}: no engine API socket in this environment`);
    const api = new EngineApi(kind, socket);
    const daemon = await startDaemon(home, env, ['--runtime', kind]);
    try {
      const owned = JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.owner}=${installationId(home)}`] });
      const sides = {
        daemon: async () => daemon.client.listWorkspaces(),
        api: async () => berth.list(),
        cli: async () => viaCli.list(),
        raw: async () => api.call('GET', '/containers/json', { all: 'true', filters: owned }, { compat: true }),
      };
      const counts = await Promise.all([sides.daemon(), sides.api(), sides.cli()].map(async (p) => (await p).length));
      if (counts.some((n) => n !== LIST_SIZE)) throw new Error(`${kind}: listings disagree on the count: ${counts.join(', ')}`);
      await iterate(iterations, warmup, async ({ index, record }) => {
        for (const side of rotated(['daemon', 'api', 'cli', 'raw'] as const, index)) {
          const ms = await timed(sides[side]);
          if (record) row.list[side].push(ms);
        }
        checkInterrupted();
      });
    } finally {
      await daemon.stop();
      api.close();
      store.close();
    }
    write([]);
    await apply();
  } finally {
    await removeRunContainers(kind, inner.binary, env, token, made);
    run.dispose();
  }
  return [row];
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines: string[] = [];
  lines.push(`${headerLine('Berth scale: parallel converge and one-call listings', iterations, warmup)}, image ${TEST_IMAGE}`);
  lines.push(`command: ${commandLine()}`);
  lines.push('');
  lines.push('| engine | new workspaces | --concurrency 1 ms | default (N) ms | default / serial | target |');
  lines.push('|---|---:|---:|---:|---:|---|');
  for (const row of rows) {
    for (const c of row.converge) {
      const ratio = c.defaultMs / c.serialMs;
      const target = c.size === 12 ? `≤ ${String(TARGET_RATIO_AT_12)}: ${verdict(ratio <= TARGET_RATIO_AT_12)}` : 'stated';
      lines.push(`| ${row.engine} | ${String(c.size)} | ${fmt(c.serialMs, 0)} | ${fmt(c.defaultMs, 0)} (${String(row.concurrency)}) | ${ratio.toFixed(2)} | ${target} |`);
    }
  }
  lines.push('');
  lines.push(`| engine | workspaces | GET /workspaces median ms (p90) | Berth.list API ms | Berth.list CLI ms (old path) | raw API list ms | GET / raw | target ≤ ${String(TARGET_LIST_RATIO)}× |`);
  lines.push('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    const { daemon, api, cli, raw } = row.list;
    const ratio = median(daemon) / median(raw);
    lines.push(
      `| ${row.engine} | ${String(LIST_SIZE)} | ${fmt(median(daemon))} (${fmt(percentile(daemon, 0.9))}) | ${fmt(median(api))} | ${fmt(median(cli))} | ${fmt(median(raw))} | ${ratio.toFixed(2)} | ${verdict(ratio <= TARGET_LIST_RATIO)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark<Row>({
  defaults: { iterations: 10, warmup: 2 },
  cleanup: 'removing the run\'s containers',
  preflight: () => {
    if (!existsSync(BERTHD_BIN)) throw new Error('dist/cli/berthd.js is missing: run `npm run build` first.');
  },
  benchEngine,
  report,
});

