import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTING_FRESH_MS, ListingCache } from '../../src/daemon/listing-cache.js';
import { Store } from '../../src/state/store.js';
import type { WorkspaceSummary } from '../../src/workspace/inventory.js';

/**
 * The daemon's `GET /workspaces` answers from its last observation while it is fresh (issue 17):
 * counted at the seam (`observe` is the engine list), on a clock the test moves. The real daemon on
 * real engines: test/e2e/daemon-listing-freshness.test.ts.
 */
function world() {
  let clock = 1_000_000;
  let stamp = 's1';
  let observations = 0;
  let holding = false;
  /** Observations held back (a slow engine), each waiting for release(). */
  const held: ((failWith?: Error) => void)[] = [];
  const cache = new ListingCache({
    observe: async () => {
      observations += 1;
      const answer = [{ id: `ws-${String(observations)}` } as WorkspaceSummary];
      if (holding) {
        const failure = await new Promise<Error | undefined>((resolve) => held.push(resolve));
        if (failure) throw failure;
      }
      return answer;
    },
    changeStamp: () => stamp,
    now: () => clock,
  });
  return {
    cache,
    observations: () => observations,
    tick: (ms: number) => (clock += ms),
    change: (next: string) => (stamp = next),
    /** Holds the next observations until release(). */
    hold: () => (holding = true),
    /** Lets every held observation finish (or fail). */
    release: (failWith?: Error) => {
      holding = false;
      for (const resolve of held.splice(0)) resolve(failWith);
    },
  };
}

describe('ListingCache', () => {
  it('many requests at once while nothing fresh is kept cost one observation, and all get it', async () => {
    const w = world();
    w.hold();
    const answers = Array.from({ length: 50 }, () => w.cache.list());
    await Promise.resolve();
    w.release();
    const listings = await Promise.all(answers);
    expect(w.observations()).toBe(1);
    expect(new Set(listings.map((l) => l.workspaces[0]?.id))).toEqual(new Set(['ws-1']));
    expect(listings.every((l) => l.source === 'live')).toBe(true);
  });

  it('answers from the last observation while it is younger than LISTING_FRESH_MS, and says how old it is', async () => {
    const w = world();
    const first = await w.cache.list();
    w.tick(LISTING_FRESH_MS - 1);
    const again = await w.cache.list();
    expect(w.observations()).toBe(1);
    expect(again).toMatchObject({ source: 'cached', observedAt: first.observedAt, ageMs: LISTING_FRESH_MS - 1 });
    w.tick(1);
    const later = await w.cache.list();
    expect(w.observations()).toBe(2);
    expect(later).toMatchObject({ source: 'live', ageMs: 0 });
  });

  it('a change to the state (any process) ends the reuse at once', async () => {
    const w = world();
    await w.cache.list();
    w.tick(10);
    w.change('s2');
    expect((await w.cache.list()).source).toBe('live');
    expect(w.observations()).toBe(2);
    expect((await w.cache.list()).source).toBe('cached');
  });

  it('a change committed while an observation runs makes its result stale, and later requests do not join it', async () => {
    const w = world();
    w.hold();
    const before = w.cache.list();
    await Promise.resolve();
    w.change('s2');
    w.tick(1);
    const after = w.cache.list(); // must not share the observation that began before the change
    await Promise.resolve();
    expect(w.observations()).toBe(2);
    w.release();
    await Promise.all([before, after]);
    // Whichever finished last, what is kept was begun under the stamp now current, or is not reused.
    const next = await w.cache.list();
    expect(next.workspaces[0]?.id).toBe('ws-2');
  });

  it('fresh: true observes even when a fresh answer is kept, and never shares an observation begun before it came', async () => {
    const w = world();
    await w.cache.list();
    expect((await w.cache.list({ fresh: true })).source).toBe('live');
    expect(w.observations()).toBe(2);
    w.hold();
    w.tick(LISTING_FRESH_MS);
    const running = w.cache.list();
    await Promise.resolve();
    w.tick(1);
    const forced = w.cache.list({ fresh: true });
    await Promise.resolve();
    expect(w.observations()).toBe(4);
    w.release();
    await Promise.all([running, forced]);
  });

  it('a failed observation fails every request that shared it and is not kept', async () => {
    const w = world();
    w.hold();
    const answers = [w.cache.list(), w.cache.list()];
    await Promise.resolve();
    w.release(new Error('engine down'));
    for (const answer of answers) await expect(answer).rejects.toThrow('engine down');
    expect((await w.cache.list()).source).toBe('live');
    expect(w.observations()).toBe(2);
  });
});

describe('Store.changeStamp', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-stamp-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('moves with a commit through this connection and with one from another connection (another process), and only then', () => {
    const daemon = Store.open(home);
    const cli = Store.open(home);
    try {
      const first = daemon.changeStamp();
      expect(daemon.changeStamp()).toBe(first);
      daemon.events.appendEvent({ time: new Date().toISOString(), type: 'workspace.started', level: 'info', message: 'own', workspace: 'a', data: {} });
      const own = daemon.changeStamp();
      expect(own).not.toBe(first);
      cli.ledger.recordIntent({ kind: 'container', runtime: 'docker', name: 'berth-other', workspace: 'other', specHash: 'h', spec: { root: '/x', image: 'i' } });
      const other = daemon.changeStamp();
      expect(other).not.toBe(own);
      expect(daemon.changeStamp()).toBe(other);
    } finally {
      cli.close();
      daemon.close();
    }
  });
});
