import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { remoteExec, remotePty } from '../../src/client/streams.js';
import { BerthError } from '../../src/errors.js';
import { acceptStreams } from '../../src/daemon/api.js';
import { createHandler } from '../../src/daemon/http/handler.js';
import { ROUTES, type ApiDeps } from '../../src/daemon/http/routes.js';
import type { StreamingExec } from '../../src/daemon/http/stream-routes.js';
import { PtySessions, type PtyLike } from '../../src/daemon/pty-sessions.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The daemon's WebSocket routes with the library's exec and terminal replaced by fakes: the gate
 * (Host, Origin, token on the upgrade or as the first message), the protocol (channel frames,
 * exit, errors, hostile messages), cancel on abort and on hang-up, and terminal re-attach. The
 * real exec and PTY behind these routes are tested on every engine in test/integration.
 */
const TOKEN = 'a'.repeat(64);

interface Harness {
  url: string;
  port: number;
  execCalls: { argv: readonly string[]; signal: AbortSignal; stdin?: Uint8Array | undefined }[];
  ptys: FakePty[];
  sessions: PtySessions;
}

class FakePty implements PtyLike {
  readonly id = 'fake-pty';
  readonly written: Buffer[] = [];
  size = { cols: 0, rows: 0 };
  private readonly listeners = new Set<(data: Buffer) => void>();
  private finish: (value: { exitCode: number | null }) => void = () => undefined;
  private readonly done = new Promise<{ exitCode: number | null }>((resolve) => (this.finish = resolve));
  killed: string | null = null;

  onData(cb: (data: Buffer) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  write(data: string | Uint8Array): void {
    const bytes = Buffer.from(data);
    this.written.push(bytes);
    this.emit(Buffer.concat([Buffer.from('echo:'), bytes]));
  }
  emit(chunk: Buffer): void {
    for (const listener of this.listeners) listener(chunk);
  }
  resize(cols: number, rows: number): Promise<void> {
    this.size = { cols, rows };
    return Promise.resolve();
  }
  kill(signal?: NodeJS.Signals): Promise<void> {
    this.killed = signal ?? 'SIGHUP';
    this.finish({ exitCode: 129 });
    return Promise.resolve();
  }
  wait(): Promise<{ exitCode: number | null }> {
    return this.done;
  }
}

const servers: Server[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
});

async function harness(graceMs = 60_000): Promise<Harness> {
  const execCalls: Harness['execCalls'] = [];
  const ptys: FakePty[] = [];
  const exec: StreamingExec = async (_workspace, argv, options) => {
    execCalls.push({ argv, signal: options.signal, stdin: options.stdin });
    if (argv[0] === 'bytes') {
      options.onStdout(Buffer.from([0xff, 0xfe, 0x00, 0x41]));
      options.onStderr(Buffer.from('err'));
      return { exitCode: 3, durationMs: 5 };
    }
    if (argv[0] === 'cat') {
      options.onStdout(Buffer.from(options.stdin ?? []));
      return { exitCode: 0, durationMs: 1 };
    }
    // "sleep": streams one chunk, then waits for its abort signal.
    options.onStdout(Buffer.from('started\n'));
    await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
    throw new BerthError('E_ABORTED', 'aborted');
  };
  const sessions = new PtySessions((): Promise<PtyLike> => {
    const pty = new FakePty();
    ptys.push(pty);
    return Promise.resolve(pty);
  }, graceMs);
  let port = 0;
  const deps = { berth: null, feed: null, egress: null, about: null, exec, ptys: sessions } as unknown as ApiDeps;
  const server = createServer(createHandler({ routes: ROUTES, deps, loopback: { port: () => port, token: TOKEN } }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  closers.push(acceptStreams(server, deps, { token: TOKEN, port: () => port }));
  servers.push(server);
  return { url: `http://127.0.0.1:${String(port)}`, port, execCalls, ptys, sessions };
}

/** Opens a raw socket and collects what the server says until it closes. */
function rawSocket(url: string, options: { headers?: Record<string, string>; first?: unknown[] } = {}): Promise<{ status?: number; messages: unknown[]; code?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: options.headers ?? {} });
    const messages: unknown[] = [];
    ws.on('open', () => {
      for (const m of options.first ?? []) ws.send(typeof m === 'string' ? m : JSON.stringify(m));
    });
    ws.on('message', (data, isBinary) => messages.push(isBinary ? data : JSON.parse((data as Buffer).toString('utf8'))));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode, messages }));
    ws.on('error', () => undefined);
    ws.on('close', (code) => resolve({ messages, code }));
  });
}

describe('daemon WebSocket routes', () => {
  it('streams stdout and stderr as channel frames, bytes unchanged, and the exit code', async () => {
    const h = await harness();
    const chunks: Buffer[] = [];
    const result = await remoteExec({ url: h.url, token: TOKEN }, 'ws1', ['bytes'], { onStdout: (c) => chunks.push(c) });
    expect([...result.stdout]).toEqual([0xff, 0xfe, 0x00, 0x41]);
    expect(result.stderr.toString()).toBe('err');
    expect(result.exitCode).toBe(3);
    expect(Buffer.concat(chunks).equals(result.stdout)).toBe(true);
  });

  it('passes stdin bytes through', async () => {
    const h = await harness();
    const stdin = Buffer.from([0, 1, 2, 0xff, 0x0a]);
    const result = await remoteExec({ url: h.url, token: TOKEN }, 'ws1', ['cat'], { stdin });
    expect(result.stdout.equals(stdin)).toBe(true);
  });

  it('an abort reaches the library as its signal, and the caller gets E_ABORTED', async () => {
    const h = await harness();
    const controller = new AbortController();
    const first = new Promise<void>((resolve) => {
      void remoteExec({ url: h.url, token: TOKEN }, 'ws1', ['sleep'], { signal: controller.signal, onStdout: () => resolve() }).catch((error: unknown) => (rejected = error));
    });
    let rejected: unknown;
    await first;
    controller.abort();
    await waitFor(() => rejected !== undefined, { timeout: 5000 });
    expect((rejected as BerthError).code).toBe('E_ABORTED');
    expect(h.execCalls[0]?.signal.aborted).toBe(true);
  });

  it('a caller hanging up aborts the command', async () => {
    const h = await harness();
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/exec`, { headers: { authorization: `Bearer ${TOKEN}` } });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'open', argv: ['sleep'] })));
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    ws.terminate();
    await waitFor(() => h.execCalls[0]?.signal.aborted === true, { timeout: 5000 });
  });

  it('takes the token as the first message (a browser cannot set the header), and nothing before it', async () => {
    const h = await harness();
    const ok = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/exec`, { first: [{ type: 'auth', token: TOKEN }, { type: 'open', argv: ['bytes'] }] });
    expect(ok.messages.at(-1)).toMatchObject({ type: 'exit', exitCode: 3 });
    const wrong = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/exec`, { first: [{ type: 'auth', token: 'b'.repeat(64) }, { type: 'open', argv: ['bytes'] }] });
    expect(wrong.messages).toEqual([expect.objectContaining({ type: 'error', code: 'E_UNAUTHORIZED' })]);
    const skipped = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/exec`, { first: [{ type: 'open', argv: ['bytes'] }] });
    expect(skipped.messages).toEqual([expect.objectContaining({ type: 'error', code: 'E_UNAUTHORIZED' })]);
    expect(h.execCalls).toHaveLength(1);
  });

  it('refuses a foreign Host or Origin before the upgrade, token or not', async () => {
    const h = await harness();
    const headers = { authorization: `Bearer ${TOKEN}` };
    const rebinding = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/pty`, { headers: { ...headers, host: `evil.example:${String(h.port)}` } });
    expect(rebinding.status).toBe(403);
    const preview = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/pty`, { headers: { ...headers, origin: 'http://127.0.0.1:1' } });
    expect(preview.status).toBe(403);
    const nowhere = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/nothing`, { headers });
    expect(nowhere.status).toBe(404);
    expect(h.ptys).toHaveLength(0);
  });

  it('answers a plain request to a WebSocket route with 426', async () => {
    const h = await harness();
    const res = await fetch(`${h.url}/workspaces/ws1/pty`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(426);
  });

  it('closes on hostile messages with a clear error, running nothing', async () => {
    const h = await harness();
    const url = `${h.url.replace('http', 'ws')}/workspaces/ws1/exec`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (const first of ['not json', { type: 'open', argv: [] }, { type: 'open', argv: ['x'], env: { 'A=B': '1' } }, { type: 'open', argv: ['x'], extra: 1 }, '{"type":"open","argv":"sh -c id"}']) {
      const r = await rawSocket(url, { headers, first: [first] });
      expect(r.messages).toEqual([expect.objectContaining({ type: 'error', code: 'E_INVALID_INPUT' })]);
      expect(r.code).toBe(1008);
    }
    expect(h.execCalls).toHaveLength(0);
  });

  it('a terminal: keystrokes in, output out, resize, kill, exit', async () => {
    const h = await harness();
    const pty = await remotePty({ url: h.url, token: TOKEN }, 'ws1', { cols: 80, rows: 24 });
    const seen: Buffer[] = [];
    pty.onData((d) => seen.push(d));
    pty.write('ls\r');
    await waitFor(() => Buffer.concat(seen).toString().includes('echo:ls\r'), { timeout: 5000 });
    await pty.resize(120, 40);
    await waitFor(() => h.ptys[0]?.size.cols === 120, { timeout: 5000 });
    expect(h.ptys[0]?.size).toEqual({ cols: 120, rows: 40 });
    await pty.kill('SIGTERM');
    expect(await pty.wait()).toEqual({ exitCode: 129 });
    expect(h.ptys[0]?.killed).toBe('SIGTERM');
  });

  it('a dropped terminal connection re-attaches to the same shell and sees its recent output', async () => {
    const h = await harness();
    const first = await remotePty({ url: h.url, token: TOKEN }, 'ws1', { cols: 80, rows: 24 });
    first.write('before');
    await waitFor(() => h.ptys[0]?.written.length === 1, { timeout: 5000 });
    const url = `${h.url.replace('http', 'ws')}/workspaces/ws1/pty`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    // The first socket goes away (a reload); the shell is kept.
    const ws1 = new WebSocket(url, { headers });
    await new Promise((r) => ws1.on('open', r));
    ws1.terminate();
    const again = new WebSocket(url, { headers });
    const replay: Buffer[] = [];
    again.on('message', (data, isBinary) => isBinary && replay.push(data as Buffer));
    await new Promise((r) => again.on('open', r));
    again.send(JSON.stringify({ type: 'attach', session: first.id }));
    await waitFor(() => Buffer.concat(replay).toString().includes('echo:before'), { timeout: 5000 });
    expect(h.ptys).toHaveLength(1);
    // Another workspace's socket cannot take it.
    const other = await rawSocket(`${h.url.replace('http', 'ws')}/workspaces/ws2/pty`, { headers, first: [{ type: 'attach', session: first.id }] });
    expect(other.messages).toEqual([expect.objectContaining({ type: 'error', code: 'E_NOT_FOUND' })]);
    again.close();
  });

  it('a terminal nobody re-attaches to is killed after the grace', async () => {
    const h = await harness(200);
    const ws = new WebSocket(`${h.url.replace('http', 'ws')}/workspaces/ws1/pty`, { headers: { authorization: `Bearer ${TOKEN}` } });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'open', cols: 80, rows: 24 })));
    await new Promise<void>((resolve) => ws.on('message', () => resolve()));
    ws.terminate();
    await waitFor(() => h.ptys[0]?.killed !== null && h.ptys[0]?.killed !== undefined, { timeout: 5000 });
    expect(h.sessions.size).toBe(0);
  });
});
