/**
 * The server name a TLS ClientHello asks for (its SNI extension), read from the first bytes a client
 * sends into a CONNECT tunnel. The proxy never decrypts anything: it only compares this name with
 * the host the tunnel was allowed for, which stops domain fronting (a tunnel opened to an allowed
 * name on a shared front end, then used for another site behind it).
 */

export type ClientHelloRead =
  /** Not a TLS handshake (a server-first or plain protocol): nothing to check. */
  | { kind: 'not-tls' }
  /** The first record is not all here yet; `needed` is the byte count that completes it. */
  | { kind: 'incomplete'; needed: number }
  /** A ClientHello without a host name (none given, or one this reader cannot parse). */
  | { kind: 'no-name' }
  | { kind: 'name'; name: string };

const HANDSHAKE_RECORD = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const HOST_NAME_TYPE = 0x00;
/** The largest TLS record (2^14) plus its header: more than this is never waited for. */
export const MAX_RECORD_BYTES = 16_384 + 5;

export function readClientHello(data: Buffer): ClientHelloRead {
  if (data.length === 0) return { kind: 'incomplete', needed: 5 };
  if (data[0] !== HANDSHAKE_RECORD) return { kind: 'not-tls' };
  if (data.length < 5) return { kind: 'incomplete', needed: 5 };
  if (data[1] !== 0x03) return { kind: 'not-tls' };
  const recordLength = data.readUInt16BE(3);
  if (recordLength + 5 > MAX_RECORD_BYTES) return { kind: 'no-name' };
  if (data.length < recordLength + 5) return { kind: 'incomplete', needed: recordLength + 5 };
  return serverName(data.subarray(5, 5 + recordLength));
}

/** Walks the ClientHello to the server_name extension; any malformation reads as "no name". */
function serverName(body: Buffer): ClientHelloRead {
  const reader = new Reader(body);
  if (reader.u8() !== CLIENT_HELLO) return { kind: 'no-name' };
  reader.skip(3 + 2 + 32); // handshake length, legacy version, random
  reader.skip(reader.u8()); // session id
  reader.skip(reader.u16()); // cipher suites
  reader.skip(reader.u8()); // compression methods
  if (!reader.ok || reader.left === 0) return { kind: 'no-name' };
  const end = reader.offset + reader.u16();
  while (reader.ok && reader.offset + 4 <= end) {
    const type = reader.u16();
    const length = reader.u16();
    if (type !== SERVER_NAME_EXTENSION) {
      reader.skip(length);
      continue;
    }
    const listEnd = reader.offset + reader.u16();
    while (reader.ok && reader.offset + 3 <= listEnd) {
      const nameType = reader.u8();
      const name = reader.bytes(reader.u16());
      if (reader.ok && nameType === HOST_NAME_TYPE) return { kind: 'name', name: name.toString('ascii') };
    }
    return { kind: 'no-name' };
  }
  return { kind: 'no-name' };
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
