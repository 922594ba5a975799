import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, globalsAfterCommand, parseEnvPairs } from './args.js';
import type { ExecOptions, ExecResult } from '../runtime/types.js';
import { reportError, UsageError } from './output.js';

export const EXEC_USAGE = 'Usage: berth exec <id> [--env K=V]... [--workdir DIR] [--user U] -- CMD [ARG...]\n';

export const EXEC_OPTIONS = {
  env: { type: 'string', multiple: true },
  workdir: { type: 'string' },
  user: { type: 'string' },
} as const;

export interface ExecFlags {
  env: Record<string, string>;
  workdir: string | undefined;
  user: string | undefined;
}

/**
 * `berth exec` on its hot path, before the rest of the CLI is loaded: `main.ts` runs this first and
 * the build bundles it (with what it imports) into `dist/cli/main.js` on its own, so an agent's
 * hundredth `berth exec` parses one small file instead of the whole CLI (docs/benchmarks.md).
 *
 * Returns undefined, having created nothing, whenever the whole CLI must answer instead: another
 * command, `--help`, anything the command line's own parser would complain about, or no address
 * card (the same hand-over `berth exec` makes inside the whole CLI). The two halves never share an
 * object, so each keeps its own error classes without confusing the other's `instanceof`.
 */
export async function fastExec(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = globalsAfterCommand(argv);
  if (command !== 'exec') return undefined;
  const split = rest.indexOf('--');
  if (split === -1) return undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: rest.slice(0, split), options: { ...GLOBAL_OPTIONS, ...EXEC_OPTIONS }, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  const { values, positionals } = parsed;
  const id = positionals[0];
  const userCommand = rest.slice(split + 1);
  if (values.help === true || id === undefined || userCommand.length === 0) return undefined;
  try {
    const flags = { env: parseEnvPairs(values.env, EXEC_USAGE), workdir: values.workdir, user: values.user };
    return await execByAddressCard(id, values.runtime, userCommand, flags);
  } catch (error) {
    if (error instanceof UsageError) return undefined;
    // The same boundary (and the same --json test) as run-cli's.
    return reportError(error, argv.includes('--json'));
  }
}

/**
 * The hot path agents hit hundreds of times: when Berth created the container, its address card
 * says where it is, so neither SQLite nor the library is loaded. Any explicit runtime choice that
 * disagrees with the card takes the full path instead (undefined).
 */
export async function execByAddressCard(id: string, flag: string | undefined, command: string[], options: ExecFlags): Promise<number | undefined> {
  const [{ appleAutostart, berthHome, loadConfig }, { readAddressCard }, { validateWorkspaceId }] = await Promise.all([
    import('../config.js'),
    import('../workspace/address-card.js'),
    import('../workspace/workspace-id.js'),
  ]);
  validateWorkspaceId(id);
  const home = berthHome();
  const card = readAddressCard(home, id);
  if (!card) return undefined;
  const config = loadConfig(home);
  const explicit = [flag, process.env['BERTH_RUNTIME'], config.runtime].find((choice) => choice !== undefined && choice !== '');
  if (explicit !== undefined && explicit !== 'auto' && explicit !== card.runtime) return undefined;
  const [{ createRuntime }, { execInWorkspace, rethrowIfGone }, { execCancellable }, { withExecDefaults }] = await Promise.all([
    import('../runtime/select.js'),
    import('../workspace/exec.js'),
    import('../workspace/exec-cancel.js'),
    import('../workspace/exec-defaults.js'),
  ]);
  const runtime = await createRuntime(card.runtime, { home, startSystem: appleAutostart(process.env, config) });
  const argv = [...(card.fence ?? []), ...command];
  const given = withExecDefaults(card.defaults, { env: options.env, cwd: options.workdir, user: options.user });
  return execOnTerminal(
    (streamed) => execCancellable(runtime, card.container, argv, { ...streamed, ...given }).catch((error: unknown) => rethrowIfGone(error, runtime, id, card.container)),
    () => execInWorkspace(runtime, id, card.container, argv, { env: given.env, workdir: given.cwd, user: given.user }),
  );
}

/** What `berth exec` adds to an exec: the output's way out, stdin's way in, and how to stop it. */
export type TerminalExecOptions = Pick<ExecOptions<'buffer'>, 'onStdout' | 'onStderr' | 'stdin' | 'signal'> & { encoding: 'buffer' };

/**
 * How `berth exec` runs a command. With a terminal on stdin it is attached to it (`interactive`:
 * a TTY, for prompts and editors); otherwise it takes the library's own exec path (`streamed`):
 * output on stdout and stderr as it comes, bytes unchanged, stdin piped through to EOF. Ctrl-C or
 * a TERM ends the command inside the workspace too (not only this client), then exits 128 + the
 * signal's number, as a shell reports it.
 */
export async function execOnTerminal(streamed: (options: TerminalExecOptions) => Promise<ExecResult<Buffer>>, interactive: () => Promise<number>): Promise<number> {
  if (process.stdin.isTTY) return interactive();
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    // A second one while the command is being ended: the user means now.
    if (received !== undefined) process.exit(128 + signalNumbers[signal]);
    received = signal;
    controller.abort(new Error(`berth exec received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { exitCode } = await streamed({
      encoding: 'buffer',
      onStdout: (chunk) => process.stdout.write(chunk),
      onStderr: (chunk) => process.stderr.write(chunk),
      stdin: process.stdin,
      signal: controller.signal,
    });
    return exitCode;
  } catch (error) {
    if (received !== undefined) return 128 + signalNumbers[received];
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const signalNumbers = { SIGINT: 2, SIGTERM: 15 } as const;
