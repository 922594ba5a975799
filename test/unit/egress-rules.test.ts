import { describe, expect, it } from 'vitest';
import { explainPolicy, portlessAllowWarnings } from '../../src/cli/egress-rules.js';

/* Issue 12, holes 3 and 8: what `berth egress show` and `berth up --allow` tell the user about a rule. */
describe('explaining egress rules', () => {
  const own = ['192.0.2.10'];

  it('says which ports a rule covers, that a deny covers subdomains, and marks rules that open a host-only address', () => {
    const explained = explainPolicy({ allow: ['registry.npmjs.org', 'api.example.com:443', '0.0.0.0/0', '127.0.0.1:8080', '192.0.2.10', '203.0.113.0/24'], deny: ['bad.x'] }, own);
    expect(explained.allow.map((r) => [r.rule, r.covers])).toEqual([
      ['registry.npmjs.org', 'all ports'],
      ['api.example.com:443', 'port 443'],
      ['0.0.0.0/0', "all ports, except loopback, link-local, multicast and this host's own addresses (only a rule naming one opens it)"],
      ['127.0.0.1:8080', 'port 8080, OPENS a loopback address (named exactly)'],
      ['192.0.2.10', 'all ports, OPENS an address of the host itself (named exactly)'],
      ['203.0.113.0/24', 'all ports'],
    ]);
    expect(explained.deny).toEqual([{ rule: 'bad.x', ports: 'all', subdomains: true, opensHostOnly: null, covers: 'all ports, and every subdomain' }]);
    expect(explained.allow[0]).toMatchObject({ ports: 'all', subdomains: false, opensHostOnly: null });
  });

  it('warns about an allow without a port, and only then', () => {
    expect(portlessAllowWarnings(['registry.npmjs.org', 'api.example.com:443', '*.github.com', '10.0.0.0/24', 'fd00::1', '[fd00::2]:80', 'not a rule'])).toEqual([
      '--allow registry.npmjs.org has no port, so it opens every port of that host; write registry.npmjs.org:443 to open one.',
      '--allow *.github.com has no port, so it opens every port of that host; write api.github.com:443 to open one.',
      '--allow 10.0.0.0/24 has no port, so it opens every port of those addresses; write 10.0.0.0/24:443 to open one.',
      '--allow fd00::1 has no port, so it opens every port of those addresses; write [fd00::1]:443 to open one.',
    ]);
    expect(portlessAllowWarnings(undefined)).toEqual([]);
  });
});
