import { BerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import type { EgressRequest } from '../state/egress-requests.js';
import type { Store } from '../state/store.js';
import { validatePolicy } from './policy.js';

/**
 * Egress requests: an agent inside a workspace asks for a target its rules do not allow, with a
 * reason; a person decides. Asking changes nothing (the request is a row and an event); approving
 * is a person's `berth egress approve`, which adds the allow rule through the ordinary egress
 * change (the same path as `berth egress allow`), so the proxy applies it as it applies any rule.
 */

type Record = (event: BerthEventInput) => void;

/** Longest reason kept: a sentence or two for a person, not a payload. */
const MAX_REASON = 500;

export function requestEgress(store: Pick<Store, 'egress' | 'egressRequests'>, record: Record, workspace: string, target: string, reason: string): EgressRequest {
  if (!store.egress.egress(workspace)[0]) {
    throw new BerthError('E_INVALID_INPUT', `Workspace "${workspace}" has no egress control, so there is nothing to ask for.`, {
      hint: 'Its network reaches whatever its runtime reaches; if a connection fails, the cause is elsewhere.',
    });
  }
  const trimmed = target.trim();
  // The same rule syntax a person would type: what is asked for is exactly what approving opens.
  validatePolicy({ allow: [trimmed], deny: [] });
  const cleanReason = reason.trim().slice(0, MAX_REASON);
  if (cleanReason === '') throw new BerthError('E_INVALID_INPUT', 'An egress request needs a reason.', { hint: 'Say what the connection is for (e.g. "npm install needs registry.npmjs.org").' });
  const request = store.egressRequests.create(workspace, trimmed, cleanReason);
  record({
    type: 'egress.requested',
    workspace,
    level: 'warn',
    message: `Workspace ${workspace} asks to reach ${trimmed}: ${cleanReason} (\`berth egress approve ${workspace} ${request.id}\` or \`deny\`).`,
    data: { request: request.id, target: trimmed, reason: cleanReason },
  });
  return request;
}

/** Records a person's decision (the caller applies an approval's rule first). */
export function decideEgressRequest(store: Pick<Store, 'egressRequests'>, record: Record, workspace: string, id: string, decision: 'approved' | 'denied'): EgressRequest {
  const request = store.egressRequests.decide(workspace, id, decision);
  record({
    type: `egress.request-${decision}`,
    workspace,
    message: `Egress request ${id} of ${workspace} (${request.target}) was ${decision}.`,
    data: { request: id, target: request.target, decision },
  });
  return request;
}

/**
 * A person's decision, wherever it is made (the CLI, the daemon's API, the dashboard): refused
 * unless pending; an approval first opens the target through `allow` (the ordinary egress change,
 * in force when it resolves), then the decision is recorded.
 */
export async function settleEgressRequest(
  store: Pick<Store, 'egressRequests'>,
  record: Record,
  workspace: string,
  id: string,
  decision: 'approved' | 'denied',
  allow: (target: string) => Promise<unknown>,
): Promise<EgressRequest> {
  const request = store.egressRequests.get(workspace, id);
  if (request.state !== 'pending') {
    throw new BerthError('E_CONFLICT', `Egress request ${id} of workspace "${workspace}" was already ${request.state}.`, { hint: 'Change the rules with `berth egress allow|revoke`.' });
  }
  if (decision === 'approved') await allow(request.target);
  return decideEgressRequest(store, record, workspace, id, decision);
}
