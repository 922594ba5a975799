import { defineCommand } from '../args.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = `Usage: berth daemon [--http 127.0.0.1:PORT] [--manifest berth.yaml] [--runtime R]
                    [--liveness-interval SECONDS] [--reconcile-interval SECONDS]
       berth daemon status [--json]       (is one running; its socket, pid and dashboard link)
Runs in the foreground until SIGTERM or Ctrl-C; one per $BERTH_HOME. Also installed as \`berthd\`.
`;

export default defineCommand({
  usage: USAGE,
  options: {
    http: { type: 'string' },
    manifest: { type: 'string', short: 'f' },
    'liveness-interval': { type: 'string' },
    'reconcile-interval': { type: 'string' },
  },
  async run({ values, positionals }) {
    const [sub] = positionals;
    if (sub === 'status') return status(values.json ?? false);
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
    });
    const { info } = daemon;
    process.stderr.write(`berth daemon ${String(info.pid)} on ${info.runtime}: socket ${info.socket}\n`);
    // The link carries the token: shown to a person at a terminal, kept out of service logs.
    const url = process.stderr.isTTY ? daemon.dashboardUrl() : info.http && `${info.http}/ (the link with its token: \`berth daemon status\`)`;
    if (url) process.stderr.write(`dashboard: ${url}\n`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await daemon.stop();
    process.stderr.write('berth daemon: stopped (workspaces keep running)\n');
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
  else process.stdout.write(`daemon    pid ${String(health.pid)}, ${health.runtime}, since ${health.startedAt}\nsocket    ${health.socket}\nhttp      ${health.http ?? '(off: start with --http 127.0.0.1:PORT)'}\n${dashboard ? `dashboard ${dashboard}\n` : ''}`);
  return health ? EXIT.ok : EXIT.user;
}

function parseHttp(value: string): { host: string; port: number } {
  const match = /^(\[::1\]|[^:]+):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new UsageError(`--http takes HOST:PORT on loopback, e.g. 127.0.0.1:7777, got ${JSON.stringify(value)}.`, USAGE);
  return { host: match[1] === '[::1]' ? '::1' : match[1], port };
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new UsageError(`${flag} takes a number of seconds, got ${JSON.stringify(value)}.`, USAGE);
  return n * 1000;
}
