import { defineCommand, requirePositional } from '../args.js';
import { INTERACTIVE_SHELL } from '../../workspace/shell-profile.js';
import { openBerth } from '../open-berth.js';

const USAGE = 'Usage: berth shell <id> [--runtime R]\n';

export default defineCommand({
  usage: USAGE,
  options: {},
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const berth = await openBerth(values.runtime, id);
    const shell = berth.runtime.capabilities.isolation === 'container' ? INTERACTIVE_SHELL : [process.env['SHELL'] || '/bin/sh', '-i'];
    return berth.execInteractive(id, shell);
  },
});
