import { defineCommand, requirePositional } from '../args.js';
import { openCore } from '../open-berth.js';
import { EXIT, printJson } from '../output.js';
import type { BerthApi } from '../../api.js';
import type { ForwardedPortView } from '../../workspace/forwarded-ports.js';
import { egressIn } from '../../workspace/up-report.js';
import { forwardedName } from './up.js';

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
    const forwarded = await forwardedPortsOf(core.api, id);
    if (values.json) {
      printJson({ ...workspace, isolated, egress, forwardedPorts: forwarded.ports, ...(forwarded.error === null ? {} : { forwardedPortsError: forwarded.error }) });
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
      ...forwarded.ports.map((p) => ['forwarded', forwardedStatus(p)]),
      ...(forwarded.error === null ? [] : [['forwarded', `cannot check: ${forwarded.error}`]]),
    ];
    process.stdout.write(lines.map(([k, v]) => `${(k ?? '').padEnd(10)} ${v ?? ''}\n`).join(''));
    return EXIT.ok;
  },
});

/**
 * The ports its devcontainer.json forwards, checked now (one scan; none for other workspaces). Status
 * still answers when the check cannot be made (no python3 or node in the image to bridge a port):
 * it says why instead.
 */
async function forwardedPortsOf(api: BerthApi, id: string): Promise<{ ports: ForwardedPortView[]; error: string | null }> {
  try {
    return { ports: await api.dev.forwardedPorts(id), error: null };
  } catch (error) {
    return { ports: [], error: error instanceof Error ? error.message : String(error) };
  }
}

/** `3000 (Frontend): http://127.0.0.1:41001/`, or its state and why there is no URL. */
function forwardedStatus(port: ForwardedPortView): string {
  const name = forwardedName(port);
  return port.url === null ? `${name}: ${port.state}${port.note === null ? '' : ` (${port.note})`}` : `${name}: ${port.url}`;
}
