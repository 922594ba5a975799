import { describe, expect, it } from 'vitest';
import { canonicalAddress, checkResolved, decide, hostOnlyAddress, parseRule, specialAddress, summarizeRule, validatePolicy } from '../../src/egress/policy.js';

const policy = {
  allow: ['registry.npmjs.org', '*.github.com', 'api.example.com:443', '203.0.113.7', '10.1.2.0/24:8080', '[fd00::5]:9000'],
  deny: ['evil.github.com', '10.1.2.99'],
};

describe('egress policy: decide before DNS', () => {
  it.each([
    ['registry.npmjs.org', 443, 'allow', 'registry.npmjs.org'],
    ['REGISTRY.NPMJS.ORG.', 443, 'allow', 'registry.npmjs.org'],
    ['api.github.com', 443, 'allow', '*.github.com'],
    ['a.b.github.com', 80, 'allow', '*.github.com'],
    ['github.com', 443, 'deny', null],
    ['notgithub.com', 443, 'deny', null],
    ['evil.github.com', 443, 'deny', 'evil.github.com'],
    ['api.example.com', 443, 'allow', 'api.example.com:443'],
    ['api.example.com', 80, 'deny', null],
    ['203.0.113.7', 443, 'allow', '203.0.113.7'],
    ['10.1.2.3', 8080, 'allow', '10.1.2.0/24:8080'],
    ['10.1.2.3', 22, 'deny', null],
    ['10.1.2.99', 8080, 'deny', '10.1.2.99'],
    ['fd00::5', 9000, 'allow', '[fd00::5]:9000'],
    ['[fd00::5]', 9000, 'allow', '[fd00::5]:9000'],
    ['example.org', 443, 'deny', null],
  ] as const)('%s:%i → %s (%s)', (host, port, verdict, rule) => {
    expect(decide(policy, host, port)).toMatchObject({ verdict, rule });
  });

  it('never lets a host-name rule open an address literal', () => {
    const wide = { allow: ['*.com', 'localhost'], deny: [] };
    expect(decide(wide, '127.0.0.1', 80)).toMatchObject({ verdict: 'deny' });
  });

  it('denies special addresses that no IP rule names, and says why', () => {
    const open = { allow: ['0.0.0.0/0', '::/0'], deny: [] };
    // A range opens private addresses (named by IP on purpose), never the host-only ones.
    expect(decide(open, '10.0.0.7', 80).verdict).toBe('allow');
    expect(decide(open, '169.254.169.254', 80)).toMatchObject({ verdict: 'deny', reason: '169.254.169.254 is a link-local address (cloud metadata lives here); a range such as 0.0.0.0/0 never opens it, only a rule naming 169.254.169.254 does' });
    const byName = { allow: ['metadata.internal'], deny: [] };
    expect(decide(byName, '169.254.169.254', 80)).toMatchObject({ verdict: 'deny', reason: '169.254.169.254:80 is not in the allowlist' });
  });
});

describe('egress policy: special addresses', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['169.254.169.254', 'a link-local address (cloud metadata lives here)'],
    ['fe80::1', 'a link-local address'],
    ['10.0.0.1', 'a private, shared or reserved address'],
    ['172.20.0.1', 'a private, shared or reserved address'],
    ['192.168.1.1', 'a private, shared or reserved address'],
    ['100.64.0.1', 'a private, shared or reserved address'],
    ['fd12::1', 'a private, shared or reserved address'],
    ['::ffff:10.0.0.1', 'a private, shared or reserved address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['0.0.0.0', 'a private, shared or reserved address'],
    ['224.0.0.1', 'a private, shared or reserved address'],
  ])('%s is %s', (address, why) => {
    expect(specialAddress(address)).toBe(why);
  });

  it.each(['203.0.113.7', '8.8.8.8', '2001:4860::8888'])('%s is public', (address) => {
    expect(specialAddress(address)).toBeNull();
  });

  it("treats the host's own addresses as special", () => {
    expect(specialAddress('203.0.113.9', ['203.0.113.9'])).toBe('an address of the host itself');
  });
});

describe('egress policy: after DNS', () => {
  it('allows a name whose every address is public', () => {
    expect(checkResolved(policy, 'registry.npmjs.org', 443, ['104.16.0.1', '2606:4700::1']).verdict).toBe('allow');
  });

  it('refuses a name that resolves (or is rebound) to a private address', () => {
    expect(checkResolved(policy, 'api.github.com', 443, ['140.82.1.1', '10.0.0.7'])).toMatchObject({
      verdict: 'deny',
      reason: 'api.github.com resolves to 10.0.0.7, a private, shared or reserved address',
    });
    expect(checkResolved(policy, 'api.github.com', 443, ['::ffff:169.254.169.254']).verdict).toBe('deny');
  });

  it('lets an IP rule open a private address a name resolves to, and a deny rule close it', () => {
    expect(checkResolved(policy, 'build.internal', 8080, ['10.1.2.3']).verdict).toBe('allow');
    expect(checkResolved(policy, 'build.internal', 8080, ['10.1.2.99'])).toMatchObject({ verdict: 'deny', rule: '10.1.2.99' });
  });

  it('refuses a name that does not resolve', () => {
    expect(checkResolved(policy, 'nothing.example', 443, [])).toMatchObject({ verdict: 'deny', reason: 'nothing.example does not resolve' });
  });
});

describe('egress patterns', () => {
  it('parses every form and rejects nonsense with a hint', () => {
    expect(() => validatePolicy(policy)).not.toThrow();
    for (const bad of ['', 'http://x.com', 'x.com:0', 'x.com:99999', '10.0.0.0/33', 'a b', '*.', '**.x.com']) {
      expect(() => parseRule(bad), bad).toThrow(/Invalid egress pattern/);
    }
  });
});

/*
 * Issue 12, hole 3: `--allow 0.0.0.0/0` (or `::/0`) opened the host's own listeners. Host-only
 * addresses open only for a rule naming that exact address (and its port, when the rule has one).
 */
describe('egress policy: host-only addresses need a rule naming them', () => {
  const everything = { allow: ['0.0.0.0/0', '::/0'], deny: [] };
  const own = ['192.0.2.10', '2001:db8::10', '10.88.0.1'];

  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.1.2.3', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['[::1]', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:7f00:1', 'a loopback address'],
    ['[::ffff:7f00:1]', 'a loopback address'],
    ['0:0:0:0:0:ffff:7f00:0001', 'a loopback address'],
    ['0.0.0.0', 'an unspecified address (it reaches the host)'],
    ['::', 'an unspecified address (it reaches the host)'],
    ['169.254.169.254', 'a link-local address (cloud metadata lives here)'],
    ['fe80::1', 'a link-local address'],
    ['224.0.0.251', 'a multicast or broadcast address'],
    ['255.255.255.255', 'a multicast or broadcast address'],
    ['ff02::1', 'a multicast or broadcast address'],
    ['192.0.2.10', 'an address of the host itself'],
    ['2001:db8::10', 'an address of the host itself'],
    ['10.88.0.1', 'an address of the host itself'],
  ])('0.0.0.0/0 and ::/0 do not open %s (%s)', (address, why) => {
    expect(hostOnlyAddress(address, own)).toBe(why);
    expect(decide(everything, address, 8080, own)).toMatchObject({ verdict: 'deny', rule: null });
    expect(decide(everything, address, 8080, own).reason).toContain(why);
    // A name resolving there is refused the same way.
    expect(checkResolved({ allow: ['app.example', ...everything.allow], deny: [] }, 'app.example', 8080, [address.replace(/^\[|\]$/g, '')], own)).toMatchObject({ verdict: 'deny' });
  });

  it('still opens other addresses for a range: public, private, other containers', () => {
    for (const address of ['203.0.113.7', '10.88.0.5', '172.17.0.3', '2001:db8::99']) expect(decide(everything, address, 443, own).verdict).toBe('allow');
  });

  it('opens a host-only address for a rule naming it exactly, on the rule’s port only', () => {
    const exact = { allow: ['0.0.0.0/0', '127.0.0.1:8080', '[::1]:9000', '192.0.2.10'], deny: [] };
    expect(decide(exact, '127.0.0.1', 8080, own)).toMatchObject({ verdict: 'allow', rule: '127.0.0.1:8080' });
    expect(decide(exact, '::ffff:7f00:1', 8080, own)).toMatchObject({ verdict: 'allow', rule: '127.0.0.1:8080' });
    expect(decide(exact, '127.0.0.1', 8081, own)).toMatchObject({ verdict: 'deny' });
    expect(decide(exact, '127.0.0.2', 8080, own)).toMatchObject({ verdict: 'deny' });
    expect(decide(exact, '::1', 9000, own)).toMatchObject({ verdict: 'allow', rule: '[::1]:9000' });
    expect(decide(exact, '192.0.2.10', 22, own)).toMatchObject({ verdict: 'allow', rule: '192.0.2.10' });
    expect(checkResolved(exact, 'localhost', 8080, ['127.0.0.1'], own).verdict).toBe('allow');
    expect(checkResolved(exact, 'localhost', 8081, ['127.0.0.1'], own).verdict).toBe('deny');
  });

  it('does not count a /32 or /128 block as naming the address', () => {
    expect(decide({ allow: ['127.0.0.1/32'], deny: [] }, '127.0.0.1', 80).verdict).toBe('deny');
    expect(decide({ allow: ['::1/128'], deny: [] }, '::1', 80).verdict).toBe('deny');
  });

  it('spells every address one way', () => {
    expect(canonicalAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalAddress('[::FFFF:A9FE:A9FE]')).toBe('169.254.169.254');
    expect(canonicalAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalAddress('FD00::1')).toBe('fd00::1');
    expect(canonicalAddress('example.com')).toBe('example.com');
  });
});

/* Issue 12, hole 8: what a rule covers, as `egress show` says it. */
describe('egress policy: ports and subdomains', () => {
  it('a deny on a name also denies its subdomains; an allow on a name does not open them', () => {
    const policy = { allow: ['*.bad.x', 'bad.x', 'good.x'], deny: ['bad.x'] };
    expect(decide(policy, 'bad.x', 443)).toMatchObject({ verdict: 'deny', rule: 'bad.x' });
    expect(decide(policy, 'sub.bad.x', 443)).toMatchObject({ verdict: 'deny', rule: 'bad.x' });
    expect(decide(policy, 'a.b.bad.x', 443)).toMatchObject({ verdict: 'deny', rule: 'bad.x' });
    expect(decide(policy, 'notbad.x', 443).verdict).toBe('deny');
    expect(decide({ allow: ['notbad.x'], deny: ['bad.x'] }, 'notbad.x', 443).verdict).toBe('allow');
    expect(decide({ allow: ['good.x'], deny: [] }, 'sub.good.x', 443).verdict).toBe('deny');
    // A deny with a port still covers the subdomains on that port only.
    expect(decide({ allow: ['*.bad.x'], deny: ['bad.x:22'] }, 'sub.bad.x', 443).verdict).toBe('allow');
    expect(decide({ allow: ['*.bad.x'], deny: ['bad.x:22'] }, 'sub.bad.x', 22).verdict).toBe('deny');
  });

  it('a rule without a port covers every port', () => {
    expect(decide({ allow: ['api.example.com'], deny: [] }, 'api.example.com', 22).verdict).toBe('allow');
    expect(summarizeRule('api.example.com', 'allow')).toEqual({ rule: 'api.example.com', ports: 'all', subdomains: false, opensHostOnly: null });
    expect(summarizeRule('api.example.com:443', 'allow')).toMatchObject({ ports: 443 });
    expect(summarizeRule('bad.x', 'deny')).toMatchObject({ ports: 'all', subdomains: true });
    expect(summarizeRule('127.0.0.1:8080', 'allow')).toMatchObject({ ports: 8080, opensHostOnly: 'a loopback address' });
    expect(summarizeRule('0.0.0.0/0', 'allow').opensHostOnly).toBeNull();
  });
});
