import { describe, expect, it } from 'vitest';
import { readClientHello, sameHost } from '../../src/egress/sni.js';
import { clientHelloFor } from '../support/client-hello.js';

describe('reading the server name of a TLS ClientHello', () => {
  it('finds the name in a real ClientHello from node', async () => {
    expect(readClientHello(await clientHelloFor('registry.npmjs.org'))).toEqual({ kind: 'name', name: 'registry.npmjs.org' });
  });

  it('says what is missing while the record is still arriving', async () => {
    const hello = await clientHelloFor('example.test');
    expect(readClientHello(hello.subarray(0, 3))).toEqual({ kind: 'incomplete', needed: 5 });
    expect(readClientHello(hello.subarray(0, 60))).toEqual({ kind: 'incomplete', needed: hello.readUInt16BE(3) + 5 });
  });

  it('has no name to give for a ClientHello to an IP address', async () => {
    expect(readClientHello(await clientHelloFor(undefined))).toEqual({ kind: 'no-name' });
  });

  it('leaves plain protocols alone', () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({ kind: 'not-tls' });
    expect(readClientHello(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toEqual({ kind: 'not-tls' });
    expect(readClientHello(Buffer.from([0x16, 0x01, 0x00, 0x00, 0x00]))).toEqual({ kind: 'not-tls' });
  });

  it('reads a malformed handshake as having no name, never throwing', async () => {
    const hello = Buffer.from(await clientHelloFor('example.test'));
    for (let cut = 45; cut < hello.length; cut += 7) {
      const broken = Buffer.concat([hello.subarray(0, 5), hello.subarray(5, cut)]);
      broken.writeUInt16BE(cut - 5, 3);
      const read = readClientHello(broken);
      expect(['no-name', 'name']).toContain(read.kind);
      if (read.kind === 'name') expect(read.name).toBe('example.test');
    }
  });

  it('compares names without case or a trailing dot', () => {
    expect(sameHost('Registry.NPMjs.org.', 'registry.npmjs.org')).toBe(true);
    expect(sameHost('cdn.example', 'registry.npmjs.org')).toBe(false);
  });
});
