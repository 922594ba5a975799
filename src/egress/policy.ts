import { BlockList, isIP } from 'node:net';
import { BerthError } from '../errors.js';

/**
 * A workspace's egress policy: default deny; allow rules open exact hosts, `*.suffix` wildcards,
 * `host:port`, IPs and CIDR blocks; deny rules win over allow rules. Addresses that are loopback,
 * link-local (cloud metadata included), private, shared, multicast or the host itself are refused
 * unless an IP/CIDR allow rule names them: a hostname rule never opens them, which is what stops DNS
 * rebinding (the address is checked after resolution, and the connection goes to that address).
 */
export interface EgressPolicy {
  allow: readonly string[];
  deny: readonly string[];
}

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
  block: BlockList;
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
    const block = new BlockList();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (cidr) {
      const prefix = Number(cidr[2]);
      if (prefix > (family === 4 ? 32 : 128)) throw invalid(pattern, `prefix /${String(prefix)} is too long`);
      block.addSubnet(address, prefix, type);
    } else {
      block.addAddress(address, type);
    }
    return { kind: 'address', text, block, port };
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
const SPECIAL = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [
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
  ] as const) {
    list.addSubnet(net, prefix, 'ipv4');
  }
  for (const [net, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
    ['64:ff9b::', 96],
  ] as const) {
    list.addSubnet(net, prefix, 'ipv6');
  }
  return list;
})();

/** Why an address is special (loopback, link-local, private...), or null for a public address. */
export function specialAddress(address: string, hostAddresses: readonly string[] = []): string | null {
  const v4 = mappedV4(address);
  const family = v4 ? 4 : isIP(address);
  const plain = v4 ?? address;
  if (family === 0) return 'not an IP address';
  if (hostAddresses.includes(plain)) return 'an address of the host itself';
  if (!SPECIAL.check(plain, family === 4 ? 'ipv4' : 'ipv6')) return null;
  if (family === 4) {
    if (plain.startsWith('127.')) return 'a loopback address';
    if (plain.startsWith('169.254.')) return 'a link-local address (cloud metadata lives here)';
    return 'a private, shared or reserved address';
  }
  if (plain === '::1') return 'a loopback address';
  if (/^fe[89ab]/i.test(plain)) return 'a link-local address';
  return 'a private, shared or reserved address';
}

/** `::ffff:10.0.0.1` is 10.0.0.1 in disguise. */
function mappedV4(address: string): string | null {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match?.[1] ?? null;
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
  const target = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const rules = compile(policy);
  const denied = rules.deny.find((r) => matches(r, target, port));
  if (denied) return { verdict: 'deny', rule: denied.text, reason: `denied by rule ${denied.text}` };
  const allowed = rules.allow.find((r) => matches(r, target, port));
  if (!allowed) return { verdict: 'deny', rule: null, reason: `${target}:${String(port)} is not in the allowlist` };
  if (isIP(mappedV4(target) ?? target) !== 0 && allowed.kind === 'host') {
    return { verdict: 'deny', rule: allowed.text, reason: `${target} is an address; only an IP rule can allow it` };
  }
  if (isIP(target) !== 0 && allowed.kind === 'address') {
    // Named by IP on purpose: even a special address is allowed.
    return { verdict: 'allow', rule: allowed.text, reason: `allowed by rule ${allowed.text}` };
  }
  const special = isIP(target) !== 0 ? specialAddress(target, hostAddresses) : null;
  if (special) return { verdict: 'deny', rule: null, reason: `${target} is ${special}` };
  return { verdict: 'allow', rule: allowed.text, reason: `allowed by rule ${allowed.text}` };
}

/**
 * After DNS: every address the name resolved to must be public, or opened by an IP rule. The caller
 * then connects to one of exactly these addresses (never resolving again), so a name cannot be
 * rebound to an internal address between the check and the connection.
 */
export function checkResolved(policy: EgressPolicy, host: string, port: number, addresses: readonly string[], hostAddresses: readonly string[] = []): Decision {
  const { allow, deny } = compile(policy);
  const rules = allow.filter((r): r is AddressRule => r.kind === 'address');
  const denyRules = deny.filter((r): r is AddressRule => r.kind === 'address');
  for (const address of addresses) {
    const plain = mappedV4(address) ?? address;
    const denied = denyRules.find((r) => matches(r, plain, port));
    if (denied) return { verdict: 'deny', rule: denied.text, reason: `${host} resolves to ${plain}, denied by rule ${denied.text}` };
    const special = specialAddress(plain, hostAddresses);
    if (special && !rules.some((r) => matches(r, plain, port))) {
      return { verdict: 'deny', rule: null, reason: `${host} resolves to ${plain}, ${special}` };
    }
  }
  if (addresses.length === 0) return { verdict: 'deny', rule: null, reason: `${host} does not resolve` };
  return { verdict: 'allow', rule: null, reason: `${host} resolves to public addresses` };
}

function matches(rule: Rule, target: string, port: number): boolean {
  if (rule.port !== null && rule.port !== port) return false;
  if (rule.kind === 'address') {
    const plain = mappedV4(target) ?? target;
    const family = isIP(plain);
    return family !== 0 && rule.block.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
  if (rule.host.startsWith('*.')) return target.endsWith(rule.host.slice(1)) && target.length > rule.host.length - 1;
  return target === rule.host;
}
