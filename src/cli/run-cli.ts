import { readFileSync } from 'node:fs';
import { globalsAfterCommand } from './args.js';
import { EXIT, UsageError, reportError } from './output.js';
import { RUNTIME_CHOICES } from '../runtime/kinds.js';

/** A command: parses its own argv (after the command name) and returns an exit code. */
export type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }> }> = {
  up: { summary: 'create or start a workspace (lazy: reuses what fits)', load: () => import('./commands/up.js') },
  exec: { summary: 'run a command in a workspace: berth exec <id> -- CMD...', load: () => import('./commands/exec.js') },
  shell: { summary: 'open an interactive shell in a workspace', load: () => import('./commands/shell.js') },
  ls: { summary: "list this installation's workspaces", load: () => import('./commands/ls.js') },
  status: { summary: 'show one workspace', load: () => import('./commands/status.js') },
  stop: { summary: 'stop a workspace (its files stay)', load: () => import('./commands/stop.js') },
  rm: { summary: 'remove a workspace container (its files stay)', load: () => import('./commands/rm.js') },
  cp: { summary: 'copy files: berth cp <id>:<path> <host-path>, or the other way', load: () => import('./commands/cp.js') },
  logs: { summary: "print the workspace's main process output", load: () => import('./commands/logs.js') },
  dev: { summary: 'dev servers: start, ls, stop, restart, logs, open (preview URLs)', load: () => import('./commands/dev.js') },
  egress: { summary: 'egress rules: show, allow, deny, revoke, log; serve runs the proxy', load: () => import('./commands/egress.js') },
  mcp: { summary: 'serve one workspace to a coding agent over MCP (stdio): berth mcp --workspace <id>', load: () => import('./commands/mcp.js') },
  events: { summary: 'show the event log (--follow to watch)', load: () => import('./commands/events.js') },
  gc: { summary: 'remove what Berth created for workspaces that are gone (dry run unless --yes)', load: () => import('./commands/gc.js') },
  plan: { summary: 'show what apply would do to match berth.yaml (-f FILE)', load: () => import('./commands/plan.js').then((m) => ({ default: m.planCommand })) },
  apply: { summary: 'make the workspaces match berth.yaml (--yes, or --plan-hash from plan)', load: () => import('./commands/apply.js') },
  reconcile: { summary: 'one reconcile cycle: fix drift from berth.yaml within policy, report the rest', load: () => import('./commands/reconcile.js') },
  schema: { summary: 'print the JSON Schema of berth.yaml (for editors)', load: () => import('./commands/schema.js') },
  daemon: { summary: 'run berthd: the API, dashboard, egress proxy and dev-server liveness (status, stop; commands start it on demand)', load: () => import('./commands/daemon.js') },
  devcontainer: { summary: 'read a folder\'s devcontainer.json as Berth would bring it up: berth devcontainer read', load: () => import('./commands/devcontainer.js') },
  image: { summary: "build Berth's default workspace image: berth image build", load: () => import('./commands/image.js') },
  doctor: { summary: 'check what Berth needs, and say how to fix what is missing', load: () => import('./commands/doctor.js') },
};

export async function runCli(argv: string[]): Promise<number> {
  const [first, ...rest] = globalsAfterCommand(argv);
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[first];
  const json = argv.includes('--json');
  try {
    if (!command) throw new UsageError(`Unknown command "${first}".`, usage());
    const { default: run } = await command.load();
    return await run(rest);
  } catch (error) {
    return reportError(error, json);
  }
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    `berth ${version()}: sandboxed workspaces on Apple container, docker, podman or the host`,
    '',
    'Usage: berth <command> [options]',
    '',
    ...lines,
    '',
    `Global options: --runtime ${RUNTIME_CHOICES.join('|')} (or BERTH_RUNTIME), --json, --help`,
    'State lives in $BERTH_HOME (default ~/.berth).',
    '',
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
