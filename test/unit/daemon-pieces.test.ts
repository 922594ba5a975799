import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventFeed } from '../../src/daemon/event-feed.js';
import { refuseLoopbackRequest } from '../../src/daemon/http/guard.js';
import { matchRoute, type Route } from '../../src/daemon/http/router.js';
import { DaemonLock } from '../../src/daemon/lock.js';
import { stampEvent } from '../../src/events.js';
import { Store, type StoredEvent } from '../../src/state/store.js';
import { expectCode, thrownBy } from '../support/expect-code.js';
import { waitFor } from '../support/wait-for.js';
import { closeServer, listenOnLoopback, listenOnSocket } from '../../src/daemon/listeners.js';

const scratch = mkdtempSync(join(tmpdir(), 'berth-daemon-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TOKEN = 'a'.repeat(43);
const request = (headers: Record<string, string>): IncomingMessage => ({ method: 'GET', headers }) as unknown as IncomingMessage;

describe('the loopback gate', () => {
  const ok = { host: '127.0.0.1:7777', authorization: `Bearer ${TOKEN}` };

  it('lets in loopback Host with our port, our own Origin, and the bearer token', () => {
    expect(refuseLoopbackRequest(request(ok), 7777, TOKEN)).toBeNull();
    expect(refuseLoopbackRequest(request({ ...ok, host: 'localhost:7777', origin: 'http://localhost:7777' }), 7777, TOKEN)).toBeNull();
    expect(refuseLoopbackRequest(request({ host: '[::1]:7777', authorization: `Bearer ${TOKEN}` }), 7777, TOKEN)).toBeNull();
  });

  it.each([
    ['a rebound name', { ...ok, host: 'evil.example:7777' }],
    ['another port', { ...ok, host: '127.0.0.1:7778' }],
    ['no port (80)', { ...ok, host: '127.0.0.1' }],
    ['a foreign Origin', { ...ok, origin: 'http://evil.example' }],
    ['a dev server on another loopback port', { ...ok, origin: 'http://127.0.0.1:41000' }],
    ['https on our port', { ...ok, origin: 'https://127.0.0.1:7777' }],
    ['a malformed Origin', { ...ok, origin: 'null' }],
  ])('refuses %s with 403, whatever the token', (_label, headers) => {
    expect(refuseLoopbackRequest(request(headers), 7777, TOKEN)?.status).toBe(403);
  });

  it('takes no ambient credential: the old dashboard cookie or a ?token= is no token (401)', () => {
    const post = (headers: Record<string, string>): IncomingMessage => ({ method: 'POST', headers }) as unknown as IncomingMessage;
    expect(refuseLoopbackRequest(request({ host: ok.host, cookie: `berth_token=${TOKEN}` }), 7777, TOKEN)?.status).toBe(401);
    expect(refuseLoopbackRequest(post({ host: ok.host, cookie: `berth_token=${TOKEN}`, origin: 'http://127.0.0.1:7777' }), 7777, TOKEN)?.status).toBe(401);
    expect(refuseLoopbackRequest({ method: 'GET', url: `/workspaces?token=${TOKEN}`, headers: { host: ok.host } } as unknown as IncomingMessage, 7777, TOKEN)?.status).toBe(401);
    expect(refuseLoopbackRequest(post({ host: ok.host, authorization: ok.authorization }), 7777, TOKEN)).toBeNull();
  });

  it('refuses a missing or wrong token with 401 and says where the token is', () => {
    const none = refuseLoopbackRequest(request({ host: ok.host }), 7777, TOKEN);
    expect(none?.status).toBe(401);
    expect(none?.error.hint).toContain('daemon.token');
    expect(refuseLoopbackRequest(request({ ...ok, authorization: `Bearer ${TOKEN}x` }), 7777, TOKEN)?.status).toBe(401);
    expect(refuseLoopbackRequest(request({ host: ok.host, authorization: 'Basic nope' }), 7777, TOKEN)?.status).toBe(401);
  });
});

describe('the route table', () => {
  const route = (method: 'GET' | 'POST', path: string): Route<null> => ({ method, path, operationId: path, summary: '', tag: '', produces: 'json', handle: () => null });
  const routes = [route('GET', '/workspaces/{id}'), route('POST', '/workspaces/{id}/dev-servers/{name}/stop')];

  it('matches templates, decodes parameters, and tells a wrong method from a missing path', () => {
    expect(matchRoute(routes, 'POST', '/workspaces/w-1/dev-servers/web/stop')).toMatchObject({ params: { id: 'w-1', name: 'web' } });
    expect(matchRoute(routes, 'GET', '/workspaces/a%2Fb')).toMatchObject({ params: { id: 'a/b' } });
    expect(matchRoute(routes, 'DELETE', '/workspaces/x')).toEqual({ allowed: ['GET'] });
    expect(matchRoute(routes, 'GET', '/workspaces/x/more')).toBeNull();
  });
});

describe('the event feed', () => {
  it('hands each subscriber the backlog after its cursor, then new events once each, in order', async () => {
    const store = Store.open(join(scratch, 'feed'));
    const feed = new EventFeed(store.events);
    for (let i = 1; i <= 3; i++) store.events.appendEvent(stampEvent({ type: 'test.before', message: String(i) }));
    const early: StoredEvent[] = [];
    const late: StoredEvent[] = [];
    const stopEarly = feed.subscribe(1, (e) => early.push(e));
    for (let i = 4; i <= 6; i++) store.events.appendEvent(stampEvent({ type: 'test.after', message: String(i) }));
    await waitFor(() => early.some((e) => e.seq === 6), { timeout: 5000, message: 'the early subscriber to get seq 2-6' });
    const stopLate = feed.subscribe(5, (e) => late.push(e));
    store.events.appendEvent(stampEvent({ type: 'test.after', message: '7' }));
    const has7 = (events: StoredEvent[]): boolean => events.some((e) => e.seq === 7);
    await waitFor(() => has7(early) && has7(late), { timeout: 5000, message: 'both subscribers to get seq 7' });
    stopEarly();
    stopLate();
    feed.close();
    expect(early.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(late.map((e) => e.seq)).toEqual([6, 7]);
    store.close();
  });
});

describe('the daemon lock', () => {
  it('is held by one holder at a time and free again once released', () => {
    const file = join(scratch, 'lock', 'daemon.lock');
    const first = DaemonLock.acquire(file, () => 'pid 1');
    const second = thrownBy(() => DaemonLock.acquire(file, () => 'pid 1'));
    expect(second.code).toBe('E_CONFLICT');
    expect(second.message).toContain('pid 1');
    first.release();
    const again = DaemonLock.acquire(file, () => 'pid 1');
    again.release();
  });
});

describe('the listeners', () => {
  it('makes the socket 0600 whatever the umask, and names a taken port as a conflict with a way out', async () => {
    const previous = process.umask(0o000);
    let socket;
    try {
      socket = await listenOnSocket(join(scratch, 'api.sock'), (_req, res) => res.end());
    } finally {
      process.umask(previous);
    }
    expect(statSync(join(scratch, 'api.sock')).mode & 0o777).toBe(0o600);
    const first = await listenOnLoopback('127.0.0.1', 0, (_req, res) => res.end());
    const error = await expectCode(listenOnLoopback('127.0.0.1', first.port, (_req, res) => res.end()), 'E_CONFLICT');
    expect(error.hint).toContain('--http 127.0.0.1:PORT');
    await closeServer(first.server);
    await closeServer(socket);
  });
});
