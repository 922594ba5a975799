import { describe, expect, it } from 'vitest';
import { defaultFanOut, settleBounded } from '../../src/process/bounded.js';
import { LivenessLoop } from '../../src/daemon/liveness.js';
import type { DevServer } from '../../src/devserver/types.js';

/** A gate the test opens: calls wait on it, so how many run at once is observed, not timed. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('settleBounded', () => {
  it('runs at most `limit` at once, every item once, results in order, failures settled', async () => {
    let running = 0;
    let peak = 0;
    const release = gate();
    const started: number[] = [];
    const work = settleBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      started.push(n);
      await release.opened;
      running -= 1;
      if (n === 4) throw new Error('four');
      return n * 10;
    });
    await expect.poll(() => started.length).toBe(3);
    release.open();
    const results = await work;
    expect(peak).toBe(3);
    expect(started.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 30, 'four', 50, 60, 70]);
  });

  it('handles no items', async () => {
    expect(await settleBounded([], 4, () => Promise.resolve(1))).toEqual([]);
  });
});

describe('a liveness pass checks workspaces side by side', () => {
  it('starts every workspace check before the first one ends (bounded), and reports each failure', async () => {
    const servers = ['a', 'b', 'c', 'd'].map(
      (workspace): DevServer => ({
        workspace, name: 'web', command: ['x'], cwd: '/workspace', env: {}, port: null, pgid: 7, state: 'running', url: null,
        detectedPort: null, bridgePgid: null, bridgeSlot: null, exitCode: null, startedAt: null, restarts: 0,
      }),
    );
    const release = gate();
    const inFlight = new Set<string>();
    const events: string[] = [];
    const loop = new LivenessLoop({
      dev: {
        refresh: () => Promise.resolve([]),
        confirm: async (workspace: string) => {
          inFlight.add(workspace);
          await release.opened;
          if (workspace === 'c') throw new Error('engine hiccup');
          return [];
        },
        markGone: () => undefined,
      },
      registry: { devServers: () => servers },
      emit: (event) => events.push(`${event.workspace ?? ''}: ${event.message}`),
      intervalMs: 1000,
    });
    const pass = loop.pass();
    await expect.poll(() => inFlight.size).toBe(Math.min(4, defaultFanOut()));
    release.open();
    await pass;
    expect(events).toEqual(['c: Cannot check the dev servers of c: engine hiccup']);
  });
});
