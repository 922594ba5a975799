import { defineCommand, requirePositional } from '../args.js';
import { openCore } from '../open-berth.js';
import { EXIT, printJson } from '../output.js';
import { egressIn } from '../../workspace/up-report.js';

const USAGE = 'Usage: berth status <id> [--json] [--runtime R]\n';

export default defineCommand({
  usage: USAGE,
  options: {},
  async run({ values, positionals }) {
    const id = requirePositional(positionals, 0, 'id', USAGE);
    const core = await openCore(values.runtime, id);
    const workspace = await core.api.status(id);
    const isolated = core.isolated;
    const egress = egressIn(await core.api.egress(id), workspace.isolation);
    if (values.json) {
      printJson({ ...workspace, isolated, egress });
      return EXIT.ok;
    }
    const lines = [
      ['workspace', workspace.id],
      ['runtime', `${workspace.runtime}${isolated ? '' : workspace.isolation === 'sandbox' ? ' (host mode: sandboxed)' : ' (host mode: NOT isolated)'}`],
      ['state', workspace.state],
      ...(workspace.drift ?? []).map((reason) => ['because', reason]),
      ...(workspace.driftUnknown === undefined ? [] : [['drift', `unknown: ${workspace.driftUnknown}`]]),
      ['container', workspace.container],
      ['image', workspace.image],
      ['ip', workspace.ip ?? '-'],
      ['root', workspace.root ?? '-'],
      ['egress', egress === null ? 'none (the runtime network)' : egress.enforced ? `enforced (${egress.network ?? 'host sandbox: proxy only'}), allow ${egress.policy.allow.join(', ') || 'nothing'}` : 'NOT enforced (host mode): proxy variables only'],
    ];
    process.stdout.write(lines.map(([k, v]) => `${(k ?? '').padEnd(10)} ${v ?? ''}\n`).join(''));
    return EXIT.ok;
  },
});
