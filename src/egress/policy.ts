import { isIP } from 'node:net';
import { BerthError } from '../errors.js';
import { canonicalAddress, inRange, rangeOf, RangeSet, type AddressRange } from './addresses.js';

export { canonicalAddress } from './addresses.js';

/**
 * A workspace's egress policy: default deny; allow rules open exact hosts, `*.suffix` wildcards,
 * `host:port`, IPs and CIDR blocks; deny rules win over allow rules, and a deny on a name covers its
 * subdomains too. A rule without a port opens (or closes) every port. Private, shared and reserved
 * addresses are refused unless an IP/CIDR allow rule covers them; the host-only addresses (loopback,
 * link-local with cloud metadata, unspecified, multicast, and the host's own addresses) only open
 * for a rule naming that exact address, never for a range such as 0.0.0.0/0. A hostname rule opens
 * neither, which is what stops DNS rebinding (the address is checked after resolution, and the
 * connection goes to that address).
 */
export type { EgressPolicy } from '../state/egress-records.js';
import type { EgressPolicy } from '../state/egress-records.js';

export type Verdict = 'allow' | 'deny';

export interface Decision {
  verdict: Verdict;
  /** The rule that decided, or null for the default. */
  rule: string | null;
  /** One sentence, for the 403 body and the event log. */
  reason: string;
}

interface HostRule {
  kind: 'host';
  text: string;
  /** Lower case, no trailing dot. `*.example.com` keeps the `*.` prefix. */
  host: string;
  port: number | null;
}

interface AddressRule {
  kind: 'address';
  text: string;
  range: AddressRange;
  /** The one address this rule names (written without a prefix), canonical; null for a CIDR block. */
  exact: string | null;
  port: number | null;
}

type Rule = HostRule | AddressRule;

const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Parses one pattern; throws a clear error for anything it cannot read. */
export function parseRule(pattern: string): Rule {
  const text = pattern.trim();
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/:]+)/i.exec(text);
  if (url) throw invalid(pattern, `that is a URL; give the host alone (${url[1] ?? 'host'}), or host:port`);
  const { host, port } = splitHostPort(text, pattern);
  const cidr = /^(.+)\/(\d{1,3})$/.exec(host);
  const address = cidr ? cidr[1] ?? '' : host;
  const family = isIP(address);
  if (family !== 0) {
    const prefix = cidr ? Number(cidr[2]) : undefined;
    if (prefix !== undefined && prefix > (family === 4 ? 32 : 128)) throw invalid(pattern, `prefix /${String(prefix)} is too long`);
    const range = rangeOf(address, prefix);
    if (range === null) throw invalid(pattern, 'not an IP address');
    return { kind: 'address', text, range, exact: cidr ? null : canonicalAddress(address), port };
  }
  const normal = host.toLowerCase().replace(/\.$/, '');
  if (!HOST.test(normal)) throw invalid(pattern, 'not a host name, *.suffix, IP address or CIDR block');
  return { kind: 'host', text, host: normal, port };
}

function splitHostPort(text: string, pattern: string): { host: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: parsePort(bracketed[2], pattern) };
  const colons = (text.match(/:/g) ?? []).length;
  if (colons === 1) {
    const [host = '', port] = text.split(':');
    return { host, port: parsePort(port, pattern) };
  }
  return { host: text, port: null };
}

function parsePort(text: string | undefined, pattern: string): number | null {
  if (text === undefined) return null;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(pattern, `port ${text} is not 1-65535`);
  return port;
}

function invalid(pattern: string, why: string): BerthError {
  return new BerthError('E_INVALID_INPUT', `Invalid egress pattern ${JSON.stringify(pattern)}: ${why}.`, {
    hint: 'Use registry.npmjs.org, *.github.com, api.example.com:443, 10.0.0.5, 10.0.0.0/24 or [fd00::1]:8080.',
  });
}

/** Validates every pattern of a policy at once, so a typo is reported when the rule is added. */
export function validatePolicy(policy: EgressPolicy): void {
  for (const pattern of [...policy.allow, ...policy.deny]) parseRule(pattern);
}

/** Addresses a workspace may never reach unless an IP rule opens them explicitly. */
const SPECIAL = new RangeSet([
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
]);

/**
 * The host-only addresses: what answers here is this machine (or its link), never a remote service,
 * so a range rule (even 0.0.0.0/0) never opens them; only a rule naming the exact address does.
 * 0.0.0.0/8 and `::` are here because connecting to "unspecified" reaches the host's own listeners.
 */
const HOST_ONLY = new RangeSet([
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 4],
  ['255.255.255.255', 32],
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['ff00::', 8],
]);

/** Why an address is special (loopback, link-local, private...), or null for a public address. */
export function specialAddress(address: string, hostAddresses: readonly string[] = []): string | null {
  const plain = canonicalAddress(address);
  const family = isIP(plain);
  if (family === 0) return 'not an IP address';
  const kind = kindOf(plain);
  if (kind !== null) return kind;
  if (isHostAddress(plain, hostAddresses)) return 'an address of the host itself';
  return SPECIAL.has(plain) ? 'a private, shared or reserved address' : null;
}

/**
 * Why an address is host-only (see HOST_ONLY, plus the host's own addresses), or null. Such an
 * address opens only for an allow rule naming it exactly, never for a CIDR block.
 */
export function hostOnlyAddress(address: string, hostAddresses: readonly string[] = []): string | null {
  const plain = canonicalAddress(address);
  const family = isIP(plain);
  if (family === 0) return null;
  if (HOST_ONLY.has(plain)) return kindOf(plain) ?? (plain.startsWith('0.') ? 'an unspecified address (it reaches the host)' : 'a multicast or broadcast address');
  return isHostAddress(plain, hostAddresses) ? 'an address of the host itself' : null;
}

function kindOf(plain: string): string | null {
  if (plain.startsWith('127.') || plain === '::1') return 'a loopback address';
  if (plain.startsWith('169.254.')) return 'a link-local address (cloud metadata lives here)';
  if (/^fe[89ab]/i.test(plain)) return 'a link-local address';
  if (plain === '::') return 'an unspecified address (it reaches the host)';
  return null;
}

/** The host's own addresses, as a set compiled once per array the caller passes. */
const hostSets = new WeakMap<readonly string[], RangeSet>();

function isHostAddress(plain: string, hostAddresses: readonly string[]): boolean {
  if (hostAddresses.length === 0) return false;
  let set = hostSets.get(hostAddresses);
  if (set === undefined) {
    set = new RangeSet(hostAddresses.map((address) => [address.replace(/%.*$/, '')] as const));
    hostSets.set(hostAddresses, set);
  }
  return set.has(plain);
}

interface CompiledPolicy {
  allow: Rule[];
  deny: Rule[];
}

/** Parsed once per policy object, not once per connection: the proxy asks for every tunnel. */
const compiled = new WeakMap<EgressPolicy, CompiledPolicy>();

function compile(policy: EgressPolicy): CompiledPolicy {
  let rules = compiled.get(policy);
  if (rules === undefined) {
    rules = { allow: policy.allow.map(parseRule), deny: policy.deny.map(parseRule) };
    compiled.set(policy, rules);
  }
  return rules;
}

/**
 * Decides a request for `host:port` before any DNS lookup: denies win, then allows, else the
 * default deny. An IP literal is decided entirely here (it needs no lookup); a host name that is
 * allowed must still pass `checkResolved` for every address it resolves to.
 */
export function decide(policy: EgressPolicy, host: string, port: number, hostAddresses: readonly string[] = []): Decision {
  const target = canonicalAddress(host.toLowerCase().replace(/\.$/, ''));
  const rules = compile(policy);
  const denied = rules.deny.find((r) => matches(r, target, port, true));
  if (denied) return { verdict: 'deny', rule: denied.text, reason: `denied by rule ${denied.text}` };
  if (isIP(target) === 0) {
    const allowed = rules.allow.find((r) => matches(r, target, port));
    if (!allowed) return { verdict: 'deny', rule: null, reason: `${target}:${String(port)} is not in the allowlist` };
    return { verdict: 'allow', rule: allowed.text, reason: `allowed by rule ${allowed.text}` };
  }
  const byAddress = rules.allow.filter((r): r is AddressRule => r.kind === 'address' && matches(r, target, port));
  const [first] = byAddress;
  if (first === undefined) {
    const byName = rules.allow.find((r) => matches(r, target, port));
    if (byName) return { verdict: 'deny', rule: byName.text, reason: `${target} is an address; only an IP rule can allow it` };
    return { verdict: 'deny', rule: null, reason: `${target}:${String(port)} is not in the allowlist` };
  }
  const hostOnly = hostOnlyAddress(target, hostAddresses);
  if (hostOnly) {
    const exact = byAddress.find((r) => r.exact !== null);
    if (exact) return { verdict: 'allow', rule: exact.text, reason: `allowed by rule ${exact.text}, which names this address` };
    return { verdict: 'deny', rule: null, reason: `${target} is ${hostOnly}; a range such as ${first.text} never opens it, only a rule naming ${target} does` };
  }
  // Named by an IP rule on purpose: even a private address is allowed.
  return { verdict: 'allow', rule: first.text, reason: `allowed by rule ${first.text}` };
}

/**
 * After DNS: every address the name resolved to must be public, or opened by an IP rule (a host-only
 * address by a rule naming it exactly). The caller then connects to one of exactly these addresses
 * (never resolving again), so a name cannot be rebound to an internal address between the check and
 * the connection.
 */
export function checkResolved(policy: EgressPolicy, host: string, port: number, addresses: readonly string[], hostAddresses: readonly string[] = []): Decision {
  const { allow, deny } = compile(policy);
  const rules = allow.filter((r): r is AddressRule => r.kind === 'address');
  const denyRules = deny.filter((r): r is AddressRule => r.kind === 'address');
  for (const address of addresses) {
    const plain = canonicalAddress(address);
    const denied = denyRules.find((r) => matches(r, plain, port));
    if (denied) return { verdict: 'deny', rule: denied.text, reason: `${host} resolves to ${plain}, denied by rule ${denied.text}` };
    const hostOnly = hostOnlyAddress(plain, hostAddresses);
    if (hostOnly) {
      if (!rules.some((r) => r.exact !== null && matches(r, plain, port))) return { verdict: 'deny', rule: null, reason: `${host} resolves to ${plain}, ${hostOnly}` };
      continue;
    }
    const special = specialAddress(plain, hostAddresses);
    if (special && !rules.some((r) => matches(r, plain, port))) {
      return { verdict: 'deny', rule: null, reason: `${host} resolves to ${plain}, ${special}` };
    }
  }
  if (addresses.length === 0) return { verdict: 'deny', rule: null, reason: `${host} does not resolve` };
  return { verdict: 'allow', rule: null, reason: `${host} resolves to public addresses` };
}

/** `target` is canonical (see canonicalAddress). A deny rule on a name also covers its subdomains. */
function matches(rule: Rule, target: string, port: number, denying = false): boolean {
  if (rule.port !== null && rule.port !== port) return false;
  if (rule.kind === 'address') return inRange(rule.range, target);
  if (rule.host.startsWith('*.')) return target.endsWith(rule.host.slice(1)) && target.length > rule.host.length - 1;
  return target === rule.host || (denying && target.endsWith(`.${rule.host}`));
}

/** How `egress show` explains one rule: which ports it covers, and whether it opens a host-only address. */
export interface RuleSummary {
  rule: string;
  /** A rule without a port covers every port. */
  ports: number | 'all';
  /** For a deny on a name: it covers the subdomains too. */
  subdomains: boolean;
  /** Set when this allow rule opens a host-only address (loopback, link-local, this host...): why it is one. */
  opensHostOnly: string | null;
}

export function summarizeRule(pattern: string, side: 'allow' | 'deny', hostAddresses: readonly string[] = []): RuleSummary {
  const rule = parseRule(pattern);
  return {
    rule: rule.text,
    ports: rule.port ?? 'all',
    subdomains: side === 'deny' && rule.kind === 'host',
    opensHostOnly: side === 'allow' && rule.kind === 'address' && rule.exact !== null ? hostOnlyAddress(rule.exact, hostAddresses) : null,
  };
}
