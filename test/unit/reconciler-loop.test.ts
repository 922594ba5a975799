import { describe, expect, it, vi } from 'vitest';
import { Reconciler, type CycleReport } from '../../src/orchestrator/reconcile.js';
import { waitFor } from '../support/wait-for.js';

/** The loop's own contract, without an engine: cycles never throw, never overlap, and stop stops them. */
describe('Reconciler loop', () => {
  const broken = (): Reconciler =>
    new Reconciler({ manifest: '/nonexistent/berth.yaml', open: () => Promise.reject(new Error('no engine here')), intervalMs: 10, env: {} });

  it('reports a cycle that cannot run instead of throwing, with the error and its hint', async () => {
    const report = await broken().runOnce();
    expect(report.findings).toEqual([]);
    expect(report.error).toMatchObject({ code: 'E_INVALID_INPUT', message: expect.stringContaining('Cannot read /nonexistent/berth.yaml') as unknown, hint: 'Pass the manifest with -f, or create berth.yaml here.' });
  });

  it('shares one cycle among concurrent runOnce() calls', async () => {
    const reconciler = broken();
    const [a, b] = [reconciler.runOnce(), reconciler.runOnce()];
    expect(a).toBe(b);
    await a;
    expect(reconciler.runOnce()).not.toBe(a);
  });

  it('cycles without a listener too', async () => {
    const open = vi.fn(() => Promise.reject(new Error('no engine here')));
    const reconciler = new Reconciler({ manifest: '/nonexistent/berth.yaml', open, intervalMs: 10, env: {} });
    reconciler.start();
    // Each cycle reads the (missing) manifest and asks for a Berth to report on: twice means it loops.
    await waitFor(() => open.mock.calls.length >= 2, { timeout: 2000, interval: 5, message: 'two cycles' });
    await reconciler.stop();
  });

  it('keeps cycling when a cycle listener throws, and stops for good on stop()', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const reports: CycleReport[] = [];
    const reconciler = new Reconciler({
      manifest: '/nonexistent/berth.yaml',
      open: () => Promise.reject(new Error('no engine here')),
      intervalMs: 10,
      env: {},
      onCycle: (report) => {
        reports.push(report);
        throw new Error('listener failed');
      },
    });
    reconciler.start();
    reconciler.start(); // a second start is a no-op, not a second loop
    await waitFor(() => reports.length >= 3, { timeout: 5000, interval: 5, message: 'three cycles' });
    await reconciler.stop();
    const count = reports.length;
    // Deliberate: five intervals pass to prove no cycle runs after stop() (nothing to poll for).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reports.length).toBe(count);
    expect(warn).toHaveBeenCalledWith('berth reconcile loop: listener failed');
  });
});
