import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_BYTES, readClientHello, sameHost } from '../../src/egress/sni.js';
import { clientHelloFor, inRecords } from '../support/client-hello.js';

describe('reading the server name of a TLS ClientHello', () => {
  it('finds the name in a real ClientHello from node', async () => {
    expect(readClientHello(await clientHelloFor('registry.npmjs.org'))).toEqual({ kind: 'name', name: 'registry.npmjs.org' });
  });

  it('says what is missing while the record is still arriving', async () => {
    const hello = await clientHelloFor('example.test');
    expect(readClientHello(hello.subarray(0, 3))).toEqual({ kind: 'incomplete' });
    expect(readClientHello(hello.subarray(0, 60))).toEqual({ kind: 'incomplete' });
  });

  it('has no name to give for a ClientHello to an IP address', async () => {
    expect(readClientHello(await clientHelloFor(undefined))).toEqual({ kind: 'no-name' });
  });

  it('leaves plain protocols alone', () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({ kind: 'not-tls' });
    expect(readClientHello(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toEqual({ kind: 'not-tls' });
    expect(readClientHello(Buffer.from([0x16, 0x01, 0x00, 0x00, 0x00]))).toEqual({ kind: 'not-tls' });
  });

  it('reads a cut-short handshake as malformed, never throwing', async () => {
    const hello = Buffer.from(await clientHelloFor('example.test'));
    for (let cut = 45; cut < hello.length; cut += 7) {
      const broken = Buffer.concat([hello.subarray(0, 5), hello.subarray(5, cut)]);
      broken.writeUInt16BE(cut - 5, 3);
      broken.writeUIntBE(cut - 9, 6, 3); // the handshake header agrees with the record, the body is cut
      const read = readClientHello(broken);
      expect(read.kind, `cut at ${String(cut)}`).toBe('malformed');
    }
  });

  it('compares names without case or a trailing dot', () => {
    expect(sameHost('Registry.NPMjs.org.', 'registry.npmjs.org')).toBe(true);
    expect(sameHost('cdn.example', 'registry.npmjs.org')).toBe(false);
  });
});

/*
 * Issue 12, hole 6: the same ClientHello cut into two TLS records passed the check (only the first
 * record was read). The handshake is reassembled across records, within bounds.
 */
describe('a ClientHello across several TLS records', () => {
  it.each([
    ['two records, cut inside the extensions', (n: number) => [n - 20]],
    ['two records, cut inside the handshake header', () => [2]],
    ['three records', (n: number) => [40, n - 60]],
    ['one record per 7 bytes', (n: number) => Array.from({ length: Math.floor((n - 1) / 7) }, (_, i) => (i + 1) * 7).slice(0, 63)],
  ])('finds the name in %s', async (_how, cuts) => {
    const hello = await clientHelloFor('evil.test');
    const message = hello.readUInt16BE(3);
    const records = inRecords(hello, cuts(message));
    const expected = records.length > hello.length + 5 * 64 ? 'malformed' : 'name';
    expect(readClientHello(records).kind).toBe(expected);
    if (expected === 'name') expect(readClientHello(records)).toEqual({ kind: 'name', name: 'evil.test' });
    // Every prefix is "incomplete" (wait for more), never a verdict a later byte could change.
    for (let end = 1; end < records.length; end += 13) expect(readClientHello(records.subarray(0, end)).kind).toBe('incomplete');
  });

  it('reads the name of a ClientHello to an IP address as absent, across records too', async () => {
    const hello = await clientHelloFor(undefined);
    expect(readClientHello(inRecords(hello, [100]))).toEqual({ kind: 'no-name' });
  });

  it('refuses what it cannot reassemble within bounds', async () => {
    const hello = await clientHelloFor('evil.test');
    const message = hello.subarray(5, 5 + hello.readUInt16BE(3));
    // More than 64 records.
    expect(readClientHello(inRecords(hello, Array.from({ length: 70 }, (_, i) => i + 1)))).toMatchObject({ kind: 'malformed' });
    // A ClientHello announcing more than 16 KiB.
    const huge = Buffer.from(hello);
    huge.writeUIntBE(MAX_CLIENT_HELLO_BYTES, 6, 3);
    expect(readClientHello(huge)).toMatchObject({ kind: 'malformed', why: expect.stringContaining('more than 16384') as unknown });
    // A record that is not a handshake in the middle of one.
    const alert = Buffer.concat([inRecords(hello, [50]).subarray(0, 55), Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00])]);
    expect(readClientHello(alert)).toMatchObject({ kind: 'malformed' });
    // A zero-length record, and a record larger than TLS allows.
    expect(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]))).toMatchObject({ kind: 'malformed' });
    expect(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01]))).toMatchObject({ kind: 'malformed' });
    // Another handshake message first.
    const notHello = Buffer.from(hello);
    notHello[5] = 0x02;
    expect(readClientHello(notHello)).toMatchObject({ kind: 'malformed' });
    expect(message.length).toBeGreaterThan(0);
  });

  it('refuses a ClientHello carrying two server names', async () => {
    const hello = await clientHelloFor('evil.test');
    // Append a second server_name extension, fixing the three lengths that enclose it.
    const name = Buffer.from('good.test');
    const ext = Buffer.alloc(4 + 2 + 3 + name.length);
    ext.writeUInt16BE(0, 0);
    ext.writeUInt16BE(2 + 3 + name.length, 2);
    ext.writeUInt16BE(3 + name.length, 4);
    ext.writeUInt8(0, 6);
    ext.writeUInt16BE(name.length, 7);
    name.copy(ext, 9);
    const body = hello.subarray(5);
    const twice = Buffer.concat([hello.subarray(0, 5), body, ext]);
    twice.writeUInt16BE(body.length + ext.length, 3);
    twice.writeUIntBE(body.length - 4 + ext.length, 6, 3);
    // The extensions block length sits after version, random, session id, suites and compression.
    let at = 5 + 4 + 2 + 32;
    at += 1 + (twice[at] ?? 0);
    at += 2 + twice.readUInt16BE(at);
    at += 1 + (twice[at] ?? 0);
    twice.writeUInt16BE(twice.readUInt16BE(at) + ext.length, at);
    expect(readClientHello(twice)).toEqual({ kind: 'malformed', why: 'two server_name extensions' });
  });
});
