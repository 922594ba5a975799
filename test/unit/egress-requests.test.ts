import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BerthEventInput } from '../../src/events.js';
import { decideEgressRequest, requestEgress } from '../../src/egress/requests.js';
import { MAX_PENDING_PER_WORKSPACE } from '../../src/state/egress-requests.js';
import { Store } from '../../src/state/store.js';
import { expectCode, thrownBy } from '../support/expect-code.js';

describe('egress requests (an agent asks, a person decides)', () => {
  let store: Store;
  const events: BerthEventInput[] = [];
  const record = (event: BerthEventInput): void => void events.push(event);

  beforeEach(() => {
    store = Store.open(':memory:');
    events.length = 0;
    store.egress.putEgress({ workspace: 'ws', runtime: 'podman', token: 't', policy: { allow: [], deny: [] }, network: 'n', bridge: null, proxyHost: '10.0.0.1', proxyPort: 3128 });
  });
  afterEach(() => store.close());

  it('records a pending request and an event; a decision once, never twice', async () => {
    const request = requestEgress(store, record, 'ws', ' registry.npmjs.org:443 ', 'npm install');
    expect(request).toMatchObject({ state: 'pending', target: 'registry.npmjs.org:443', reason: 'npm install', decidedAt: null });
    expect(request.id).toMatch(/^r-[0-9a-f]{8}$/);
    expect(store.egressRequests.list('ws')).toEqual([request]);
    expect(store.egressRequests.list('other')).toEqual([]);
    const decided = decideEgressRequest(store, record, 'ws', request.id, 'denied');
    expect(decided.state).toBe('denied');
    expect(thrownBy(() => decideEgressRequest(store, record, 'ws', request.id, 'approved')).code).toBe('E_CONFLICT');
    expect(events.map((e) => e.type)).toEqual(['egress.requested', 'egress.request-denied']);
    // Asking never changed the rules.
    expect(store.egress.egress('ws')[0]?.policy).toEqual({ allow: [], deny: [] });
    await expectCode(Promise.resolve().then(() => store.egressRequests.get('ws', 'r-00000000')), 'E_NOT_FOUND');
  });

  it('refuses a target that is not a rule, an empty reason, a workspace without egress, and a flood', () => {
    expect(thrownBy(() => requestEgress(store, record, 'ws', 'not a rule!', 'x')).code).toBe('E_INVALID_INPUT');
    expect(thrownBy(() => requestEgress(store, record, 'ws', 'example.com', '   ')).code).toBe('E_INVALID_INPUT');
    expect(thrownBy(() => requestEgress(store, record, 'none', 'example.com', 'x')).code).toBe('E_INVALID_INPUT');
    for (let i = 0; i < MAX_PENDING_PER_WORKSPACE; i++) requestEgress(store, record, 'ws', `h${String(i)}.example.com`, 'x');
    expect(thrownBy(() => requestEgress(store, record, 'ws', 'one-more.example.com', 'x')).code).toBe('E_CONFLICT');
  });

  it('goes with the workspace (berth rm)', () => {
    requestEgress(store, record, 'ws', 'example.com', 'x');
    store.forgetSecrets('ws');
    expect(store.egressRequests.list('ws')).toEqual([]);
  });

  it('asking holds while another connection writes (the proxy appending its events)', async () => {
    // A read-then-write in a deferred transaction fails at once with SQLITE_BUSY(_SNAPSHOT) when
    // another connection commits in between (busy timeout or not); a CI run lost an agent's request so.
    const home = mkdtempSync(join(tmpdir(), 'berth-requests-'));
    const shared = Store.open(home);
    shared.egress.putEgress({ workspace: 'ws', runtime: 'podman', token: 't', policy: { allow: [], deny: [] }, network: 'n', bridge: null, proxyHost: '10.0.0.1', proxyPort: 3128 });
    // The other writer runs on its own thread with its own connection, as the proxy's process does.
    const writer = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const db = new (require(workerData.sqlite))(workerData.file);
       db.pragma('busy_timeout = 5000');
       const insert = db.prepare("INSERT INTO events (time, type, level, message) VALUES ('t', 'egress.denied', 'info', 'm')");
       parentPort.postMessage('writing');
       let stop = false;
       parentPort.on('message', () => { stop = true; });
       const loop = () => { for (let i = 0; i < 200; i++) insert.run(); if (stop) { db.close(); parentPort.postMessage('done'); } else setImmediate(loop); };
       loop();`,
      { eval: true, workerData: { sqlite: createRequire(import.meta.url).resolve('better-sqlite3'), file: join(home, 'state.db') } },
    );
    try {
      await new Promise((resolve) => writer.once('message', resolve));
      const failures: string[] = [];
      for (let i = 0; i < 3000; i++) {
        try {
          shared.egressRequests.create(`w${String(i % 100)}`, 'example.com', 'x');
        } catch (error) {
          failures.push(String((error as { code?: string }).code ?? error));
        }
      }
      expect(failures).toEqual([]);
    } finally {
      const done = new Promise((resolve) => writer.once('message', resolve));
      writer.postMessage('stop');
      await done;
      await writer.terminate();
      shared.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
