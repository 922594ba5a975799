/**
 * How soon a dev server gets its URL once it listens, and what a liveness scan costs in engine calls.
 *
 * For each engine, one workspace (TEST_IMAGE, a temporary root folder) is brought up through a Berth
 * over a counting runtime, then two things are measured:
 *   listen → URL:     per iteration a dev server sleeps a random 200-800 ms, then listens on 0.0.0.0
 *                     and prints the epoch time it did so, read INSIDE the container (python3's
 *                     time.time()), to its log. berth.dev.waitUntilReady() is called right after
 *                     berth.dev.start(); latency = the host's wall clock when it returns minus that
 *                     listen time (container and host share the kernel's clock). Reading the log back
 *                     (one exec `cat`), fetching the URL once and stopping the server are not timed.
 *   scan, 10 servers: ten python http.servers run in the workspace; berth.dev.refresh() is called once
 *                     per iteration with its engine calls counted (target: one exec per workspace per
 *                     scan; the inspect that resolves the workspace is separate and reported too),
 *                     interleaved with a bare `exec true` through the same adapter, the floor of any scan.
 * The workspace's container carries a per-run token in its name and is removed afterwards, on error or
 * Ctrl-C too; the temporary BERTH_HOME and root go as well.
 *
 * Usage: npx tsx bench/devserver.ts [--iterations 15] [--warmup 2] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DevServer } from '../src/devserver/types.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { containerNameFor } from '../src/workspace/workspace-id.js';
import type { EngineCall } from '../test/support/counting-runtime.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, fmt, headerLine, iterate, median, pair, percentile, removeRunContainers, runBenchmark, timed, verdict, type Sides } from './support.js';
import { scratchBerth } from './scratch-berth.js';

const TARGET_MEDIAN_MS = 500;
const TARGET_EXECS_PER_SCAN = 1;
/** SCAN_INTERVAL_MS in src/devserver/manager.ts (not exported): the sleep between two scans of waitUntilReady. */
const MANAGER_SCAN_INTERVAL_MS = 100;
/** The listen delay is drawn from this range, so listens land at every phase of the scan cycle. */
const DELAY_MS = { min: 200, max: 800 } as const;
const SCAN_SERVERS = 10;
const LATENCY_PORT_BASE = 20000;
const SCAN_PORT_BASE = 21000;
const LATENCY_SERVER = 'latency';
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 1_000;
const URL_TIMEOUT_MS = 2_000;

/** Sleeps argv[1] seconds, listens on 0.0.0.0:argv[2], prints when it listened (epoch seconds), then serves HTTP. */
const LISTENER_PY = `
import http.server, socket, sys, time
time.sleep(float(sys.argv[1]))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[2])))
s.listen(16)
print('listening', repr(time.time()), flush=True)
srv = http.server.HTTPServer(('0.0.0.0', 0), http.server.SimpleHTTPRequestHandler, bind_and_activate=False)
srv.socket.close()
srv.socket = s
srv.serve_forever()
`;
const LISTENED = /^listening (\d+(?:\.\d+)?)$/m;

/** One listen → URL iteration. */
interface LatencySample {
  delayMs: number;
  latencyMs: number;
  /** The engine calls waitUntilReady made: the resolve's inspect, then one exec per scan. */
  calls: EngineCall[];
  urlOk: boolean;
}

/** One timed call and the engine calls it made. */
interface Measurement {
  ms: number;
  calls: EngineCall[];
}

interface Row {
  engine: OciKind;
  latency: LatencySample[];
  /** berth: one berth.dev.refresh() with ten servers running; raw: a bare `exec true`, the floor. */
  scan: Sides<Measurement>;
}

const count = (calls: readonly EngineCall[], method: string): number => calls.filter((c) => c.method === method).length;

/** Median duration of the calls of one method across samples (every such call, not only the first). */
function callMs(samples: readonly { calls: readonly EngineCall[] }[], method: string): number {
  const values = samples.flatMap((s) => s.calls.filter((c) => c.method === method).map((c) => c.ms));
  return values.length === 0 ? Number.NaN : median(values);
}

/** "1" when every sample agrees, else "low-high". */
function range(values: readonly number[]): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${String(low)}-${String(high)}`;
}

async function urlAnswers(url: string | null): Promise<boolean> {
  if (url === null) return false;
  return fetch(url, { signal: AbortSignal.timeout(URL_TIMEOUT_MS) }).then(
    async (response) => {
      await response.arrayBuffer();
      return response.ok;
    },
    () => false,
  );
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const env = engineEnv();
  const inner = new OciRuntime(kind, { env });
  const token = randomUUID().slice(0, 8);
  const run = scratchBerth(kind, inner, env, 'dev');
  const { berth, calls, home, root } = run;
  writeFileSync(join(root, 'index.html'), '<h1>served by berth</h1>\n');
  const wsId = `bench-dev-${token}`;
  const made = new Set<string>();
  const row: Row = { engine: kind, latency: [], scan: { raw: [], berth: [] } };

  /** The server's log, read with one exec through the uncounted runtime. */
  const readLog = async (name: string): Promise<string> => {
    const { target, path } = await berth.dev.logPath(wsId, name);
    return (await inner.exec(target, ['cat', path])).stdout;
  };
  const expectRunning = async (server: DevServer): Promise<void> => {
    if (server.state === 'running') return;
    throw new Error(`${kind}: dev server ${server.name} is ${server.state}, not running; its log:\n${await readLog(server.name).catch(() => '?')}`);
  };

  process.stderr.write(`${kind}: run ${token}, image ${TEST_IMAGE}, BERTH_HOME ${home}\n`);
  try {
    checkInterrupted();
    made.add(containerNameFor(wsId));
    const up = await berth.up(wsId, { root, image: TEST_IMAGE });
    if (up.action !== 'created') throw new Error(`${kind}: berth.up(${wsId}) ${up.action}, expected created`);

    // 1. listen → URL, one server at a time.
    await iterate(iterations, warmup, async ({ index, record }) => {
      const delayMs = DELAY_MS.min + Math.random() * (DELAY_MS.max - DELAY_MS.min);
      const port = LATENCY_PORT_BASE + warmup + index;
      await berth.dev.start(wsId, LATENCY_SERVER, { command: ['python3', '-c', LISTENER_PY, (delayMs / 1000).toFixed(3), String(port)] });
      try {
        calls.length = 0;
        const ready = await berth.dev.waitUntilReady(wsId, LATENCY_SERVER, READY_TIMEOUT_MS);
        const readyAt = Date.now();
        const waitCalls = [...calls];
        await expectRunning(ready);
        const log = await readLog(LATENCY_SERVER);
        const listened = LISTENED.exec(log)?.[1];
        if (listened === undefined) throw new Error(`${kind}: no listen time in the server's log:\n${log}`);
        const urlOk = await urlAnswers(ready.url);
        if (record) row.latency.push({ delayMs, latencyMs: readyAt - Number(listened) * 1000, calls: waitCalls, urlOk });
      } finally {
        await berth.dev.stop(wsId, LATENCY_SERVER, STOP_GRACE_MS);
      }
      if (record && ((index + 1) % 5 === 0 || index + 1 === iterations)) process.stderr.write(`${kind}: listen → URL ${String(index + 1)}/${String(iterations)}\n`);
    });

    // 2. ten servers in the one workspace, then one scan per refresh.
    const names = Array.from({ length: SCAN_SERVERS }, (_, i) => `scan${String(i)}`);
    for (const [i, name] of names.entries()) {
      checkInterrupted();
      await berth.dev.start(wsId, name, { command: ['python3', '-m', 'http.server', String(SCAN_PORT_BASE + i), '--bind', '0.0.0.0'] });
    }
    for (const name of names) {
      checkInterrupted();
      await expectRunning(await berth.dev.waitUntilReady(wsId, name, READY_TIMEOUT_MS));
    }
    const { target } = await berth.dev.logPath(wsId, names[0] ?? '');
    calls.length = 0;
    await iterate(iterations, warmup, async ({ index, record, rawFirst }) => {
      await pair(
        row.scan,
        record,
        rawFirst,
        async () => {
          let exitCode = 0;
          const ms = await timed(async () => {
            exitCode = (await inner.exec(target, ['true'])).exitCode;
          });
          if (exitCode !== 0) throw new Error(`${kind}: exec true exited ${String(exitCode)}`);
          return { ms, calls: [] };
        },
        async () => {
          calls.length = 0;
          let servers: DevServer[] = [];
          const ms = await timed(async () => {
            servers = await berth.dev.refresh(wsId);
          });
          const measured = { ms, calls: [...calls] };
          const down = servers.filter((s) => names.includes(s.name) && s.state !== 'running');
          if (down.length > 0) throw new Error(`${kind}: after a refresh, ${down.map((s) => `${s.name} is ${s.state}`).join(', ')}`);
          return measured;
        },
        checkInterrupted,
      );
      if (record && ((index + 1) % 5 === 0 || index + 1 === iterations)) process.stderr.write(`${kind}: scan ${String(index + 1)}/${String(iterations)}\n`);
    });
    for (const name of names) await berth.dev.stop(wsId, name, STOP_GRACE_MS);
  } finally {
    // Through Berth, so its ledger closes the entry too; the sweep catches whatever that misses.
    await berth.remove(wsId).then(
      () => made.delete(containerNameFor(wsId)),
      () => undefined,
    );
    await removeRunContainers(kind, inner.binary, env, token, made);
    run.dispose();
  }
  return [row];
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines: string[] = [];
  lines.push(`${headerLine('Berth dev-server latency and scan cost', iterations, warmup)}, image ${TEST_IMAGE}`);
  lines.push('');
  lines.push(
    `Listen → URL: the server listens ${String(DELAY_MS.min)}-${String(DELAY_MS.max)} ms after start (at random); ` +
      'latency = waitUntilReady() returning on the host − the listen time the server logged inside the container.',
  );
  lines.push('');
  lines.push('| engine | median ms | p90 ms | max ms | min ms | scans per wait | engine calls per wait | URL answered |');
  lines.push('|---|---:|---:|---:|---:|---:|---|---:|');
  for (const row of rows) {
    const latency = row.latency.map((s) => s.latencyMs);
    const scans = row.latency.map((s) => count(s.calls, 'exec'));
    const inspects = row.latency.map((s) => count(s.calls, 'inspect'));
    const answered = row.latency.filter((s) => s.urlOk).length;
    lines.push(
      `| ${row.engine} | ${fmt(median(latency))} | ${fmt(percentile(latency, 0.9))} | ${fmt(Math.max(...latency))} | ${fmt(Math.min(...latency))} | ` +
        `${String(median(scans))} (${range(scans)}) | ${range(inspects)} inspect + ${range(scans)} exec | ${String(answered)}/${String(row.latency.length)} |`,
    );
  }
  lines.push('');
  lines.push(
    'Where the latency goes (medians ms). waitUntilReady = one inspect (resolve), then scan exec, sleep ' +
      `${String(MANAGER_SCAN_INTERVAL_MS)} ms, scan exec, ...; the detecting scan is the last exec; ` +
      '"listen → detecting scan" = latency − that scan (< 0 when the listen lands inside the scan that sees it, before its `ss` ran); ' +
      `model = the expected latency of a listen at a random moment of the cycle (scan + ${String(MANAGER_SCAN_INTERVAL_MS)} ms): ` +
      'half a cycle, plus up to one scan depending on where in the exec its `ss` runs.',
  );
  lines.push('');
  lines.push('| engine | resolve inspect | scan exec (all scans) | detecting scan | listen → detecting scan | model |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const detecting = row.latency.map((s) => s.calls.filter((c) => c.method === 'exec').at(-1)?.ms ?? Number.NaN);
    const before = row.latency.map((s, i) => s.latencyMs - (detecting[i] ?? Number.NaN));
    const scan = callMs(row.latency, 'exec');
    lines.push(
      `| ${row.engine} | ${fmt(callMs(row.latency, 'inspect'))} | ${fmt(scan)} | ${fmt(median(detecting))} | ${fmt(median(before))} | ` +
        `${fmt((scan + MANAGER_SCAN_INTERVAL_MS) / 2)}-${fmt(scan + (scan + MANAGER_SCAN_INTERVAL_MS) / 2)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Scan with ${String(SCAN_SERVERS)} servers: berth.dev.refresh() per iteration, its engine calls counted; ` +
      'bare exec = `exec true` through the same adapter (the floor of any one-exec scan); in-process = refresh − its engine calls.',
  );
  lines.push('');
  lines.push('| engine | servers | per refresh | refresh median ms | refresh p90 ms | scan exec ms | inspect ms | in-process ms | bare exec median ms |');
  lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const refresh = row.scan.berth;
    const execs = refresh.map((m) => count(m.calls, 'exec'));
    const inspects = refresh.map((m) => count(m.calls, 'inspect'));
    const others = refresh.map((m) => m.calls.filter((c) => c.method !== 'exec' && c.method !== 'inspect').length);
    const extra = Math.max(...others) > 0 ? ` + ${range(others)} other` : '';
    const inProcess = median(refresh.map((m) => m.ms - m.calls.reduce((sum, c) => sum + c.ms, 0)));
    lines.push(
      `| ${row.engine} | ${String(SCAN_SERVERS)} | ${range(execs)} exec + ${range(inspects)} inspect${extra} | ${fmt(median(refresh.map((m) => m.ms)))} | ` +
        `${fmt(percentile(refresh.map((m) => m.ms), 0.9))} | ${fmt(callMs(refresh, 'exec'))} | ${fmt(callMs(refresh, 'inspect'))} | ${fmt(inProcess)} | ` +
        `${fmt(median(row.scan.raw.map((m) => m.ms)))} |`,
    );
  }
  lines.push('');
  lines.push('Targets:');
  for (const row of rows) {
    const latency = median(row.latency.map((s) => s.latencyMs));
    lines.push(`- ${row.engine} listen → URL: median ${fmt(latency)} ms < ${String(TARGET_MEDIAN_MS)} ms: ${verdict(latency < TARGET_MEDIAN_MS)}`);
    const answered = row.latency.filter((s) => s.urlOk).length;
    lines.push(`- ${row.engine} URL answered after every wait: ${String(answered)}/${String(row.latency.length)}: ${verdict(answered === row.latency.length)}`);
    const execs = row.scan.berth.map((m) => count(m.calls, 'exec'));
    const inspects = row.scan.berth.map((m) => count(m.calls, 'inspect'));
    const met = execs.every((n) => n === TARGET_EXECS_PER_SCAN);
    lines.push(
      `- ${row.engine} scan with ${String(SCAN_SERVERS)} servers: ${range(execs)} exec per refresh (+ ${range(inspects)} inspect to resolve the workspace) ` +
        `= ${String(TARGET_EXECS_PER_SCAN)}: ${verdict(met)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark({
  defaults: { iterations: 15, warmup: 2 },
  cleanup: 'removing the workspace container',
  benchEngine,
  report,
});
