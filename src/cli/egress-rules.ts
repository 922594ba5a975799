import { inRange } from '../egress/addresses.js';
import { hostAddresses } from '../egress/host-addresses.js';
import { parseRule, summarizeRule, type EgressPolicy, type RuleSummary } from '../egress/policy.js';

/** What each rule of a policy covers, as `berth egress show` says it (and its --json carries). */
export interface PolicyExplained {
  allow: ExplainedRule[];
  deny: ExplainedRule[];
}

export interface ExplainedRule extends RuleSummary {
  /** One line for people: ports, subdomains, host-only addresses. */
  covers: string;
}

/** Samples of the host-only addresses: a range containing any of them is told that they stay closed. */
const HOST_ONLY_SAMPLES = ['127.0.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '::1', 'fe80::1', 'ff02::1'];

export function explainPolicy(policy: EgressPolicy, own: readonly string[] = hostAddresses()): PolicyExplained {
  const explain = (side: 'allow' | 'deny') => (pattern: string): ExplainedRule => {
    const summary = summarizeRule(pattern, side, own);
    const parts = [summary.ports === 'all' ? 'all ports' : `port ${String(summary.ports)}`];
    if (summary.subdomains) parts.push('and every subdomain');
    if (summary.opensHostOnly) parts.push(`OPENS ${summary.opensHostOnly} (named exactly)`);
    else if (side === 'allow' && coversHostOnly(pattern, own)) parts.push("except loopback, link-local, multicast and this host's own addresses (only a rule naming one opens it)");
    return { ...summary, covers: parts.join(', ') };
  };
  return { allow: policy.allow.map(explain('allow')), deny: policy.deny.map(explain('deny')) };
}

function coversHostOnly(pattern: string, own: readonly string[]): boolean {
  const rule = parseRule(pattern);
  if (rule.kind !== 'address' || rule.exact !== null) return false;
  return [...HOST_ONLY_SAMPLES, ...own].some((address) => inRange(rule.range, address));
}

/** `berth up --allow host` (or `egress allow`) without a port opens every port: worth a warning, not an error. */
export function portlessAllowWarnings(patterns: readonly string[] | undefined): string[] {
  const warnings: string[] = [];
  for (const pattern of patterns ?? []) {
    let rule;
    try {
      rule = parseRule(pattern);
    } catch {
      continue; // reported as an error by the command itself
    }
    if (rule.port !== null) continue;
    const example = rule.kind === 'host' ? `${rule.host.replace(/^\*\./, 'api.')}:443` : `${pattern.includes(':') && !pattern.startsWith('[') ? `[${pattern}]` : pattern}:443`;
    warnings.push(`--allow ${pattern} has no port, so it opens every port of ${rule.kind === 'host' ? 'that host' : 'those addresses'}; write ${example} to open one.`);
  }
  return warnings;
}
