import { describe, expect, it } from 'vitest';
import { ResponseReader } from '../../src/runtime/oci/engine-http.js';

/** Feeds a response to a fresh reader in pieces of `size` bytes; the reply once complete, and at which byte. */
function feed(wire: string, size: number): { status: number; body: string; completeAt: number } | undefined {
  const reader = new ResponseReader();
  const bytes = Buffer.from(wire, 'latin1');
  for (let at = 0; at < bytes.length; at += size) {
    const reply = reader.push(bytes.subarray(at, at + size));
    if (reply) return { status: reply.status, body: reply.body.toString('latin1'), completeAt: Math.min(at + size, bytes.length) };
  }
  return undefined;
}

/**
 * engine-http.ts's reader of an engine's answer: whatever the framing and however the bytes are cut,
 * the same status and body, complete exactly when the last byte of the response is in.
 */
describe('ResponseReader (engine answers over node:net)', () => {
  const json = '{"Id":"abc","Warnings":[]}';
  const cases: { name: string; wire: string }[] = [
    { name: 'Content-Length', wire: `HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: ${String(json.length)}\r\n\r\n${json}` },
    { name: 'chunked (with a chunk extension)', wire: `HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n${json.slice(0, 5)}\r\n${(json.length - 5).toString(16)}\r\n${json.slice(5)}\r\n0\r\n\r\n` },
    { name: 'header names in any case, HTTP/1.0', wire: `HTTP/1.0 201 Created\r\ncontent-LENGTH: ${String(json.length)}\r\n\r\n${json}` },
  ];

  for (const { name, wire } of cases) {
    it(`reads ${name} whole, cut at every size`, () => {
      for (const size of [1, 2, 3, 7, 16, wire.length]) {
        const reply = feed(wire, size);
        expect(reply, `pieces of ${String(size)}`).toBeDefined();
        expect(reply?.status).toBe(201);
        expect(reply?.body).toBe(json);
        // Complete with the piece that brings the last byte needed: a chunked body's is the end of
        // its last (empty) chunk's size line; the others', the response's last byte.
        const lastNeeded = name.startsWith('chunked') ? wire.length - 2 : wire.length;
        expect(reply?.completeAt).toBe(Math.min(Math.ceil(lastNeeded / size) * size, wire.length));
      }
    });
  }

  it('reads a body without a length up to the close, and nothing before it', () => {
    const reader = new ResponseReader();
    expect(reader.push(Buffer.from('HTTP/1.1 500 Internal Server Error\r\n\r\nboom'))).toBeUndefined();
    expect(reader.atClose()?.body.toString()).toBe('boom');
  });

  it('knows 204, 304 and 101 carry no body', () => {
    for (const status of [204, 304, 101]) {
      const reply = new ResponseReader().push(Buffer.from(`HTTP/1.1 ${String(status)} X\r\nContent-Length: 10\r\n\r\n`));
      expect(reply?.status).toBe(status);
      expect(reply?.body.length).toBe(0);
    }
  });

  it('keeps the bytes after a 101 head apart: they are the stream', () => {
    const head = new ResponseReader().pushHead(Buffer.from('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0002hi', 'latin1'));
    expect(head?.status).toBe(101);
    expect(head?.rest.toString('latin1')).toBe('\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0002hi');
  });

  it('is undone by a close in the middle', () => {
    const reader = new ResponseReader();
    expect(reader.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))).toBeUndefined();
    expect(reader.atClose()).toBeUndefined();
    expect(new ResponseReader().atClose()).toBeUndefined();
  });

  it('refuses what is not an engine answer', () => {
    expect(() => new ResponseReader().push(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n\r\n'))).toThrow(/other than HTTP/);
    expect(() => new ResponseReader().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'))).toThrow(/bad Content-Length/);
    expect(() => new ResponseReader().push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'))).toThrow(/bad chunk size/);
    expect(() => new ResponseReader().push(Buffer.alloc(70 * 1024, 'a'))).toThrow(/over 64 KiB/);
  });
});
