import type { DevServer } from '../../devserver/types.js';
import type { ForwardedPortView } from '../../workspace/forwarded-ports.js';
import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { openBerth, openCore } from '../open-berth.js';
import { EXIT, printJson, printTable, UsageError } from '../output.js';

const USAGE = `Usage: berth dev start <id> <name> [--port N] [--cwd DIR] [--env K=V]... [--no-wait] -- CMD [ARG...]
       berth dev ls [<id>] [--json]
       berth dev ports <id> [--json]     (the ports its devcontainer.json forwards, with labels and URLs)
       berth dev stop|restart|logs|open <id> <name>      (logs: [--follow])
`;

const SUBCOMMANDS = ['start', 'ls', 'ports', 'stop', 'restart', 'logs', 'open'] as const;
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
    if (sub === 'ports') return ports(values.runtime, requirePositional(positionals, 1, 'id', USAGE), values.json ?? false);
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
    switch (sub as Exclude<Subcommand, 'ls' | 'ports' | 'logs'>) {
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
  const api = (await openCore(runtime, workspace)).api;
  const servers = await api.dev.list(workspace);
  // `--json` stays the array of dev servers it always was: `berth dev ports <id> --json` has the forwarded ones.
  const forwarded = workspace === undefined || json ? [] : await api.dev.forwardedPorts(workspace);
  if (json) printJson(servers);
  else if (servers.length === 0 && forwarded.length === 0) process.stdout.write('No dev servers. Start one with `berth dev start <id> <name> -- <command>`.\n');
  else if (servers.length > 0) printTable(['ID', 'STATE', 'PORT', 'URL', 'COMMAND'], servers.map((s) => [`${s.workspace}/${s.name}`, s.state, String(s.detectedPort ?? s.port ?? '-'), s.url ?? '-', s.command.join(' ')]));
  if (forwarded.length > 0) {
    if (servers.length > 0) process.stdout.write('\n');
    printForwarded(forwarded);
  }
  return EXIT.ok;
}

async function ports(runtime: string | undefined, workspace: string, json: boolean): Promise<number> {
  const forwarded = await (await openCore(runtime, workspace)).api.dev.forwardedPorts(workspace);
  if (json) printJson(forwarded);
  else if (forwarded.length === 0) process.stdout.write(`Workspace ${workspace} forwards no ports (forwardPorts/appPort in its devcontainer.json).\n`);
  else printForwarded(forwarded);
  return EXIT.ok;
}

/** The forwarded ports as a table: the label as the devcontainer.json names it, and the URL once something listens. */
export function printForwarded(forwarded: readonly ForwardedPortView[]): void {
  printTable(
    ['FORWARDED', 'LABEL', 'STATE', 'URL'],
    forwarded.map((p) => [p.service === null ? String(p.port) : `${p.service}:${String(p.port)}`, p.label ?? '-', p.state, p.url ?? (p.note ?? '-')]),
  );
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
