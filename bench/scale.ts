/**
 * What work over many workspaces costs: converging N new workspaces one at a time (`--concurrency 1`)
 * vs at the default concurrency, side by side in one run, and a listing of 20 workspaces
 * (`GET /workspaces` on a real daemon, Berth.list in process over the engine socket and over the
 * CLI) vs one raw engine API list call, at each of BERTH_BENCH_LIST_SIZES (default 20); with
 * BERTH_BENCH_IDLE_SECONDS, the daemon's idle CPU (its own and its reaped children's, the engine
 * CLIs) and RSS over that many seconds at the largest size, from /proc. With BERTH_BENCH_DEV_SERVERS
 * (default 20), that many of the listed workspaces run a dev server (python3 -m http.server) from the
 * first listing size that has them, and confirming them all is timed against one scan.
 *
 *   converge serial:   planManifest + applyManifest(concurrency 1) of N new workspaces (what `berth apply --concurrency 1` does)
 *   converge default:  the same with the default concurrency (cores and the memory budget)
 *   GET /workspaces:   the built berthd on this run's home, through its unix socket, as a caller gets it: its last
 *                      observation while under LISTING_FRESH_MS old and unchanged (cached), else live; which one is counted
 *   GET ?fresh=true:   the same, forced live: the engines observed for this request
 *   Berth.list (API):  in process, one `GET /containers/json` on the engine socket (listBrief)
 *   Berth.list (CLI):  in process, the engine socket off: `ps` + `inspect` CLI processes (the old path)
 *   raw API list:      one `GET /containers/json?all=true` with the run's label filter, straight to the socket
 *   dev confirm all:   `GET /dev-servers?scan=true` on the daemon: every workspace's servers checked now
 *   dev one scan:      `GET /dev-servers?workspace=<one>&scan=full`: one workspace's scan (one exec)
 *   dev full scan all: `GET /dev-servers?scan=full`: an exec in every workspace (what scan=true did before)
 *
 * Serial and default runs alternate which goes first by size (12: serial first; 50: default first),
 * each on fresh workspace ids after a 2-workspace warm-up; each converged set is removed (untimed).
 * Every container carries a per-run token and is force-removed at the end, on error or Ctrl-C too.
 *
 * Usage: npm run build && [BERTH_BENCH_CONVERGE_SIZES=12,50] [BERTH_BENCH_LIST_SIZES=20,200] [BERTH_BENCH_IDLE_SECONDS=60] [BERTH_BENCH_DEV_SERVERS=20]
 *          npx tsx bench/scale.ts [--engines podman,docker] [--iterations 10] [--warmup 2]
 * BERTH_BENCH_CONVERGE_SIZES=0 skips the converge.
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
import { BERTHD_BIN, startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { run as runArgv } from '../src/process/index.js';
import { idlePhase, type Idle } from './proc-usage.js';
import { checkInterrupted, commandLine, fmt, headerLine, iterate, median, percentile, removeRunContainers, rotated, runBenchmark, timed, verdict } from './support.js';
import { scratchBerth } from './scratch-berth.js';

/** BERTH_BENCH_CONVERGE_SIZES=12 for a shorter run (default 12,50). */
const CONVERGE_SIZES = (process.env['BERTH_BENCH_CONVERGE_SIZES'] ?? '12,50').split(',').map(Number).filter((n) => n > 0);
/** BERTH_BENCH_LIST_SIZES=20,200: the listing at each size, the set grown from one to the next (default 20). */
const LIST_SIZES = (process.env['BERTH_BENCH_LIST_SIZES'] ?? '20').split(',').map(Number).filter((n) => n > 0);
/** BERTH_BENCH_IDLE_SECONDS=60: then the daemon, idle at the largest size, for this long (default 0: not measured). */
const IDLE_SECONDS = Number(process.env['BERTH_BENCH_IDLE_SECONDS'] ?? '0');
/** BERTH_BENCH_DEV_SERVERS=0 skips the dev-server confirmation (default 20). */
const DEV_SERVERS = Number(process.env['BERTH_BENCH_DEV_SERVERS'] ?? '20');
const DEV_PORT = 8000;
const TARGET_CONFIRM_RATIO = 2;
const TARGET_RATIO_AT_12 = 0.75;
const TARGET_LIST_RATIO = 2;
const TARGET_IDLE_CPU_PERCENT = 2;
const TARGET_IDLE_RSS_MB = 150;

interface Row {
  engine: OciKind;
  concurrency: number;
  converge: { size: number; serialMs: number; defaultMs: number }[];
  lists: { size: number; daemon: number[]; daemonCached: number; fresh: number[]; api: number[]; cli: number[]; raw: number[] }[];
  idle: (Idle & { size: number }) | null;
  dev: { servers: number; all: number[]; one: number[]; fullAll: number[] } | null;
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
  const row: Row = { engine: kind, concurrency, converge: [], lists: [], idle: null, dev: null };
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

    // Listings: at each size (the set grown from one to the next), four ways, rotated.
    const listed: string[] = [];
    const store = Store.open(home);
    const viaCli = new Berth(new OciRuntime(kind, { env, apiSocket: null }), { kind, source: 'flag', reports: [] }, { home, owner: installationId(home), env, userHome: homedir(), store });
    const socket = await inner.apiSocket();
    if (socket === null) throw new Error(`${kind}: no engine API socket in this environment`);
    const api = new EngineApi(kind, socket);
    let daemon: RunningDaemon | undefined;
    try {
      for (const size of LIST_SIZES) {
        checkInterrupted();
        listed.push(...freshIds(size - listed.length));
        write(listed);
        process.stderr.write(`${kind}: converging ${String(size)} workspaces for the listing...\n`);
        await apply();
        daemon ??= await startDaemon(home, env, ['--runtime', kind]);
        const client = daemon.client;
        const owned = JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.owner}=${installationId(home)}`] });
        let cachedAnswers = 0;
        let recording = false;
        const sides = {
          daemon: async () => {
            const listing = await client.listObserved();
            if (recording && listing.source === 'cached') cachedAnswers += 1;
            return listing.workspaces;
          },
          fresh: async () => client.list({ fresh: true }),
          api: async () => berth.list(),
          cli: async () => viaCli.list(),
          raw: async () => api.call('GET', '/containers/json', { all: 'true', filters: owned }, { compat: true }),
        };
        const counts = await Promise.all([sides.daemon(), sides.fresh(), sides.api(), sides.cli()].map(async (p) => (await p).length));
        if (counts.some((n) => n !== size)) throw new Error(`${kind}: listings disagree on the count: ${counts.join(', ')}`);
        const samples = { size, daemon: [] as number[], daemonCached: 0, fresh: [] as number[], api: [] as number[], cli: [] as number[], raw: [] as number[] };
        await iterate(iterations, warmup, async ({ index, record }) => {
          recording = record;
          for (const side of rotated(['daemon', 'fresh', 'api', 'cli', 'raw'] as const, index)) {
            const ms = await timed(sides[side]);
            if (record) samples[side].push(ms);
          }
          checkInterrupted();
        });
        samples.daemonCached = cachedAnswers;
        row.lists.push(samples);
        if (row.dev === null && DEV_SERVERS > 0 && listed.length >= DEV_SERVERS) row.dev = await confirmDevServers(kind, client, listed.slice(0, DEV_SERVERS), iterations, warmup);
      }
      if (IDLE_SECONDS > 0 && daemon !== undefined) {
        const clock = Number((await runArgv(['getconf', 'CLK_TCK'])).stdout.trim());
        row.idle = { size: listed.length, ...(await idlePhase(daemon.pid, `${String(listed.length)} workspaces`, IDLE_SECONDS, clock)) };
      }
    } finally {
      await daemon?.stop();
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

/**
 * Starts a dev server in each workspace (4 at once), then times, rotated: confirming them all
 * (scan=true), one workspace's scan (scan=full, the first workspace), and a scan of every one.
 */
async function confirmDevServers(kind: OciKind, client: RunningDaemon['client'], ids: readonly string[], iterations: number, warmup: number): Promise<NonNullable<Row['dev']>> {
  process.stderr.write(`${kind}: starting ${String(ids.length)} dev servers...\n`);
  for (let i = 0; i < ids.length; i += 4) {
    await Promise.all(ids.slice(i, i + 4).map((id) => client.dev.start(id, 'web', { command: ['python3', '-m', 'http.server', String(DEV_PORT)], wait: true })));
    checkInterrupted();
  }
  const running = async (servers: Promise<{ state: string }[]>, expected: number): Promise<void> => {
    const n = (await servers).filter((s) => s.state === 'running').length;
    if (n !== expected) throw new Error(`${kind}: ${String(n)} of ${String(expected)} dev servers running`);
  };
  const sides = {
    all: () => running(client.listDevServers({ scan: true }), ids.length),
    one: () => running(client.listDevServers({ workspace: ids[0], scan: 'full' }), 1),
    fullAll: () => running(client.listDevServers({ scan: 'full' }), ids.length),
  };
  const samples = { servers: ids.length, all: [] as number[], one: [] as number[], fullAll: [] as number[] };
  await iterate(iterations, warmup, async ({ index, record }) => {
    for (const side of rotated(['all', 'one', 'fullAll'] as const, index)) {
      const ms = await timed(sides[side]);
      if (record) samples[side].push(ms);
    }
  });
  return samples;
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
  lines.push(
    `| engine | workspaces | GET /workspaces median ms (p90) | of which cached | GET ?fresh=true (live) median ms (p90) | Berth.list API ms | Berth.list CLI ms (old path) | raw API list ms | GET / raw | live GET / raw | target ≤ ${String(TARGET_LIST_RATIO)}× |`,
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    for (const { size, daemon, daemonCached, fresh, api, cli, raw } of row.lists) {
      const ratio = median(daemon) / median(raw);
      const liveRatio = median(fresh) / median(raw);
      lines.push(
        `| ${row.engine} | ${String(size)} | ${fmt(median(daemon))} (${fmt(percentile(daemon, 0.9))}) | ${String(daemonCached)} of ${String(daemon.length)} | ${fmt(median(fresh))} (${fmt(percentile(fresh, 0.9))}) | ${fmt(median(api))} | ${fmt(median(cli))} | ${fmt(median(raw))} | ${ratio.toFixed(2)} | ${liveRatio.toFixed(2)} | ${verdict(ratio <= TARGET_LIST_RATIO)} (live: ${verdict(liveRatio <= TARGET_LIST_RATIO)}) |`,
      );
    }
  }
  const dev = rows.filter((r) => r.dev !== null);
  if (dev.length > 0) {
    lines.push('');
    lines.push(`| engine | dev servers (workspaces) | confirm all (scan=true) ms (p90) | one scan (scan=full, 1 workspace) ms (p90) | full scan of all ms | all / one scan | target ≤ ${String(TARGET_CONFIRM_RATIO)}× |`);
    lines.push('|---|---:|---:|---:|---:|---:|---|');
    for (const { engine, dev: d } of dev) {
      if (d === null) continue;
      const ratio = median(d.all) / median(d.one);
      lines.push(`| ${engine} | ${String(d.servers)} | ${fmt(median(d.all))} (${fmt(percentile(d.all, 0.9))}) | ${fmt(median(d.one))} (${fmt(percentile(d.one, 0.9))}) | ${fmt(median(d.fullAll))} | ${ratio.toFixed(2)} | ${verdict(ratio <= TARGET_CONFIRM_RATIO)} |`);
    }
  }
  const idle = rows.filter((r) => r.idle !== null);
  if (idle.length > 0) {
    lines.push('');
    lines.push(`| engine | workspaces | idle s | RSS mean MB | RSS max MB | daemon CPU % of a core | engine CLIs it ran, CPU % | target < ${String(TARGET_IDLE_CPU_PERCENT)} % and < ${String(TARGET_IDLE_RSS_MB)} MB |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const { engine, idle: i } of idle) {
      if (i === null) continue;
      const met = i.cpuPercent + i.childCpuPercent < TARGET_IDLE_CPU_PERCENT && i.rssMaxMb < TARGET_IDLE_RSS_MB;
      lines.push(`| ${engine} | ${String(i.size)} | ${String(i.seconds)} | ${fmt(i.rssMeanMb)} | ${fmt(i.rssMaxMb)} | ${fmt(i.cpuPercent, 2)} | ${fmt(i.childCpuPercent, 2)} | ${verdict(met)} |`);
    }
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

