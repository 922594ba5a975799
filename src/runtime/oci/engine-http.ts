import { connect, type Socket } from 'node:net';
import { EngineApiError, engineErrorMessage, parseEngineBody, unreachableOr } from './engine-socket.js';

/**
 * The few HTTP/1.1 requests an exec makes to the engine's unix socket (create, the hijacked start,
 * the exit code), written straight onto node:net. `berth exec` is a fresh process each time, and
 * node:http is most of what it would load: the client, the agent, the server half Node loads with
 * it, and for every request the agent's server-name check, which compiles Node's IPv6 pattern (the
 * largest single cost of an exec in `node --cpu-prof`; docs/benchmarks.md). An engine's answers
 * here are small and simple, so this reads exactly what they can be and no more:
 *
 * - one request per connection (`Connection: close`); the status line and headers, then a body
 *   of `Content-Length` bytes, or `Transfer-Encoding: chunked`, or up to the close;
 * - the start's `101` upgrade: what follows the headers is the exec's raw stream (docker:
 *   api/server/router/container/exec.go@v20.10.24 writes "HTTP/1.1 101 UPGRADED" and its headers
 *   itself, then the stream; podman: libpod/util.go `writeHijackHeader`@v4.3.1, the same text).
 *
 * Anything the engine answers that is not 2xx (or not 101, for the upgrade) becomes an
 * EngineApiError with the engine's own message, as the node:http client in engine-api.ts does.
 */

export interface EngineReply {
  status: number;
  /** The body, parsed as JSON when it is JSON (engine-socket.ts `parseEngineBody`). */
  body: unknown;
}

/** One request; its whole answer. A socket that does not answer at all rejects EngineApiUnreachable. */
export function engineRequest(socketPath: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<EngineReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const reader = new ResponseReader();
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`${method} ${path} on ${socketPath} timed out`)));
    socket.on('error', (error: NodeJS.ErrnoException) => fail(unreachableOr(error, socketPath)));
    const answer = (reply: RawReply): void => {
      socket.destroy();
      resolve({ status: reply.status, body: parseEngineBody(reply.body.toString('utf8')) });
    };
    socket.on('data', (chunk: Buffer) => {
      const reply = attempt(() => reader.push(chunk), fail);
      if (reply !== undefined) answer(reply);
    });
    socket.on('end', () => {
      const reply = attempt(() => reader.atClose(), fail);
      if (reply === undefined) fail(new Error(`${method} ${path} on ${socketPath}: the engine closed the connection before it answered`));
      else answer(reply);
    });
    socket.write(requestHead(method, path, body, 'close'));
  });
}

/** `engineRequest` for JSON: the parsed body of a 2xx answer, else EngineApiError. */
export async function engineJson(socketPath: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const reply = await engineRequest(socketPath, method, path, body, timeoutMs);
  if (reply.status >= 200 && reply.status < 300) return reply.body;
  throw new EngineApiError(reply.status, engineErrorMessage(reply.body, reply.status), `${method} ${path}`);
}

/**
 * POST with `Upgrade: tcp`. On `101` the socket is handed over paused, with any bytes that came
 * after the headers put back in front: the caller attaches its listeners, then resumes it. Any
 * other answer is read whole and rejects EngineApiError (404 no such exec, 409 not running). A
 * failure to connect rejects as it is (the exec instance exists by now: not a reason to use the CLI).
 */
export function engineUpgrade(socketPath: string, path: string, body: unknown): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const reader = new ResponseReader();
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(error);
    };
    const refused = (reply: RawReply): void => {
      const parsed = parseEngineBody(reply.body.toString('utf8'));
      fail(new EngineApiError(reply.status, engineErrorMessage(parsed, reply.status), `POST ${path}`));
    };
    const onData = (chunk: Buffer): void => {
      const head = attempt(() => reader.pushHead(chunk), fail);
      if (head === undefined) return;
      if (head.status === 101) {
        settled = true;
        socket.removeListener('data', onData);
        socket.removeListener('end', onEnd);
        socket.pause();
        if (head.rest.length > 0) socket.unshift(head.rest);
        resolve(socket);
        return;
      }
      // Refused: the rest is an ordinary response, read whole.
      socket.removeListener('data', onData);
      const readRefusal = (more: Buffer): void => {
        const reply = attempt(() => reader.push(more), fail);
        if (reply !== undefined) refused(reply);
      };
      socket.on('data', readRefusal);
      readRefusal(Buffer.alloc(0));
    };
    const onEnd = (): void => {
      if (settled) return;
      const reply = attempt(() => reader.atClose(), fail);
      if (reply === undefined) fail(new Error(`POST ${path} on ${socketPath}: the engine closed the connection before it answered`));
      else refused(reply);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    // Errors after the hand-over are the caller's (its own listener); until then they reject here.
    socket.on('error', (error: Error) => fail(error));
    socket.write(requestHead('POST', path, body, 'upgrade'));
  });
}

/** `read()`, or undefined after handing its error to `fail`. */
function attempt<T>(read: () => T | undefined, fail: (error: Error) => void): T | undefined {
  try {
    return read();
  } catch (error) {
    fail(error as Error);
    return undefined;
  }
}

function requestHead(method: string, path: string, body: unknown, connection: 'close' | 'upgrade'): Buffer {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: engine',
    connection === 'close' ? 'Connection: close' : 'Connection: Upgrade',
    ...(connection === 'upgrade' ? ['Upgrade: tcp'] : []),
    ...(payload === undefined ? (method === 'POST' ? ['Content-Length: 0'] : []) : ['Content-Type: application/json', `Content-Length: ${String(payload.length)}`]),
  ];
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return payload === undefined ? head : Buffer.concat([head, payload]);
}

interface RawReply {
  status: number;
  body: Buffer;
}

interface ResponseHead {
  status: number;
  /** Lower-cased names. */
  headers: Map<string, string>;
  /** What came after the blank line. */
  rest: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** A status line and headers longer than this are not an engine's. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Reads one HTTP/1.1 response from the chunks it arrives in. `push` answers the whole response
 * once it is complete; `atClose` answers what a close completes (a body without a length) or
 * undefined when the response was cut short.
 */
export class ResponseReader {
  private buffered: Buffer = Buffer.alloc(0);
  private head: ResponseHead | undefined;

  /** The status and headers once they are complete (the rest of the bytes stay buffered as body). */
  pushHead(chunk: Buffer): ResponseHead | undefined {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.head !== undefined) return this.head;
    const end = this.buffered.indexOf(HEAD_END);
    if (end === -1) {
      if (this.buffered.length > MAX_HEAD_BYTES) throw new Error('the engine answered a response head over 64 KiB');
      return undefined;
    }
    const [statusLine = '', ...fields] = this.buffered.subarray(0, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) throw new Error(`the engine answered something other than HTTP: ${JSON.stringify(statusLine.slice(0, 80))}`);
    const headers = new Map<string, string>();
    for (const field of fields) {
      const colon = field.indexOf(':');
      if (colon > 0) headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
    }
    this.buffered = this.buffered.subarray(end + HEAD_END.length);
    this.head = { status: Number(match[1]), headers, rest: this.buffered };
    return this.head;
  }

  push(chunk: Buffer): RawReply | undefined {
    const head = this.pushHead(chunk);
    if (head === undefined) return undefined;
    const body = this.body(head, false);
    return body === undefined ? undefined : { status: head.status, body };
  }

  atClose(): RawReply | undefined {
    const head = this.head;
    if (head === undefined) return undefined;
    const body = this.body(head, true);
    return body === undefined ? undefined : { status: head.status, body };
  }

  private body(head: ResponseHead, closed: boolean): Buffer | undefined {
    // No body by definition (RFC 9112 §6.3): 1xx, 204, 304.
    if (head.status < 200 || head.status === 204 || head.status === 304) return Buffer.alloc(0);
    if (/\bchunked\b/i.test(head.headers.get('transfer-encoding') ?? '')) return dechunk(this.buffered);
    const length = head.headers.get('content-length');
    if (length !== undefined) {
      const size = Number(length);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`the engine answered a bad Content-Length: ${JSON.stringify(length)}`);
      return this.buffered.length >= size ? this.buffered.subarray(0, size) : undefined;
    }
    return closed ? this.buffered : undefined;
  }
}

/** A chunked body, once its last (empty) chunk has arrived; trailers are ignored. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const sizeText = data.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`the engine answered a bad chunk size: ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}
