import type { RunResult, StreamingOptions } from '../process/index.js';
import { lazy } from './lazy.js';

/**
 * node:child_process (and the runner behind it) loads on the first CLI call: an exec that goes over
 * the engine socket (`berth exec` on docker or podman) never starts a process, so never pays for it.
 */
const loadRun = lazy(() => import('../process/run.js'));

/**
 * The shape every engine CLI call takes, for docker, podman and Apple's `container` alike: pure
 * builders (oci/commands.ts, apple/commands.ts) return a CommandSpec, data that unit tests read
 * without starting a process, and one CliRunner executes it. The model is vscode-container-client's
 * "command spec + one runner" (../shared/research/aesthetics.md §2).
 */

/** What a command is about, so a "not found" can say which thing is missing. */
export interface Subject {
  container?: string | undefined;
  image?: string | undefined;
  network?: string | undefined;
}

/**
 * An argument list (after the binary) and the values its `--env NAME` flags read from the CLI's
 * environment: values stay off the command line, where `ps` shows them to every user.
 */
export interface CommandLine {
  args: string[];
  env: Record<string, string>;
}

/** How the process runs, beyond the runner's defaults (its timeout, its environment). */
export type CommandIo = Pick<StreamingOptions, 'timeoutMs' | 'okExitCodes' | 'input' | 'signal' | 'onStdout' | 'onStderr'>;

export interface CommandSpec<T> extends CommandLine {
  subject: Subject;
  io?: CommandIo | undefined;
  /**
   * The finished call as the answer. It may throw a typed error for what only the output tells
   * (exec's own exit codes, one missing name among several); a failed process never reaches it.
   */
  parse: (result: RunResult) => T | Promise<T>;
}

/** A call whose answer is that it ran: exit 0, output unread. */
export function command(args: string[], subject: Subject = {}, io?: CommandIo): CommandSpec<void> {
  return { args, env: {}, subject, io, parse: () => undefined };
}

/** Builds specs whose answer `read` takes from the output with a CLI's parsers. */
export type Reader<P> = <T>(args: string[], subject: Subject, read: (parsers: P, result: RunResult) => T, io?: CommandIo) => CommandSpec<T>;

/**
 * A CLI's reading calls, with its parsers loaded on the first parse: the output schemas (and zod
 * behind them) stay unloaded for calls that never read JSON, such as `berth exec`.
 */
export function readerWith<P>(loadParsers: () => Promise<P>): Reader<P> {
  return (args, subject, read, io) => ({ args, env: {}, subject, io, parse: async (result) => read(await loadParsers(), result) });
}

/** The engine CLI's environment plus the values its `--env NAME` flags read. */
export function envWith(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  return Object.keys(extra).length === 0 ? base : { ...base, ...extra };
}

export interface CliRunnerOptions {
  binary: string;
  /** The CLI's environment (DOCKER_HOST, CONTAINERS_CONF, ...). */
  env: NodeJS.ProcessEnv;
  /** For calls whose spec sets none. */
  timeoutMs: number;
  /** A failed process (not installed, non-zero exit, timeout) as Berth's typed error; each CLI has its own texts. */
  classify: (error: unknown, subject: Subject) => unknown;
}

/** Executes command specs against one CLI binary. The only place the adapters start a process. */
export class CliRunner {
  readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;
  private readonly classify: CliRunnerOptions['classify'];

  constructor(options: CliRunnerOptions) {
    this.binary = options.binary;
    this.env = options.env;
    this.timeoutMs = options.timeoutMs;
    this.classify = options.classify;
  }

  async run<T>(spec: CommandSpec<T>): Promise<T> {
    const { runStreaming } = await loadRun();
    let result: RunResult;
    try {
      result = await runStreaming([this.binary, ...spec.args], {
        ...spec.io,
        timeoutMs: spec.io?.timeoutMs ?? this.timeoutMs,
        env: envWith(this.env, spec.env),
      });
    } catch (error) {
      throw this.classify(error, spec.subject);
    }
    return spec.parse(result);
  }

  /** The whole command line and environment of a call that another runner starts (a pseudo-terminal). */
  commandLine(line: CommandLine): { argv: string[]; env: NodeJS.ProcessEnv } {
    return { argv: [this.binary, ...line.args], env: envWith(this.env, line.env) };
  }

  /** A call on the user's terminal (shell): its exit code is the answer. */
  async interactive(line: CommandLine): Promise<number> {
    const { runInteractive } = await loadRun();
    return runInteractive([this.binary, ...line.args], { env: envWith(this.env, line.env) });
  }
}
