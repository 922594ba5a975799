import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/cli/apply-progress.js';
import { lanesOf } from '../../src/orchestrator/apply.js';
import { defaultConcurrency, IN_FLIGHT_BYTES, parseConcurrency } from '../../src/orchestrator/concurrency.js';
import type { Action } from '../../src/orchestrator/plan.js';

describe('parallel apply pieces', () => {
  it('lanes: one per workspace, its actions in plan order, lanes in order of first appearance', () => {
    const actions: Action[] = [
      { kind: 'create', workspace: 'a' },
      { kind: 'dev-start', workspace: 'a', name: 'web' },
      { kind: 'start', workspace: 'b' },
      { kind: 'remove', workspace: 'c' },
      // A health restart the reconciler appends after everything else.
      { kind: 'restart', workspace: 'b', reason: 'probe failed' },
    ];
    expect(lanesOf(actions)).toEqual([[0, 1], [2, 4], [3]]);
  });

  it('default concurrency: from the cores, capped by the memory budget and free memory, at least 1', () => {
    const gib = 1024 ** 3;
    expect(defaultConcurrency({ budgetBytes: 16 * gib, freeBytes: 16 * gib, fanOut: 4 })).toBe(4);
    expect(defaultConcurrency({ budgetBytes: 2 * IN_FLIGHT_BYTES, freeBytes: 16 * gib, fanOut: 8 })).toBe(2);
    expect(defaultConcurrency({ budgetBytes: 16 * gib, freeBytes: 3 * IN_FLIGHT_BYTES, fanOut: 8 })).toBe(3);
    expect(defaultConcurrency({ budgetBytes: 0, freeBytes: 0, fanOut: 8 })).toBe(1);
  });

  it('--concurrency takes a whole number from 1 to 64, else E_INVALID_INPUT naming the flag', () => {
    expect(parseConcurrency('1', '--concurrency')).toBe(1);
    expect(parseConcurrency(' 12 ', '--concurrency')).toBe(12);
    for (const bad of ['0', '65', '2.5', '-1', 'four', '', '1e1']) {
      expect(() => parseConcurrency(bad, '--concurrency'), bad).toThrow(/--concurrency must be a whole number from 1 to 64/);
    }
  });

  it('progress line: n of m, how many run, the slowest with its time', () => {
    expect(formatProgress({ done: 3, total: 12, running: [{ label: 'create web', startedAt: 1_000 }, { label: 'create api', startedAt: 5_000 }] }, 13_400)).toBe('[3/12] 2 running; slowest: create web (12.4 s)');
    expect(formatProgress({ done: 12, total: 12, running: [] }, 0)).toBe('[12/12] 0 running');
  });
});
