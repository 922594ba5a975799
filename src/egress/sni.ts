/**
 * The server name a TLS ClientHello asks for (its SNI extension), read from the first bytes a client
 * sends into a CONNECT tunnel. The proxy never decrypts anything: it only compares this name with
 * the host the tunnel was allowed for, which stops domain fronting (a tunnel opened to an allowed
 * name on a shared front end, then used for another site behind it).
 *
 * The ClientHello is one handshake message, which TLS lets a client cut into any number of records
 * (RFC 8446 §5.1: "handshake messages MAY be fragmented across multiple records"), and each record
 * into any number of TCP segments. So the message is reassembled across records before it is read,
 * within bounds (MAX_CLIENT_HELLO_BYTES, MAX_HELLO_RECORDS); a handshake that breaks them, or that
 * cannot be read, is `malformed`, which a tunnel opened to a name refuses.
 */

export type ClientHelloRead =
  /** Not a TLS handshake (a server-first or plain protocol): nothing to check. */
  | { kind: 'not-tls' }
  /** A TLS handshake has started and the ClientHello is not all here yet. */
  | { kind: 'incomplete' }
  /** A TLS handshake that is not a ClientHello this reader can read within its bounds; `why` says what. */
  | { kind: 'malformed'; why: string }
  /** A well-formed ClientHello without a host name (a client talking to an IP address). */
  | { kind: 'no-name' }
  | { kind: 'name'; name: string };

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const HOST_NAME_TYPE = 0x00;
/** The largest record payload TLS allows (2^14, RFC 8446 §5.1). */
const MAX_RECORD_PAYLOAD = 16_384;
/** A ClientHello bigger than this (its 4-byte handshake header included) is not waited for: real ones are 0.2-2 KiB. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;
/** At most this many records may carry one ClientHello, so 1-byte records cannot make the buffer 6× the bound. */
export const MAX_HELLO_RECORDS = 64;

export function readClientHello(data: Buffer): ClientHelloRead {
  if (data.length === 0) return { kind: 'incomplete' };
  if (data[0] !== HANDSHAKE_RECORD) return { kind: 'not-tls' };
  if (data.length >= 2 && data[1] !== 0x03) return { kind: 'not-tls' };
  const fragments: Buffer[] = [];
  let carried = 0;
  let offset = 0;
  let total: number | undefined;
  for (let records = 0; ; records++) {
    if (data.length < offset + 5) return { kind: 'incomplete' };
    if (records === MAX_HELLO_RECORDS) return malformed(`the ClientHello is cut into more than ${String(MAX_HELLO_RECORDS)} records`);
    if (data[offset] !== HANDSHAKE_RECORD || data[offset + 1] !== 0x03) return malformed('a record that is not a handshake arrives before the ClientHello is complete');
    const length = data.readUInt16BE(offset + 3);
    if (length === 0 || length > MAX_RECORD_PAYLOAD) return malformed(`a handshake record of ${String(length)} bytes`);
    if (data.length < offset + 5 + length) return { kind: 'incomplete' };
    fragments.push(data.subarray(offset + 5, offset + 5 + length));
    carried += length;
    offset += 5 + length;
    if (total === undefined && carried >= 4) {
      const header = Buffer.concat(fragments).subarray(0, 4);
      if (header[0] !== CLIENT_HELLO) return malformed('the first handshake message is not a ClientHello');
      total = 4 + header.readUIntBE(1, 3);
      if (total > MAX_CLIENT_HELLO_BYTES) return malformed(`a ClientHello of ${String(total)} bytes, more than ${String(MAX_CLIENT_HELLO_BYTES)}`);
    }
    if (total !== undefined && carried >= total) return serverName(Buffer.concat(fragments).subarray(4, total));
  }
}

function malformed(why: string): ClientHelloRead {
  return { kind: 'malformed', why };
}

/** Walks the ClientHello body to the server_name extension; a body that does not parse is malformed. */
function serverName(body: Buffer): ClientHelloRead {
  const reader = new Reader(body);
  reader.skip(2 + 32); // legacy version, random
  reader.skip(reader.u8()); // session id
  reader.skip(reader.u16()); // cipher suites
  reader.skip(reader.u8()); // compression methods
  if (!reader.ok) return malformed('the ClientHello ends before its extensions');
  if (reader.left === 0) return { kind: 'no-name' }; // no extensions at all (TLS 1.0 style)
  const extensionsLength = reader.u16();
  const end = reader.offset + extensionsLength;
  if (end !== body.length) return malformed('the extensions do not fill the ClientHello');
  let name: string | undefined;
  let seen = false;
  while (reader.ok && reader.offset < end) {
    const type = reader.u16();
    const length = reader.u16();
    if (type !== SERVER_NAME_EXTENSION) {
      reader.skip(length);
      continue;
    }
    // Two server_name extensions, or two host names, could be read differently by the server: refused.
    if (seen) return malformed('two server_name extensions');
    seen = true;
    const list = new Reader(reader.bytes(length));
    const listEnd = list.u16() + 2;
    if (listEnd !== length) return malformed('a server_name extension of the wrong length');
    while (list.ok && list.offset < listEnd) {
      const nameType = list.u8();
      const entry = list.bytes(list.u16());
      if (!list.ok || nameType !== HOST_NAME_TYPE) continue;
      if (name !== undefined) return malformed('two host names in server_name');
      if (entry.length === 0) return malformed('an empty host name in server_name');
      name = entry.toString('latin1');
    }
    if (!list.ok) return malformed('a server_name extension that does not parse');
  }
  if (!reader.ok) return malformed('an extension runs past the end of the ClientHello');
  return name === undefined ? { kind: 'no-name' } : { kind: 'name', name };
}

/** Bounds-checked big-endian reads; a read past the end sets `ok` to false instead of throwing. */
class Reader {
  offset = 0;
  ok = true;
  private readonly data: Buffer;

  constructor(data: Buffer) {
    this.data = data;
  }

  get left(): number {
    return this.data.length - this.offset;
  }

  u8(): number {
    return this.take(1)?.readUInt8(0) ?? 0;
  }

  u16(): number {
    return this.take(2)?.readUInt16BE(0) ?? 0;
  }

  bytes(count: number): Buffer {
    return this.take(count) ?? Buffer.alloc(0);
  }

  skip(count: number): void {
    this.take(count);
  }

  private take(count: number): Buffer | undefined {
    if (!this.ok || this.offset + count > this.data.length) {
      this.ok = false;
      return undefined;
    }
    const slice = this.data.subarray(this.offset, this.offset + count);
    this.offset += count;
    return slice;
  }
}

/** Whether the name the client asked TLS for is the host the tunnel was allowed for. */
export function sameHost(sni: string, connectHost: string): boolean {
  const normal = (name: string): string => name.toLowerCase().replace(/\.$/, '');
  return normal(sni) === normal(connectHost);
}
