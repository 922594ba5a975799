import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import type { RecordedEvent } from '../../src/events.js';
import { EgressService } from '../../src/egress/service.js';
import type { EgressRecord } from '../../src/state/store.js';

/** The service outlives a store that fails: it says so once, keeps syncing, and picks up when the store answers again. */
describe('egress service sync', () => {
  it('survives failing syncs, reports each cause once, and recovers', async () => {
    const events: RecordedEvent[] = [];
    let failing = false;
    let reads = 0;
    const store = {
      egress: {
        egress: (): EgressRecord[] => {
          reads++;
          if (failing) throw new Error('database is locked');
          return [];
        },
      },
      events: { appendEvent: (event: RecordedEvent) => (events.push(event), events.length), appendEvents: (batch: readonly RecordedEvent[]) => void events.push(...batch) },
    };
    const service = new EgressService(store, { syncIntervalMs: 5 });
    await service.start();
    failing = true;
    const failedFrom = reads;
    await waitFor(() => {
      expect(reads).toBeGreaterThan(failedFrom + 3);
      return true;
    }, { timeout: 2000 });
    failing = false;
    const recoveredFrom = reads;
    await waitFor(() => {
      expect(reads).toBeGreaterThan(recoveredFrom + 2);
      return true;
    }, { timeout: 2000 });
    await service.close();
    expect(events.map((e) => [e.type, e.message])).toEqual([['egress.sync-failed', 'Egress rules could not be re-read (the last ones stay in force): database is locked']]);
  });
});
