import { defineCommand } from '../args.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = `Usage: berth daemon [--http 127.0.0.1:PORT] [--manifest berth.yaml] [--runtime R]
                    [--liveness-interval SECONDS] [--reconcile-interval SECONDS] [--idle-timeout SECONDS]
                    [--concurrency N]   (workspaces the reconcile loop fixes at once; default from cores and memory)
       berth daemon status [--json]       (is one running; its socket, pid and dashboard link)
       berth daemon stop                  (ends the running one; workspaces keep running)
Runs in the foreground until SIGTERM or Ctrl-C; one per $BERTH_HOME. Also installed as \`berthd\`.
Commands that need it (up with egress rules, egress allow/deny, dev start in an egress workspace)
start one in the background, which exits after BERTH_DAEMON_IDLE seconds (default 300) with
nothing to serve. BERTH_NO_DAEMON=1: never use or start one.
`;

export default defineCommand({
  usage: USAGE,
  options: {
    http: { type: 'string' },
    manifest: { type: 'string', short: 'f' },
    'liveness-interval': { type: 'string' },
    'reconcile-interval': { type: 'string' },
    'idle-timeout': { type: 'string' },
    concurrency: { type: 'string' },
    'on-demand': { type: 'boolean' },
  },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub === 'status') return status(values.json ?? false);
    if (sub === 'stop') return stop();
    if (sub !== undefined) throw new UsageError(`Unknown daemon subcommand "${sub}".`, USAGE);
    const [{ Daemon }, { berthHome }, path] = await Promise.all([import('../../daemon/daemon.js'), import('../../config.js'), import('node:path')]);
    (await import('../last-resort.js')).keepServingOnUnhandledRejection('berth daemon');
    const daemon = await Daemon.start({
      home: berthHome(),
      runtime: values.runtime,
      http: values.http === undefined ? undefined : parseHttp(values.http),
      manifest: values.manifest === undefined ? undefined : path.resolve(values.manifest),
      livenessMs: seconds(values['liveness-interval'], '--liveness-interval'),
      reconcileMs: seconds(values['reconcile-interval'], '--reconcile-interval'),
      onDemand: values['on-demand'] ?? false,
      concurrency: values.concurrency === undefined ? undefined : (await import('../../orchestrator/concurrency.js')).parseConcurrency(values.concurrency, '--concurrency'),
      idleMs: (seconds(values['idle-timeout'], '--idle-timeout', true) ?? 0) || undefined,
    });
    const { info } = daemon;
    process.stderr.write(`berth daemon ${String(info.pid)} on ${info.runtime}: socket ${info.socket}\n`);
    // The link carries the token: shown to a person at a terminal, kept out of service logs.
    const url = process.stderr.isTTY ? daemon.dashboardUrl() : info.http && `${info.http}/ (the link with its token: \`berth daemon status\`)`;
    if (url) process.stderr.write(`dashboard: ${url}\n`);
    if (info.idleSeconds !== null) process.stderr.write(`berth daemon: exits after ${String(info.idleSeconds)} s with nothing to serve\n`);
    const why = await new Promise<string>((done) => {
      process.once('SIGINT', () => done('interrupted'));
      process.once('SIGTERM', () => done('asked to stop'));
      void daemon.idle.then(() => done(`idle for ${String(info.idleSeconds)} s`));
    });
    await daemon.stop();
    process.stderr.write(`berth daemon: stopped (workspaces keep running): ${why}\n`);
    return EXIT.ok;
  },
});

async function status(json: boolean): Promise<number> {
  const [{ readDaemonInfo }, { berthHome }, { connectDaemon }, { readFileSync }, { daemonPaths }, { dashboardLink }] = await Promise.all([
    import('../../daemon/daemon.js'),
    import('../../config.js'),
    import('../../client/index.js'),
    import('node:fs'),
    import('../../daemon/paths.js'),
    import('../../daemon/dashboard.js'),
  ]);
  const home = berthHome();
  const info = readDaemonInfo(home);
  const client = await connectDaemon({ home });
  const health = client ? await client.health() : null;
  const token = health?.http ? readFileSync(daemonPaths(home).token, 'utf8').trim() : null;
  const dashboard = health?.http && token ? dashboardLink(health.http, token) : null;
  if (json) printJson({ running: health !== null, ...(health ?? info ?? {}), dashboard });
  else if (!health) process.stdout.write(`No daemon runs for ${home}${info ? ` (a stale record says pid ${String(info.pid)})` : ''}. Start one with \`berth daemon\`.\n`);
  else process.stdout.write(`daemon    pid ${String(health.pid)}, ${health.runtime}, since ${health.startedAt}${onDemandNote(health)}\nsocket    ${health.socket}\nhttp      ${health.http ?? '(off: start with --http 127.0.0.1:PORT)'}\n${dashboard ? `dashboard ${dashboard}\n` : ''}`);
  return health ? EXIT.ok : EXIT.user;
}

/** ", started on demand; exits after N s with nothing to serve" for a daemon a command started. */
function onDemandNote(health: object): string {
  const { onDemand, idleSeconds } = health as { onDemand?: boolean; idleSeconds?: number | null };
  if (!onDemand) return '';
  return `, started on demand${typeof idleSeconds === 'number' ? `; exits after ${String(idleSeconds)} s with nothing to serve` : ''}`;
}

function parseHttp(value: string): { host: string; port: number } {
  const match = /^(\[::1\]|[^:]+):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new UsageError(`--http takes HOST:PORT on loopback, e.g. 127.0.0.1:7777, got ${JSON.stringify(value)}.`, USAGE);
  return { host: match[1] === '[::1]' ? '::1' : match[1], port };
}

function seconds(value: string | undefined, flag: string, zeroAllowed = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isFinite(n) && (n > 0 || (zeroAllowed && n === 0)))) throw new UsageError(`${flag} takes a number of seconds, got ${JSON.stringify(value)}.`, USAGE);
  return n * 1000;
}

/** Ends this home's daemon: SIGTERM to the pid its socket reports, then waits until it is gone. */
async function stop(): Promise<number> {
  const [{ berthHome }, { answering, processAlive }, { setTimeout: sleep }] = await Promise.all([import('../../config.js'), import('../../daemon/start.js'), import('node:timers/promises')]);
  const home = berthHome();
  const health = (await answering(home))?.health;
  if (!health) {
    process.stdout.write(`No daemon runs for ${home}.\n`);
    return EXIT.ok;
  }
  process.kill(health.pid, 'SIGTERM');
  // Gone means the process ended (its lock with it), not only that the socket closed.
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!processAlive(health.pid)) {
      process.stdout.write(`Stopped the daemon (pid ${String(health.pid)}); workspaces keep running.\n`);
      return EXIT.ok;
    }
    await sleep(50);
  }
  const { BerthError } = await import('../../errors.js');
  throw new BerthError('E_RUNTIME_FAILED', `The daemon (pid ${String(health.pid)}) did not stop within 15 s.`, { hint: `Look at ${home}/daemon.log, or end it with \`kill -9 ${String(health.pid)}\`.` });
}
