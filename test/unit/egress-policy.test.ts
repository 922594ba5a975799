import { describe, expect, it } from 'vitest';
import { checkResolved, decide, parseRule, specialAddress, validatePolicy } from '../../src/egress/policy.js';

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
    // An IP rule names them, so they pass: opening "everything" by IP is explicit.
    expect(decide(open, '169.254.169.254', 80).verdict).toBe('allow');
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
