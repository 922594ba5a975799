import { defineCommand, requirePositional } from '../args.js';
import { openBerth } from '../open-berth.js';

const USAGE = 'Usage: berth shell <id> [--runtime R]\n';

/** The best login shell the workspace has: bash when present, else sh. */
const CONTAINER_SHELL = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi'];

export default defineCommand({
  usage: USAGE,
  options: {},
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const berth = await openBerth(values.runtime);
    const shell = berth.runtime.capabilities.isolation ? CONTAINER_SHELL : [process.env['SHELL'] || '/bin/sh', '-l'];
    return berth.execInteractive(id, shell);
  },
});
