import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IdleWatch } from '../../src/daemon/idle.js';
import { FileLock, lockPaths, readHolder } from '../../src/state/file-lock.js';
import { expectCode } from '../support/expect-code.js';
import { waitFor } from '../support/wait-for.js';

describe('FileLock', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-lock-'));
  const file = lockPaths.workspace(home, 'web');
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('hands the lock to a waiter when the holder releases it, and names the holder meanwhile', async () => {
    const first = await FileLock.acquire(file, { role: 'up web' });
    expect(readHolder(file)).toMatchObject({ pid: process.pid, role: 'up web' });
    let waitedFor: unknown;
    let got = false;
    const second = FileLock.acquire(file, { role: 'rm web', onWait: (holder) => (waitedFor = holder) }).then((lock) => ((got = true), lock));
    await waitFor(() => waitedFor !== undefined, { timeout: 5000, interval: 5, message: 'the waiter to find the lock held' });
    expect(got).toBe(false);
    expect(waitedFor).toMatchObject({ role: 'up web' });
    first.release();
    (await second).release();
    expect(readHolder(file)).toMatchObject({ role: 'rm web' });
  });

  it('refuses at once with waitMs 0, as E_CONFLICT naming the holder', async () => {
    const held = await FileLock.acquire(file, { role: 'daemon', detail: 'reconciling berth.yaml' });
    try {
      const error = await expectCode(FileLock.acquire(file, { role: 'apply', waitMs: 0 }), 'E_CONFLICT');
      expect(error.message).toContain(`daemon, pid ${String(process.pid)}, reconciling berth.yaml`);
    } finally {
      held.release();
    }
    (await FileLock.acquire(file, { role: 'apply', waitMs: 0 })).release();
  });
});

describe('IdleWatch', () => {
  it('is idle only after the whole period with nothing to serve and no request', async () => {
    let now = 0;
    let busy = true;
    const watch = new IdleWatch({ idleMs: 1000, busy: () => busy, now: () => now });
    let idle = false;
    void watch.idle.then(() => (idle = true));
    watch.check();
    now = 5000;
    watch.check();
    busy = false;
    watch.check(); // idle from 5000
    now = 5900;
    watch.touch(); // a request: from 5900 again
    now = 6800;
    watch.check();
    await Promise.resolve();
    expect(idle).toBe(false);
    now = 6900;
    watch.check();
    await Promise.resolve();
    expect(idle).toBe(true);
  });
});
