import { defineCommand, parseEnvPairs, requirePositional } from '../args.js';
import { openBerth } from '../open-berth.js';
import { UsageError } from '../output.js';

const USAGE = 'Usage: berth exec <id> [--env K=V]... [--workdir DIR] [--user U] -- CMD [ARG...]\n';

/** Runs a command attached to this terminal; berth exits with the command's exit code. */
export default defineCommand({
  usage: USAGE,
  options: { env: { type: 'string', multiple: true }, workdir: { type: 'string' }, user: { type: 'string' } },
  async run({ values, positionals }, command) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    if (command.length === 0) throw new UsageError('Missing the command to run after --.', USAGE);
    const berth = await openBerth(values.runtime, id);
    return berth.execInteractive(id, command, { env: parseEnvPairs(values.env, USAGE), workdir: values.workdir, user: values.user });
  },
});
