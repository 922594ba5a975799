import { defineCommand, requirePositional } from '../args.js';
import { openCore } from '../open-berth.js';
import { EXIT, printJson } from '../output.js';

/** stop and rm: one workspace id in, one operation, one line (or JSON) out. */
export function lifecycleCommand(verb: string, operation: 'stop' | 'remove', done: string): (argv: string[]) => Promise<number> {
  const usage = `Usage: berth ${verb} <id> [--json] [--runtime R]\n`;
  return defineCommand({
    usage,
    options: {},
    async run({ values, positionals }) {
      const id = requirePositional(positionals, 0, 'id', usage);
      const core = await openCore(values.runtime, id);
      await core.api[operation](id);
      if (values.json) printJson({ id, ok: true });
      else process.stdout.write(`${done} workspace ${id}.\n`);
      return EXIT.ok;
    },
  });
}
