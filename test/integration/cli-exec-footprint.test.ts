import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';

/**
 * What one `berth exec` costs on the docker path, against a fake engine socket (issue 14: the CLI
 * exec budget). The built `berth` (dist/cli/main.js) is run as an agent runs it, with an address
 * card naming a docker container and BERTH_DOCKER_API pointing at a socket this test answers
 * itself, so it can count the requests and check the bytes, and a preload reports which of
 * Node's own modules the process loaded. The guards:
 *
 * - three requests per exec (create, hijacked start, exit code), no version or ping call;
 * - node:http, node:crypto, perf_hooks and child_process never load on this path: each costs a
 *   fresh process milliseconds to compile (docs/benchmarks.md, "CLI start-up");
 * - the answers the engine may give in any framing (Content-Length, chunked, bytes split across
 *   writes, stream bytes in the same write as the 101) read the same.
 */

const BERTH_BIN = join(import.meta.dirname, '../../dist/cli/main.js');

type Framing = 'content-length' | 'chunked, split';

interface FakeEngine {
  socketPath: string;
  requests: { line: string; body: string }[];
  close(): Promise<void>;
}

const EXEC_ID = 'e0c0ffee';

/** `[stream, 0, 0, 0, size]` + payload: how the engine multiplexes stdout (1) and stderr (2). */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

/** A JSON answer; the connection stays open for the next request unless the client asked to close it. */
function jsonReply(socket: Socket, status: string, body: unknown, framing: Framing, close: boolean): void {
  const text = JSON.stringify(body);
  const connection = close ? 'Connection: close\r\n' : '';
  const send = (data: string, last: boolean): void => void (last && close ? socket.end(data) : socket.write(data));
  if (framing === 'content-length') {
    send(`HTTP/1.1 ${status}\r\n${connection}Content-Type: application/json\r\nContent-Length: ${String(Buffer.byteLength(text))}\r\n\r\n${text}`, true);
    return;
  }
  // Chunked, and the head and each chunk split mid-way across writes.
  const half = Math.floor(text.length / 2);
  const wire = `HTTP/1.1 ${status}\r\n${connection}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${half.toString(16)}\r\n${text.slice(0, half)}\r\n${(text.length - half).toString(16)}\r\n${text.slice(half)}\r\n0\r\n\r\n`;
  const cuts = [7, 40, wire.length - 9, wire.length - 2, wire.length];
  let at = 0;
  for (const cut of cuts) {
    send(wire.slice(at, cut), cut === wire.length);
    at = cut;
  }
}

/** An engine that answers one exec as docker does; `refuseCreate` answers the create with a 404. */
function fakeEngine(dir: string, framing: Framing, refuseCreate = false): Promise<FakeEngine> {
  const socketPath = join(dir, `engine-${framing.replace(/\W+/g, '-')}-${String(refuseCreate)}.sock`);
  const requests: FakeEngine['requests'] = [];
  const server: Server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      // Requests one after another on one connection, as a keep-alive client sends them.
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? '0');
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length);
        buffered = buffered.subarray(end + 4 + length);
        if (answer(head, body.toString('utf8'))) return;
      }
    };
    /** Answers one request; true when the connection is now the exec's stream. */
    const answer = (head: string, body: string): boolean => {
      const line = head.split('\r\n')[0] ?? '';
      const close = /^connection: *close$/im.test(head);
      requests.push({ line, body });
      const [method, path] = line.split(' ');
      if (method === 'POST' && path === '/containers/berth-fp/exec') {
        if (refuseCreate) jsonReply(socket, '404 Not Found', { message: 'No such container: berth-fp' }, framing, close);
        else jsonReply(socket, '201 Created', { Id: EXEC_ID }, framing, close);
      } else if (method === 'POST' && path === `/exec/${EXEC_ID}/start`) {
        socket.removeListener('data', onData);
        // The first stream bytes ride in the same write as the 101's head.
        socket.write(
          Buffer.concat([Buffer.from('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'), frame(1, 'hello\n')]),
        );
        socket.write(frame(2, 'warn\n'));
        // Then stdin, echoed back once the client ends it.
        const input: Buffer[] = [];
        socket.on('data', (data: Buffer) => input.push(data));
        socket.on('end', () => socket.end(frame(1, `stdin:${Buffer.concat(input).toString()}\n`)));
        return true;
      } else if (method === 'GET' && path === `/exec/${EXEC_ID}/json`) {
        jsonReply(socket, '200 OK', { ID: EXEC_ID, Running: false, ExitCode: 3, Pid: 42 }, framing, close);
      } else {
        jsonReply(socket, '404 Not Found', { message: `unexpected ${line}` }, 'content-length', close);
      }
      return false;
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () =>
      resolve({
        socketPath,
        requests,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

describe('berth exec on docker: requests and modules per exec (fake engine socket)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-exec-footprint-'));
  const home = join(scratch, 'home');
  const preload = join(scratch, 'modules.cjs');
  const modulesFile = join(scratch, 'modules.txt');

  beforeAll(() => {
    if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
    mkdirSync(join(home, 'workspaces', 'fp'), { recursive: true });
    writeFileSync(join(home, 'workspaces', 'fp', 'address.json'), JSON.stringify({ runtime: 'docker', container: 'berth-fp' }));
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(modulesFile)}, process.moduleLoadList.join('\\n')));\n`);
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function berthExec(engine: FakeEngine) {
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: scratch, BERTH_HOME: home, BERTH_DOCKER_API: engine.socketPath };
    return run([process.execPath, '--require', preload, BERTH_BIN, 'exec', 'fp', '--', 'sh', '-c', 'the command'], { env, input: 'abc', okExitCodes: 'any', timeoutMs: 60_000 });
  }

  it.each<Framing>(['content-length', 'chunked, split'])('runs the command in three requests, without loading node:http, crypto or perf_hooks (%s answers)', async (framing) => {
    const engine = await fakeEngine(scratch, framing);
    try {
      const result = await berthExec(engine);
      expect(result.stderr).toBe('warn\n');
      expect(result.stdout).toBe('hello\nstdin:abc\n');
      expect(result.exitCode).toBe(3);
      expect(engine.requests.map((r) => r.line.replace(/\s+HTTP\/1\.1$/, ''))).toEqual([
        'POST /containers/berth-fp/exec',
        `POST /exec/${EXEC_ID}/start`,
        `GET /exec/${EXEC_ID}/json`,
      ]);
      const create = JSON.parse(engine.requests[0]?.body ?? '{}') as { Cmd?: string[]; Env?: string[]; AttachStdin?: boolean };
      expect(create.Cmd).toEqual(['sh', '-c', 'the command']);
      expect(create.AttachStdin).toBe(true);
      // The cancel marker: a random UUID v4, made without node:crypto.
      expect(create.Env).toEqual([expect.stringMatching(/^BERTH_EXEC_ID=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)]);

      const loaded = readFileSync(modulesFile, 'utf8').split('\n');
      const heavy = ['NativeModule http', 'NativeModule _http_client', 'NativeModule _http_agent', 'NativeModule crypto', 'NativeModule perf_hooks', 'NativeModule child_process'];
      expect(loaded.filter((name) => heavy.includes(name))).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('reports an engine refusal as the CLI path does, after one request', async () => {
    const engine = await fakeEngine(scratch, 'chunked, split', true);
    try {
      const result = await berthExec(engine);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain('The container of workspace "fp" no longer exists on docker.');
      expect(engine.requests.map((r) => r.line.replace(/\s+HTTP\/1\.1$/, ''))).toEqual(['POST /containers/berth-fp/exec']);
    } finally {
      await engine.close();
    }
  });
});
