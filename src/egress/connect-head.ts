/**
 * The head of a CONNECT request, read by hand from the first bytes of a proxy connection.
 *
 * Why by hand: node:http builds a parser, an IncomingMessage and its header objects for every
 * connection, and under a burst of tunnels that per-socket work is most of what the proxy costs
 * above a bare relay (docs/benchmarks.md, "Tunnel bursts at 256 concurrent"). This reader takes
 * only the plain, well-formed shape a CONNECT has (curl's, Go's, Node's, Python's): anything it is
 * not sure of answers `other`, and the connection goes to node:http exactly as it came, so every
 * unusual or hostile head is judged as before by the same parser. Accepting less than node:http
 * is always safe here; accepting something node:http would have refused is not.
 */

export type ConnectHead =
  /** Not decided yet: every byte so far fits a CONNECT head that has not ended. */
  | { kind: 'incomplete' }
  /** A complete CONNECT head; `rest` is what the client sent after it, in the same bytes. */
  | { kind: 'connect'; target: string; authorization: string | undefined; rest: Buffer }
  /** Anything else: another method, or a CONNECT this reader leaves to node:http. */
  | { kind: 'other' };

const METHOD = Buffer.from('CONNECT ', 'latin1');
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
/**
 * Heads longer than this go to node:http, whose own limit (16 KiB, answered 431) then applies.
 * A CONNECT head is a few hundred bytes; this only bounds what is buffered here.
 */
export const MAX_CONNECT_HEAD_BYTES = 8 * 1024;
/**
 * A head still unfinished past this many bytes goes to node:http, whose parser reads on as bytes
 * come: checking an unfinished head again on every chunk is quadratic, and a workspace dripping a
 * long head a byte at a time would make each of its connections cost ~0.1 s of CPU here (measured
 * at 8 KiB). A CONNECT head is a few hundred bytes; a longer one in one piece is still read here.
 */
export const MAX_PENDING_HEAD_BYTES = 1024;
/** More header lines than any client sends with a CONNECT: node:http takes the rest (its header-count limit). */
const MAX_HEADER_LINES = 64;

const INCOMPLETE: ConnectHead = { kind: 'incomplete' };
const OTHER: ConnectHead = { kind: 'other' };

/** `CONNECT host:port HTTP/1.x`: a name, an IPv4 address or a bracketed IPv6 address, and digits. */
const REQUEST_LINE = /^CONNECT ((?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}) HTTP\/1\.[01]$/;
/** A header field (RFC 9110 token, colon, value); no whitespace before the colon, no folding. */
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
/** Bytes a plain head has: visible ASCII, space, tab, CR and LF (checked as pairs below). */
const PLAIN_HEAD = /^[\t\r\n\x20-\x7e]*$/;
/** These change how node:http frames a message, so a CONNECT carrying them is left to it. */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/** What a request line this reader takes can start with, for a head that has not ended yet. */
const REQUEST_LINE_START = /^CONNECT [A-Za-z0-9._:[\]-]*(?: (?:H(?:T(?:T(?:P(?:\/(?:1(?:\.(?:[01]\r?)?)?)?)?)?)?)?)?)?$/;
/** What a header line can start with, for the line that has not ended yet. */
const HEADER_LINE_START = /^(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+(?::[\t\x20-\x7e]*)?)?\r?$/;

/**
 * Whether an unfinished head can still become one this reader takes, judging only the lines that
 * the bytes after `searchFrom` touch (earlier ones were judged by earlier calls). node:http refuses
 * a bad byte as it arrives (400), so a head that cannot be taken goes to it now, not when it ends.
 */
function plausible(bytes: Buffer, searchFrom: number): boolean {
  // The start of the first line the new bytes touch: after the last CRLF wholly before them.
  const crlf = searchFrom < 2 ? -1 : bytes.lastIndexOf(CRLF, searchFrom - 2);
  const from = crlf < 0 ? 0 : crlf + 2;
  const lines = bytes.toString('latin1', from).split('\r\n');
  const last = lines.length - 1;
  for (let i = 0; i <= last; i++) {
    const line = lines[i] ?? '';
    const first = from === 0 && i === 0;
    if (first ? !(i === last ? REQUEST_LINE_START : REQUEST_LINE).test(line) : !(i === last ? HEADER_LINE_START : HEADER_LINE).test(line) || (i < last && line.includes('\r'))) return false;
  }
  return true;
}

/**
 * Reads what `bytes` (everything the connection has sent so far) holds. `searchFrom` lets a caller
 * that appends to its buffer skip what an earlier call already scanned for the end of the head.
 */
export function readConnectHead(bytes: Buffer, searchFrom = 0): ConnectHead {
  const prefix = Math.min(bytes.length, METHOD.length);
  if (bytes.compare(METHOD, 0, prefix, 0, prefix) !== 0) return OTHER;
  if (bytes.length <= METHOD.length) return INCOMPLETE;
  const end = bytes.indexOf(END_OF_HEAD, Math.max(0, searchFrom - (END_OF_HEAD.length - 1)));
  if (end < 0) return bytes.length > MAX_PENDING_HEAD_BYTES || !plausible(bytes, searchFrom) ? OTHER : INCOMPLETE;
  if (end > MAX_CONNECT_HEAD_BYTES) return OTHER;
  const head = bytes.toString('latin1', 0, end);
  if (!PLAIN_HEAD.test(head)) return OTHER;
  const lines = head.split('\r\n');
  if (lines.length > MAX_HEADER_LINES + 1) return OTHER;
  const requestLine = REQUEST_LINE.exec(lines[0] ?? '');
  if (requestLine?.[1] === undefined) return OTHER;
  let authorization: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    // A lone CR or LF inside a line: node:http refuses it or reads it otherwise.
    if (line.includes('\r') || line.includes('\n')) return OTHER;
    const field = HEADER_LINE.exec(line);
    if (field?.[1] === undefined) return OTHER;
    const name = field[1].toLowerCase();
    if (FRAMING.has(name)) return OTHER;
    if (name === 'proxy-authorization') {
      // node:http keeps the first of two; a client that sends two is not one this reader serves.
      if (authorization !== undefined) return OTHER;
      authorization = field[2] ?? '';
    }
  }
  return { kind: 'connect', target: requestLine[1], authorization, rest: bytes.subarray(end + END_OF_HEAD.length) };
}
