import type { DevServer } from '../../devserver/types.js';
import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { openBerth, openCore } from '../open-berth.js';
import { EXIT, printJson, printTable, UsageError } from '../output.js';

const USAGE = `Usage: berth dev start <id> <name> [--port N] [--cwd DIR] [--env K=V]... [--no-wait] -- CMD [ARG...]
       berth dev ls [<id>] [--json]
       berth dev stop|restart|logs|open <id> <name>      (logs: [--follow])
`;

const SUBCOMMANDS = ['start', 'ls', 'stop', 'restart', 'logs', 'open'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export default defineCommand({
  usage: USAGE,
  options: {
    port: { type: 'string' },
    cwd: { type: 'string' },
    env: { type: 'string', multiple: true },
    'no-wait': { type: 'boolean' },
    follow: { type: 'boolean', short: 'f' },
  },
  async run({ values, positionals }, command) {
    const [sub, id] = positionals;
    if (!SUBCOMMANDS.includes(sub as Subcommand)) throw new UsageError(sub === undefined ? 'Missing the dev subcommand.' : `Unknown dev subcommand "${sub}".`, USAGE);
    if (sub === 'ls') return list(values.runtime, id, values.json ?? false);
    const workspace = requirePositional(positionals, 1, 'id', USAGE);
    const server = requirePositional(positionals, 2, 'name', USAGE);
    if (sub === 'logs') {
      // Attached to this terminal (and --follow): a local exec, daemon or not.
      const berth = await openBerth(values.runtime, workspace);
      const { path } = await berth.dev.logPath(workspace, server);
      return berth.execInteractive(workspace, ['tail', '-n', '+1', ...(values.follow ? ['-f'] : []), path], { tty: false });
    }
    let core = await openCore(values.runtime, workspace);
    // A dev server in an egress workspace may need a bridge that outlives this command: the daemon owns it.
    if (sub === 'start' && core.api.via === 'in-process' && (await core.api.egress(workspace)) !== null) {
      const { daemonOnDemand } = await import('../on-demand.js');
      if (await daemonOnDemand(core.runtime)) core = await openCore(values.runtime, workspace);
    }
    switch (sub as Exclude<Subcommand, 'ls' | 'logs'>) {
      case 'start': {
        if (command.length === 0) throw new UsageError('Missing the command to run after --.', USAGE);
        const port = values.port === undefined ? undefined : Number(values.port);
        if (port !== undefined && !Number.isInteger(port)) throw new UsageError(`--port takes a whole number, got ${JSON.stringify(values.port)}.`, USAGE);
        const options = { command, cwd: values.cwd, env: parseEnvPairs(values.env, USAGE), port };
        const wait = !values['no-wait'];
        const result = wait ? await withSpinner(`starting ${server}`, () => core.api.dev.start(workspace, server, { ...options, wait: true })) : await core.api.dev.start(workspace, server, options);
        return report(result, values.json ?? false);
      }
      case 'restart': {
        return report(await withSpinner(`restarting ${server}`, () => core.api.dev.restart(workspace, server, { wait: true })), values.json ?? false);
      }
      case 'stop':
        return report(await core.api.dev.stop(workspace, server), values.json ?? false);
      case 'open': {
        const [current] = (await core.api.dev.list(workspace)).filter((s) => s.name === server);
        if (!current?.url) throw new UsageError(`Dev server ${workspace}/${server} has no URL (it is ${current?.state ?? 'not registered'}).`);
        process.stdout.write(`${current.url}\n`);
        return EXIT.ok;
      }
    }
  },
});

async function list(runtime: string | undefined, workspace: string | undefined, json: boolean): Promise<number> {
  const servers = await (await openCore(runtime, workspace)).api.dev.list(workspace);
  if (json) printJson(servers);
  else if (servers.length === 0) process.stdout.write('No dev servers. Start one with `berth dev start <id> <name> -- <command>`.\n');
  else printTable(['ID', 'STATE', 'PORT', 'URL', 'COMMAND'], servers.map((s) => [`${s.workspace}/${s.name}`, s.state, String(s.detectedPort ?? s.port ?? '-'), s.url ?? '-', s.command.join(' ')]));
  return EXIT.ok;
}

function report(server: DevServer, json: boolean): number {
  if (json) printJson(server);
  else if (server.state === 'running') process.stdout.write(`${server.workspace}/${server.name} is running at ${server.url ?? '?'}\n`);
  else process.stdout.write(`${server.workspace}/${server.name} is ${server.state}${server.exitCode === null ? '' : ` (exit ${String(server.exitCode)})`}\n`);
  return server.state === 'crashed' ? EXIT.user : EXIT.ok;
}

/** A spinner on a terminal; nothing when piped (agents parse the output). */
async function withSpinner<T>(label: string, work: () => Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return work();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  const timer = setInterval(() => process.stderr.write(`\r${frames[frame++ % frames.length] ?? ''} ${label}`), 80);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  }
}
