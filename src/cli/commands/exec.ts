import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { EXEC_OPTIONS, EXEC_USAGE, execByAddressCard, execOnTerminal } from '../fast-exec.js';
import { openBerth } from '../open-berth.js';
import { UsageError } from '../output.js';

/**
 * Runs a command in a workspace (streamed, or attached to a terminal: `execOnTerminal`); berth exec
 * exits with the command's exit code. Usually
 * `fastExec` (main.ts) has answered before this loads; this is the path without an address card.
 */
export default defineCommand({
  usage: EXEC_USAGE,
  options: EXEC_OPTIONS,
  async run({ values, positionals }, command) {
    const id = requirePositional(positionals, 0, 'id', EXEC_USAGE);
    if (command.length === 0) throw new UsageError('Missing the command to run after --.', EXEC_USAGE);
    const options = { env: parseEnvPairs(values.env, EXEC_USAGE), workdir: values.workdir, user: values.user };
    const fast = await execByAddressCard(id, values.runtime, command, options);
    if (fast !== undefined) return fast;
    const berth = await openBerth(values.runtime, id);
    return execOnTerminal(
      (streamed) => berth.exec(id, command, { ...streamed, env: options.env, cwd: options.workdir, user: options.user }),
      () => berth.execInteractive(id, command, options),
    );
  },
});
