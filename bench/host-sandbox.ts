/**
 * What host mode's sandbox costs (issue 15).
 *
 *   exec:  HostRuntime.exec(['true']) in a sandboxed workspace vs an unconfined one (target: < 15 ms
 *          added per exec, median). Alternating, so drift on a busy machine lands on both sides.
 *   relay: bytes through the sandbox's proxy path (TCP → socat → unix socket → socat → TCP) vs one
 *          plain loopback TCP connection, to a local sink: MiB/s.
 *
 *   --profile: where the added time goes: each step of the exec argv (setpriv, nsenter, unshare,
 *          its /proc) run alone against one running holder, interleaved, medians.
 *
 * Usage: npx tsx bench/host-sandbox.ts [--iterations 40] [--warmup 5] [--mib 256] [--profile]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, spawnDetached } from '../src/process/index.js';
import { HostRuntime } from '../src/runtime/host/host-runtime.js';
import { relayArgv } from '../src/runtime/host/relay.js';
import { fmt, median, percentile, positiveInt } from './support.js';

const args = process.argv.slice(2);
const option = (flag: string, fallback: number): number => {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] !== undefined ? positiveInt(flag, args[i + 1] ?? '', 1) : fallback;
};
const iterations = option('--iterations', 40);
const warmup = option('--warmup', 5);
const mib = option('--mib', 256);
const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-sbx-'));

async function execOverhead(): Promise<void> {
  const root = join(scratch, 'root');
  mkdirSync(root);
  const runtimes = { sandboxed: new HostRuntime({ stateDir: join(scratch, 'on'), sandbox: 'on' }), unconfined: new HostRuntime({ stateDir: join(scratch, 'off'), sandbox: 'off' }) };
  const times: Record<keyof typeof runtimes, number[]> = { sandboxed: [], unconfined: [] };
  for (const [side, runtime] of Object.entries(runtimes)) {
    await runtime.create({ name: `bench-${side}`, image: 'host', mounts: [{ source: root, target: '/workspace', readOnly: false }], workdir: '/workspace' }, { start: true });
  }
  for (let i = 0; i < warmup + iterations; i++) {
    const order: (keyof typeof runtimes)[] = i % 2 === 0 ? ['sandboxed', 'unconfined'] : ['unconfined', 'sandboxed'];
    for (const side of order) {
      const start = performance.now();
      const result = await runtimes[side].exec(`bench-${side}`, ['true']);
      if (result.exitCode !== 0) throw new Error(`${side} exec failed: ${result.stderr}`);
      if (i >= warmup) times[side].push(performance.now() - start);
    }
  }
  for (const [side, runtime] of Object.entries(runtimes)) await runtime.remove(`bench-${side}`, { force: true });
  const added = median(times.sandboxed) - median(times.unconfined);
  console.log(`exec true, ${String(iterations)} each (median / p90 ms):`);
  console.log(`  unconfined ${fmt(median(times.unconfined))} / ${fmt(percentile(times.unconfined, 0.9))}`);
  console.log(`  sandboxed  ${fmt(median(times.sandboxed))} / ${fmt(percentile(times.sandboxed, 0.9))}`);
  console.log(`  added      ${fmt(added)} ms (target < 15 ms: ${added < 15 ? 'met' : 'NOT met'})`);
}

/** MiB/s for `mib` MiB written to `port` on loopback, counted by the sink. */
async function throughput(port: number, sink: { received: number; done: () => Promise<void> }): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 7);
  sink.received = 0;
  const start = performance.now();
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  for (let i = 0; i < mib; i++) if (!socket.write(chunk)) await new Promise<void>((resolve) => socket.once('drain', resolve));
  socket.end();
  await sink.done();
  return mib / ((performance.now() - start) / 1000);
}

async function relayThroughput(): Promise<void> {
  let finish: () => void = () => undefined;
  const sink = {
    received: 0,
    done: () => new Promise<void>((resolve) => (finish = resolve)),
  };
  const server: Server = createServer((socket) => {
    socket.on('data', (d: Buffer) => (sink.received += d.length));
    socket.on('end', () => finish());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sinkPort = (server.address() as { port: number }).port;
  const sock = join(scratch, 'relay.sock');
  const inPort = sinkPort + 1;
  const pids = [
    await spawnDetached(relayArgv({ unix: sock }, { tcp: { host: '127.0.0.1', port: sinkPort } }), { logFile: join(scratch, 'a.log') }),
    await spawnDetached(relayArgv({ tcp: { host: '127.0.0.1', port: inPort } }, { unix: sock }), { logFile: join(scratch, 'b.log') }),
  ];
  try {
    const deadline = Date.now() + 5000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => connect(inPort, '127.0.0.1').once('connect', function (this: ReturnType<typeof connect>) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
      if (up) break;
      if (Date.now() > deadline) throw new Error('the relay did not listen');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // That probe connection reached the sink too: let its end pass.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const direct = await throughput(sinkPort, sink);
    const relayed = await throughput(inPort, sink);
    console.log(`proxy path, ${String(mib)} MiB one way: direct TCP ${fmt(direct, 0)} MiB/s, through the unix-socket relay ${fmt(relayed, 0)} MiB/s (${fmt((relayed / direct) * 100, 0)}%)`);
  } finally {
    for (const pid of pids) process.kill(-pid, 'SIGKILL');
    server.close();
  }
}

/** Each step of a sandboxed exec's argv alone, against one running holder. */
async function profile(): Promise<void> {
  const root = join(scratch, 'profile-root');
  mkdirSync(root);
  const runtime = new HostRuntime({ stateDir: join(scratch, 'profile'), sandbox: 'on' });
  await runtime.create({ name: 'bench-profile', image: 'host', mounts: [{ source: root, target: '/workspace', readOnly: false }], workdir: '/workspace' }, { start: true });
  await runtime.exec('bench-profile', ['true']);
  const holder = (JSON.parse(readFileSync(join(scratch, 'profile', 'bench-profile.json'), 'utf8')) as { holder: { inner: number } }).holder;
  const ns = ['nsenter', `--target=${String(holder.inner)}`, '--mount', '--net', '--ipc', '--uts', '--root', `--wd=${root}`];
  const unshare = ['unshare', '--pid', '--fork', '--kill-child'];
  const variants: Record<string, string[]> = {
    true: ['true'],
    'setpriv --pdeathsig KILL': ['setpriv', '--pdeathsig', 'KILL', '--', 'true'],
    'nsenter --no-fork': [...ns, '--no-fork', '--', 'true'],
    'nsenter --pid (join)': [...ns, '--pid', '--', 'true'],
    'nsenter + unshare --pid': [...ns, '--no-fork', '--', ...unshare, '--', 'true'],
    'nsenter + unshare --mount-proc': [...ns, '--no-fork', '--', ...unshare, '--mount-proc', '--', 'true'],
    'the whole exec argv': ['setpriv', '--pdeathsig', 'KILL', '--', ...ns, '--no-fork', '--', ...unshare, '--mount-proc', '--', 'true'],
  };
  const times: Record<string, number[]> = {};
  for (let i = 0; i < warmup + iterations; i++) {
    for (const [label, argv] of Object.entries(variants)) {
      const start = performance.now();
      const result = await run(argv, { okExitCodes: 'any' });
      if (result.exitCode !== 0) throw new Error(`${label}: ${result.stderr}`);
      if (i >= warmup) (times[label] ??= []).push(performance.now() - start);
    }
  }
  await runtime.remove('bench-profile', { force: true });
  const base = median(times['true'] ?? []);
  console.log(`each step alone, ${String(iterations)} each, interleaved (median ms, and added to \`true\`):`);
  for (const [label, list] of Object.entries(times)) console.log(`  ${label.padEnd(32)} ${fmt(median(list))}${label === 'true' ? '' : `  +${fmt(median(list) - base)}`}`);
}

try {
  if (args.includes('--profile')) await profile();
  await execOverhead();
  await relayThroughput();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
