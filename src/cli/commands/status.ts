import { defineCommand, requirePositional } from '../args.js';
import { openCore } from '../open-berth.js';
import { EXIT, printJson } from '../output.js';

const USAGE = 'Usage: berth status <id> [--json] [--runtime R]\n';

export default defineCommand({
  usage: USAGE,
  options: {},
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const core = await openCore(values.runtime, id);
    const workspace = await core.status(id);
    const isolated = core.isolated;
    const egress = await core.egress(id);
    if (values.json) {
      printJson({ ...workspace, isolated, egress });
      return EXIT.ok;
    }
    const lines = [
      ['workspace', workspace.id],
      ['runtime', `${workspace.runtime}${isolated ? '' : ' (host mode: not isolated)'}`],
      ['state', workspace.state],
      ['container', workspace.container],
      ['image', workspace.image],
      ['ip', workspace.ip ?? '-'],
      ['root', workspace.root ?? '-'],
      ['egress', egress === null ? 'none (the runtime network)' : egress.enforced ? `enforced (${egress.network ?? '?'}), allow ${egress.policy.allow.join(', ') || 'nothing'}` : 'NOT enforced (host mode): proxy variables only'],
    ];
    process.stdout.write(lines.map(([k, v]) => `${(k ?? '').padEnd(10)} ${v ?? ''}\n`).join(''));
    return EXIT.ok;
  },
});
