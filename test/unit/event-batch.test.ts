import { afterEach, describe, expect, it } from 'vitest';
import { EventBatch } from '../../src/egress/event-batch.js';
import type { RecordedEvent } from '../../src/events.js';
import { Store } from '../../src/state/store.js';

describe("the egress proxy's event batch", () => {
  let store: Store | undefined;
  afterEach(() => store?.close());

  it('writes a burst in one transaction at the end of the turn, in order, stamped when each happened', async () => {
    store = Store.open(':memory:');
    const writes: number[] = [];
    const log = { appendEvents: (events: readonly RecordedEvent[]) => (writes.push(events.length), store?.events.appendEvents(events)) };
    const batch = new EventBatch(log);
    for (let i = 0; i < 256; i++) batch.add({ type: 'egress.allow', workspace: 'w', message: `tunnel ${String(i)}` });
    expect(store.events.events()).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([256]);
    const stored = store.events.events();
    expect(stored.map((e) => e.message)).toEqual(Array.from({ length: 256 }, (_, i) => `tunnel ${String(i)}`));
    expect(stored.every((e) => typeof e.time === 'string' && e.time !== '')).toBe(true);
  });

  it('flush() writes what is pending at once (closing), and a log that fails loses the batch, not the process', () => {
    store = Store.open(':memory:');
    const batch = new EventBatch(store.events);
    batch.add({ type: 'egress.deny', workspace: 'w', message: 'denied' });
    batch.flush();
    expect(store.events.events().map((e) => e.message)).toEqual(['denied']);
    const failing = new EventBatch({ appendEvents: () => { throw new Error('database is locked'); } });
    failing.add({ type: 'egress.allow', message: 'lost' });
    expect(() => failing.flush()).not.toThrow();
  });
});
