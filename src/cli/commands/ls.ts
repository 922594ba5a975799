import { defineCommand } from '../args.js';
import { openCore } from '../open-berth.js';
import { EXIT, printJson, printTable } from '../output.js';

export default defineCommand({
  usage: 'Usage: berth ls [--json] [--runtime R]\n',
  options: {},
  async run({ values }) {
    const core = await openCore(values.runtime);
    // A person (or script) asking now wants what is now, not a dashboard's reused answer.
    const workspaces = await core.api.list({ fresh: true });
    if (values.json) printJson(workspaces);
    else if (workspaces.length === 0) process.stdout.write(`No workspaces on ${core.runtime}. Create one with \`berth up <id>\`.\n`);
    else {
      printTable(
        ['ID', 'RUNTIME', 'STATE', 'CONTAINER', 'IP', 'ROOT'],
        workspaces.map((w) => [w.id, w.runtime, w.state, w.container, w.ip ?? '-', w.root ?? '-']),
      );
    }
    return EXIT.ok;
  },
});
