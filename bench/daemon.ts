/**
 * What an idle berthd costs, and how fast it answers.
 *
 * One daemon (the built dist/cli/berthd.js, a separate process as users run it) on a temporary
 * BERTH_HOME and one engine, with the loopback listener on. Two idle phases of --seconds each, side by
 * side: the empty daemon, then the same daemon with --workspaces workspaces (TEST_IMAGE) each running
 * one dev server (python3 -m http.server). During a phase nothing calls the API; every second the
 * daemon's RSS is read from /proc/<pid>/status, and its CPU time from /proc/<pid>/stat at the start
 * and the end: its own (utime + stime) and, apart, that of the engine CLIs it ran and reaped (cutime +
 * cstime: the liveness loop's one exec per workspace every 10 s), as a share of one core.
 * Then API latency over the unix socket and over loopback TCP (bearer token), --iterations requests
 * each after --warmup, interleaved: GET /workspaces (one engine list), GET /dev-servers (the
 * registry, no engine call), GET /health. Last, the daemon is stopped and started again with
 * --liveness-interval 30 (timed until it answers, and until one scan confirms every server), and a
 * third idle phase shows what the slower loop saves.
 * Everything it made carries a per-run token in its name and is removed afterwards, on error or
 * Ctrl-C too.
 *
 * Usage: npm run build && npx tsx bench/daemon.ts [--engine podman] [--seconds 60] [--workspaces 20]
 *        [--iterations 100] [--warmup 5]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthClient } from '../src/client/index.js';
import { run } from '../src/process/index.js';
import { freePort, startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { idlePhase, type Idle } from './proc-usage.js';
import { checkInterrupted, commandLine, fmt, headerLine, median, percentile, positiveInt, runLocalBenchmark, verdict } from './support.js';

const TARGET_RSS_MB = 100;
const TARGET_CPU_PERCENT = 2;
const SETUP_CONCURRENCY = 4;
const SLOW_LIVENESS_S = 30;
/** Rounds of the one-vs-all scan comparison (each is 1 + N execs in the workspaces). */
const SCAN_ROUNDS = 10;
const SCAN_WARMUP = 2;

interface Latency {
  label: string;
  samples: number[];
}

interface Result {
  engine: string;
  workspaces: number;
  idle: Idle[];
  latency: Latency[];
  /** From spawning the restarted daemon to its socket answering, and to a scan confirming every server. */
  restart: { answeredMs: number; recoveredMs: number };
  /** Scanning one workspace's dev servers vs all of them (GET /dev-servers?scan=true), interleaved. */
  scans: { one: number[]; all: number[] };
}

runLocalBenchmark<Result>({
  defaults: { iterations: 100, warmup: 5 },
  options: { engine: 'podman', seconds: '60', workspaces: '20' },
  cleanup: 'removing the workspaces and stopping the daemon',
  preflight: ({ values }) => {
    if (values['engine'] !== 'podman' && values['engine'] !== 'docker') throw new Error('--engine: podman or docker.');
  },
  run: async ({ iterations, warmup, values }) => {
    const engine = values['engine'] ?? 'podman';
    const seconds = positiveInt('--seconds', values['seconds'] ?? '', 1);
    const count = positiveInt('--workspaces', values['workspaces'] ?? '', 1);
    const token = randomUUID().slice(0, 6);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-daemon-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), 'bench\n');
    const env = engineEnv();
    const ids = Array.from({ length: count }, (_, i) => `bd-${token}-${String(i)}`);
    let daemon: RunningDaemon | undefined;
    try {
      daemon = await startDaemon(home, env, ['--runtime', engine, '--http', `127.0.0.1:${String(await freePort())}`]);
      const clock = Number((await run(['getconf', 'CLK_TCK'])).stdout.trim());
      const idle: Idle[] = [await idlePhase(daemon.pid, 'empty daemon', seconds, clock)];
      checkInterrupted();
      process.stderr.write(`bench: creating ${String(count)} workspaces with a dev server each on ${engine}...\n`);
      const client = daemon.client;
      await inBatches(ids, SETUP_CONCURRENCY, async (id, i) => {
        checkInterrupted();
        await client.up(id, { root, image: TEST_IMAGE });
        await client.startDevServer(id, 'web', { command: ['python3', '-m', 'http.server', String(20_000 + i)] }, { wait: true });
      });
      const running = (await client.listDevServers()).filter((s) => s.state === 'running').length;
      if (running !== count) throw new Error(`only ${String(running)} of ${String(count)} dev servers run`);
      idle.push(await idlePhase(daemon.pid, `${String(count)} workspaces + ${String(count)} dev servers`, seconds, clock));
      checkInterrupted();
      const tcp = new BerthClient({ url: daemon.http ?? '', token: readFileSync(join(home, 'daemon.token'), 'utf8').trim() });
      const probes: [string, () => Promise<unknown>][] = [
        ['GET /workspaces (socket)', () => client.listWorkspaces()],
        ['GET /workspaces (TCP + token)', () => tcp.listWorkspaces()],
        ['GET /dev-servers (socket)', () => client.listDevServers()],
        ['GET /health (socket)', () => client.health()],
      ];
      const latency: Latency[] = probes.map(([label]) => ({ label, samples: [] }));
      for (let i = 0; i < warmup + iterations; i++) {
        checkInterrupted();
        for (const [index, [, call]] of probes.entries()) {
          const started = performance.now();
          await call();
          if (i >= warmup) latency[index]?.samples.push(performance.now() - started);
        }
      }
      // Restart with a slower liveness loop: how long until it answers, and what the idle costs then.
      checkInterrupted();
      await daemon.stop();
      const restartedAt = performance.now();
      daemon = await startDaemon(home, env, ['--runtime', engine, '--liveness-interval', String(SLOW_LIVENESS_S)]);
      const answeredMs = performance.now() - restartedAt;
      const servers = await daemon.client.listDevServers({ scan: true });
      const recoveredMs = performance.now() - restartedAt;
      if (servers.filter((s) => s.state === 'running').length !== count) throw new Error('the restarted daemon lost dev servers');
      const scans = { one: [] as number[], all: [] as number[] };
      for (let i = 0; i < SCAN_WARMUP + SCAN_ROUNDS; i++) {
        checkInterrupted();
        const oneStarted = performance.now();
        await daemon.client.listDevServers({ workspace: ids[0], scan: true });
        const allStarted = performance.now();
        await daemon.client.listDevServers({ scan: true });
        if (i < SCAN_WARMUP) continue;
        scans.one.push(allStarted - oneStarted);
        scans.all.push(performance.now() - allStarted);
      }
      idle.push(await idlePhase(daemon.pid, `same, restarted with --liveness-interval ${String(SLOW_LIVENESS_S)}`, seconds, clock));
      return { engine, workspaces: count, idle, latency, restart: { answeredMs, recoveredMs }, scans };
    } finally {
      const made = daemon;
      if (made) await inBatches(ids, SETUP_CONCURRENCY, (id) => made.client.remove(id).catch(() => undefined));
      await daemon?.stop().catch(() => undefined);
      const left = await run([engine, 'ps', '-aq', '--filter', `name=bd-${token}-`], { env, okExitCodes: 'any' });
      const leftover = left.stdout.split('\n').filter(Boolean);
      if (leftover.length > 0) await run([engine, 'rm', '-f', ...leftover], { env, okExitCodes: 'any' });
      rmSync(scratch, { recursive: true, force: true });
    }
  },
  report: (result, { iterations, warmup }) => {
    const lines = [
      headerLine(`Berth daemon, idle and API (${result.engine})`, iterations, warmup),
      '',
      '| daemon | seconds | RSS mean MB | RSS max MB | daemon CPU % of a core | engine CLIs it ran, CPU % |',
      '|---|---:|---:|---:|---:|---:|',
      ...result.idle.map((p) => `| ${p.label} | ${String(p.seconds)} | ${fmt(p.rssMeanMb)} | ${fmt(p.rssMaxMb)} | ${fmt(p.cpuPercent, 2)} | ${fmt(p.childCpuPercent, 2)} |`),
      '',
      `| request (${String(result.workspaces)} workspaces) | median ms | p90 ms | p99 ms | max ms |`,
      '|---|---:|---:|---:|---:|',
      ...result.latency.map((l) => `| ${l.label} | ${fmt(median(l.samples), 2)} | ${fmt(percentile(l.samples, 0.9), 2)} | ${fmt(percentile(l.samples, 0.99), 2)} | ${fmt(Math.max(...l.samples), 2)} |`),
      '',
      `Restart (SIGTERM, then a new daemon on the same state): answering after ${fmt(result.restart.answeredMs, 0)} ms; every dev server confirmed running by a scan after ${fmt(result.restart.recoveredMs, 0)} ms.`,
      '',
      `| dev-server scan (GET /dev-servers?scan=true), ${String(SCAN_ROUNDS)} rounds interleaved | median ms | p90 ms |`,
      '|---|---:|---:|',
      `| one workspace | ${fmt(median(result.scans.one), 1)} | ${fmt(percentile(result.scans.one, 0.9), 1)} |`,
      `| all ${String(result.workspaces)} workspaces | ${fmt(median(result.scans.all), 1)} | ${fmt(percentile(result.scans.all, 0.9), 1)} |`,
      '',
      `Target: all ${String(result.workspaces)} confirmed within 2x one scan (${fmt(median(result.scans.all) / median(result.scans.one), 2)}x): ${verdict(median(result.scans.all) <= 2 * median(result.scans.one))}`,
      '',
    ];
    const loaded = result.idle[1];
    if (loaded) {
      lines.push(`Target RSS under ${String(TARGET_RSS_MB)} MB (max ${fmt(loaded.rssMaxMb)}): ${verdict(loaded.rssMaxMb < TARGET_RSS_MB)}`);
      lines.push(`Target idle CPU under ${String(TARGET_CPU_PERCENT)}% of a core (daemon ${fmt(loaded.cpuPercent, 2)}%): ${verdict(loaded.cpuPercent < TARGET_CPU_PERCENT)}`);
    }
    lines.push(`Command: ${commandLine()}`, '');
    process.stdout.write(lines.join('\n'));
  },
});

async function inBatches<T>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((item, j) => work(item, i + j)));
}
