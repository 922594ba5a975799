import { isBerthError } from '../errors.js';
import type { CommandLine, CommandSpec } from './command.js';
import { notFound } from './errors.js';
import { ExecOutputCollector } from './exec-io.js';
import type { BuildImageOptions, ExecEncoding, ExecOptions, ExecOutput, ExecResult, LogsOptions, LogsResult, NetworkInfo, RuntimeKind } from './types.js';

/**
 * What the CLI-driven adapters (docker/podman and Apple) share: the flows, and the command specs
 * whose shape is the same for both CLIs. Each CLI's commands.ts supplies only its argv and parsers.
 */

/** How long a build may take unless the caller says. */
const BUILD_TIMEOUT_MS = 30 * 60_000;

/**
 * Returns the network, creating it when absent. A create that loses a race to another caller is
 * fine: theirs is as good as ours, so a conflict is adopted, not reported.
 */
export async function ensureNetwork(inspect: () => Promise<NetworkInfo>, create: () => Promise<unknown>): Promise<NetworkInfo> {
  try {
    return await inspect();
  } catch (error) {
    if (!isBerthError(error, 'E_NOT_FOUND')) throw error;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      break;
    } catch (error) {
      if (isBerthError(error, 'E_CONFLICT')) break;
      // podman (netavark) lists the host's interfaces to pick a free subnet; one removed meanwhile
      // (another network going away) fails the create with this, and the next try succeeds. Seen
      // in CI with two test workers creating and removing networks at once.
      if (attempt < 3 && error instanceof Error && /no such network interface/.test(error.message)) continue;
      throw error;
    }
  }
  return inspect();
}

/**
 * Runs a build, once more when podman (buildah) failed it only because one of its intermediate
 * containers was gone at cleanup: `error deleting build container "…": identifier is not a container`
 * (deleteSuccessfulIntermediateCtrs, imagebuildah/executor.go in containers/buildah, vendored by
 * podman 4.x). Another process removing an image the build stood on (`rmi -f` takes the containers
 * based on it, a build's too) does that; seen in CI with two test workers. The second build finds
 * its layers cached, so it costs little, and it fails for real if anything else is wrong.
 */
export async function buildTolerantOfCleanup<T>(build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    if (!(error instanceof Error && /error deleting build container [^\n]*identifier is not a container/.test(error.message))) throw error;
    return build();
  }
}

/** The one record an inspect of a single name returned, or a typed not-found (some versions print `[]`). */
export function onlyRecord<T>(records: readonly T[], runtime: RuntimeKind, what: 'container' | 'image' | 'network', name: string): T {
  const [record] = records;
  if (record === undefined) throw notFound(runtime, what, name);
  return record;
}

/**
 * exec hands the command's own exit code back: any exit is an answer, unless `engineFailure` (the
 * CLI's own exit codes with its own error line) says the CLI failed. A user's command runs as long
 * as it runs unless the caller set a limit. Output goes to the caller's callbacks as the CLI
 * prints it and is collected as bytes for the result (text or bytes, as asked).
 */
export function execSpec<E extends ExecEncoding>(
  line: CommandLine,
  container: string,
  options: ExecOptions<E>,
  engineFailure: (exitCode: number, stderr: string) => Error | undefined,
): CommandSpec<ExecResult<ExecOutput<E>>> {
  const output = new ExecOutputCollector(options);
  return {
    ...line,
    subject: { container },
    io: output.processIo(),
    parse: (result) => {
      // The runner keeps stderr (a tail of it when it streams) for reading the CLI's own error line.
      const failure = engineFailure(result.exitCode, result.stderr);
      if (failure) throw failure;
      return output.result(result.exitCode, result.durationMs);
    },
  };
}

/** `logs`: streamed to the callbacks when given; a follow runs until the caller's signal stops it. */
export function logsSpec(args: string[], container: string, options: LogsOptions): CommandSpec<LogsResult> {
  return {
    args,
    env: {},
    subject: { container },
    io: {
      signal: options.signal,
      timeoutMs: options.follow ? Infinity : undefined,
      onStdout: options.onStdout,
      onStderr: options.onStderr,
    },
    parse: (result) => ({ stdout: result.stdout, stderr: options.onStderr ? '' : result.stderr }),
  };
}

/** `build`: its output goes to the caller's callback as it comes; the image is inspected after. */
export function buildSpec(line: CommandLine, options: BuildImageOptions): CommandSpec<void> {
  return {
    ...line,
    subject: {},
    io: {
      timeoutMs: options.timeoutMs ?? BUILD_TIMEOUT_MS,
      signal: options.signal,
      onStdout: options.onOutput,
      onStderr: options.onOutput,
    },
    parse: () => undefined,
  };
}
