import { describe, expect, it } from 'vitest';
import { MAX_CONNECT_HEAD_BYTES, MAX_PENDING_HEAD_BYTES, readConnectHead } from '../../src/egress/connect-head.js';

/*
 * The hand reader of CONNECT heads (issue 17 item 4): it takes only the plain shape real clients
 * send and leaves everything else ('other') to node:http, so a head it is unsure of is judged
 * exactly as before. What it takes must be read as node:http reads it.
 */
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const auth = 'Basic d3M6dG9rZW4=';

describe('readConnectHead', () => {
  it.each([
    ['curl', `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: curl/8.5.0\r\nProxy-Authorization: ${auth}\r\nProxy-Connection: Keep-Alive\r\n\r\n`, 'example.com:443'],
    ['an IPv4 target, HTTP/1.0', `CONNECT 10.0.0.7:22 HTTP/1.0\r\nproxy-authorization: ${auth}\r\n\r\n`, '10.0.0.7:22'],
    ['an IPv6 target', `CONNECT [::1]:8443 HTTP/1.1\r\nPROXY-AUTHORIZATION:${auth}\r\n\r\n`, '[::1]:8443'],
    ['spaces and tabs around the value', `CONNECT a.test:1 HTTP/1.1\r\nProxy-Authorization: \t${auth} \t\r\n\r\n`, 'a.test:1'],
  ])('takes a plain CONNECT head (%s), the credential as node:http gives it', (_what, head, target) => {
    expect(readConnectHead(bytes(head))).toEqual({ kind: 'connect', target, authorization: auth, rest: Buffer.alloc(0) });
  });

  it('gives no credential when there is none, and an empty one when it is empty', () => {
    expect(readConnectHead(bytes('CONNECT a.test:443 HTTP/1.1\r\n\r\n'))).toMatchObject({ kind: 'connect', authorization: undefined });
    expect(readConnectHead(bytes('CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization:\r\n\r\n'))).toMatchObject({ kind: 'connect', authorization: '' });
  });

  it('keeps the bytes a client sent after the head (a TLS ClientHello, pipelined)', () => {
    const read = readConnectHead(bytes(`CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: ${auth}\r\n\r\n\x16\x03\x01\x00\x05hello`));
    expect(read.kind === 'connect' && read.rest.toString('latin1')).toBe('\x16\x03\x01\x00\x05hello');
  });

  it('waits for the rest of a head that arrives in pieces, whatever the cut', () => {
    const head = `CONNECT a.test:443 HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: ${auth}\r\n\r\n`;
    for (let cut = 1; cut < head.length; cut++) {
      expect(readConnectHead(bytes(head.slice(0, cut))), `cut at ${String(cut)}`).toEqual({ kind: 'incomplete' });
      // The second call scans on from where the first stopped, as the proxy's reader does.
      expect(readConnectHead(bytes(head), cut), `then the rest, from ${String(cut)}`).toMatchObject({ kind: 'connect', target: 'a.test:443', authorization: auth });
    }
  });

  it.each([
    ['another method', 'GET http://a.test/ HTTP/1.1\r\n\r\n'],
    ['a lowercase method', 'connect a.test:443 HTTP/1.1\r\n\r\n'],
    ['a method that only starts like CONNECT', 'CONNECTX a.test:443 HTTP/1.1\r\n\r\n'],
    ['two spaces', 'CONNECT  a.test:443 HTTP/1.1\r\n\r\n'],
    ['a target without a port', 'CONNECT a.test HTTP/1.1\r\n\r\n'],
    ['a percent escape in the target', 'CONNECT %E0%A4%A:80 HTTP/1.1\r\n\r\n'],
    ['another version', 'CONNECT a.test:443 HTTP/2.0\r\n\r\n'],
    ['bare LF line ends', 'CONNECT a.test:443 HTTP/1.1\nHost: a\n\n'],
    ['a lone CR in a header', 'CONNECT a.test:443 HTTP/1.1\r\nX: a\rb\r\n\r\n'],
    ['a space before the colon', 'CONNECT a.test:443 HTTP/1.1\r\nX : y\r\n\r\n'],
    ['a folded header line', `CONNECT a.test:443 HTTP/1.1\r\nX: y\r\n  z\r\nProxy-Authorization: ${auth}\r\n\r\n`],
    ['a byte above ASCII', 'CONNECT a.test:443 HTTP/1.1\r\nX: \xe9\r\n\r\n'],
    ['a control byte', 'CONNECT a.test:443 HTTP/1.1\r\nX: \x01\r\n\r\n'],
    ['Content-Length', 'CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello'],
    ['Transfer-Encoding', 'CONNECT a.test:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['two credentials', `CONNECT a.test:443 HTTP/1.1\r\nProxy-Authorization: ${auth}\r\nProxy-Authorization: Basic x\r\n\r\n`],
    ['many header lines', `CONNECT a.test:443 HTTP/1.1\r\n${'X: y\r\n'.repeat(100)}\r\n`],
    ['a head over the limit', `CONNECT a.test:443 HTTP/1.1\r\nX: ${'v'.repeat(MAX_CONNECT_HEAD_BYTES)}\r\n\r\n`],
  ])('leaves %s to node:http', (_what, head) => {
    expect(readConnectHead(bytes(head))).toEqual({ kind: 'other' });
  });

  it.each([
    ['a bad byte in the target', 'CONNECT 127.0.0.1:\xe0'],
    ['a lowercase version', 'CONNECT a.test:443 http'],
    ['a bad header line, before the head ends', 'CONNECT a.test:443 HTTP/1.1\r\nX : y\r\n'],
    ['a bad byte in a header name', 'CONNECT a.test:443 HTTP/1.1\r\nX(y'],
    ['an unfinished head over the limit', `CONNECT a.test:443 HTTP/1.1\r\nX: ${'v'.repeat(MAX_CONNECT_HEAD_BYTES)}`],
    // Dripped a byte at a time, a long head would cost a check of all of it per byte here.
    ['an unfinished head over what is kept waiting', `CONNECT a.test:443 HTTP/1.1\r\nX: ${'v'.repeat(MAX_PENDING_HEAD_BYTES)}`],
  ])('leaves a head to node:http as soon as it cannot be taken (%s): node:http answers it at once', (_what, head) => {
    expect(readConnectHead(bytes(head))).toEqual({ kind: 'other' });
  });

  it('still reads a long head that comes whole in one piece', () => {
    const long = `CONNECT a.test:443 HTTP/1.1\r\nX: ${'v'.repeat(4 * MAX_PENDING_HEAD_BYTES)}\r\nProxy-Authorization: ${auth}\r\n\r\n`;
    expect(readConnectHead(bytes(long))).toMatchObject({ kind: 'connect', authorization: auth });
  });
});
