import type { Store } from '../../state/store.js';
import { defineCommand, requirePositional } from '../args.js';
import { explainPolicy, portlessAllowWarnings } from '../egress-rules.js';
import { openCore } from '../open-berth.js';
import { EXIT, printJson, UsageError } from '../output.js';

const USAGE = `Usage: berth egress show <id> [--json]
       berth egress allow|deny|revoke <id> PATTERN     (in force when it returns)
       berth egress log <id> [--follow] [--json]
       berth egress requests <id> [--json]             (what agents asked for, newest first)
       berth egress approve|deny <id> REQUEST          (approve adds the allow rule, in force when it returns)
       berth egress serve                              (runs the proxy, when no daemon does)
PATTERN: registry.npmjs.org, *.github.com, api.example.com:443, 10.0.0.5, 10.0.0.0/24, [fd00::1]:8080
  A rule without a port covers every port; a deny on a name covers its subdomains too. Loopback,
  link-local, multicast and this host's own addresses open only for a rule naming one exactly
  (127.0.0.1:8080), never for a range (0.0.0.0/0).
`;

export default defineCommand({
  usage: USAGE,
  options: { follow: { type: 'boolean', short: 'f' } },
  async run({ values, positionals }) {
    const [sub] = positionals;
    switch (sub) {
      case 'serve':
        return serve();
      case 'log': {
        const id = requirePositional(positionals, 1, 'id', USAGE);
        const { default: events } = await import('./events.js');
        return events(['--workspace', id, '--type', 'egress', ...(values.follow ? ['--follow'] : []), ...(values.json ? ['--json'] : [])]);
      }
      case 'show': {
        const id = requirePositional(positionals, 1, 'id', USAGE);
        const egress = await (await openCore(values.runtime, id)).api.egress(id);
        const rules = egress && explainPolicy(egress.policy);
        if (values.json) printJson(egress && { ...egress, rules });
        else if (!egress || !rules) process.stdout.write(`Workspace ${id} has no egress control: it reaches whatever its runtime's network reaches.\n`);
        else {
          process.stdout.write(`proxy     ${egress.proxy}${egress.enforced ? ` (enforced by network ${egress.network ?? '?'})` : ' (NOT enforced: host mode)'}\n`);
          const width = Math.max(0, ...[...rules.allow, ...rules.deny].map((r) => r.rule.length));
          for (const side of ['allow', 'deny'] as const) {
            if (rules[side].length === 0) process.stdout.write(`${side.padEnd(10)}${side === 'allow' ? '(nothing: default deny)' : '(nothing)'}\n`);
            rules[side].forEach((r, i) => process.stdout.write(`${(i === 0 ? side : '').padEnd(10)}${r.rule.padEnd(width)}  ${r.covers}\n`));
          }
        }
        return EXIT.ok;
      }
      case 'requests': {
        const id = requirePositional(positionals, 1, 'id', USAGE);
        const requests = (await openRequestStore()).egressRequests.list(id);
        if (values.json) printJson(requests);
        else if (requests.length === 0) process.stdout.write(`No egress requests for ${id}.\n`);
        else for (const r of requests) process.stdout.write(`${r.id}  ${r.state.padEnd(8)}  ${r.target}  ${r.requestedAt}  ${JSON.stringify(r.reason)}\n`);
        return EXIT.ok;
      }
      case 'approve':
        return decide('approved', requirePositional(positionals, 1, 'id', USAGE), requirePositional(positionals, 2, 'REQUEST', USAGE), values);
      case 'allow':
      case 'deny':
      case 'revoke': {
        // `deny <id> r-…` naming one of its requests decides that request; otherwise it is a rule.
        if (sub === 'deny' && (await isRequest(positionals[1], positionals[2]))) return decide('denied', positionals[1] ?? '', positionals[2] ?? '', values);
        const id = requirePositional(positionals, 1, 'id', USAGE);
        const pattern = requirePositional(positionals, 2, 'PATTERN', USAGE);
        const change = sub === 'allow' ? { allow: pattern } : sub === 'deny' ? { deny: pattern } : { revoke: pattern };
        if (sub === 'allow') for (const warning of portlessAllowWarnings([pattern])) process.stderr.write(`warning: ${warning.replace(/^--allow /, '')}\n`);
        const core = await openCore(values.runtime, id);
        const policy = await core.api.changeEgress(id, change);
        // Through the daemon it answered once its proxy applied the change; made here, it must be served first.
        if (core.api.via === 'in-process') await (await import('../on-demand.js')).serveEgressChange(id, core.runtime, 'change');
        if (values.json) printJson(policy);
        else process.stdout.write(`allow: ${policy.allow.join(', ') || '(nothing)'}\ndeny:  ${policy.deny.join(', ') || '(nothing)'}\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(sub === undefined ? 'Missing the egress subcommand.' : `Unknown egress subcommand "${sub}".`, USAGE);
    }
  },
});

/** Requests live in SQLite, readable and decidable without a runtime or the daemon. */
async function openRequestStore(): Promise<Store> {
  const [{ Store }, { berthHome }] = await Promise.all([import('../../state/store.js'), import('../../config.js')]);
  return Store.open(berthHome());
}

async function isRequest(workspace: string | undefined, word: string | undefined): Promise<boolean> {
  if (workspace === undefined || word === undefined || !/^r-[0-9a-f]{8}$/.test(word)) return false;
  return (await openRequestStore()).egressRequests.list(workspace).some((r) => r.id === word);
}

/**
 * A person decides an agent's request. Approving adds the allow rule through the same change as
 * `berth egress allow` (the daemon's proxy applies it before this returns), then records the decision.
 */
async function decide(decision: 'approved' | 'denied', id: string, requestId: string, values: { runtime?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const [store, { settleEgressRequest }, { stampEvent }] = await Promise.all([openRequestStore(), import('../../egress/requests.js'), import('../../events.js')]);
  const decided = await settleEgressRequest(store, (event) => store.events.appendEvent(stampEvent(event)), id, requestId, decision, async (target) => {
    const core = await openCore(values.runtime, id);
    await core.api.changeEgress(id, { allow: target });
    if (core.api.via === 'in-process') await (await import('../on-demand.js')).serveEgressChange(id, core.runtime, 'change');
  });
  if (values.json) printJson(decided);
  else process.stdout.write(`${decided.id} ${decided.state}: ${decided.target}${decision === 'approved' ? ' is allowed now' : ' stays closed'}\n`);
  return EXIT.ok;
}

/** Foreground: serve every egress workspace until SIGINT/SIGTERM (the daemon runs the same service). */
async function serve(): Promise<number> {
  const [{ Store }, { berthHome }, { EgressService }, { connectDaemon }] = await Promise.all([
    import('../../state/store.js'),
    import('../../config.js'),
    import('../../egress/service.js'),
    import('../../client/index.js'),
  ]);
  // Two proxies on the same gateway addresses would fight over them: the daemon's wins.
  if (await connectDaemon()) {
    const { BerthError } = await import('../../errors.js');
    throw new BerthError('E_CONFLICT', 'The Berth daemon already serves the egress proxy for this state folder.', { hint: 'Nothing to do: `berth daemon status` shows it. Stop the daemon first to serve the proxy by hand.' });
  }
  const { keepServingOnUnhandledRejection } = await import('../last-resort.js');
  keepServingOnUnhandledRejection('berth egress');
  const service = new EgressService(Store.open(berthHome()));
  await service.start();
  process.stderr.write(`berth egress: serving ${service.listening().join(', ') || 'no workspace yet (waiting for one)'}; Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await service.close();
  return EXIT.ok;
}
