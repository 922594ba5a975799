import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { Reconciler, type CycleReport } from '../../src/orchestrator/reconcile.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { LABELS } from '../../src/workspace/labels.js';
import { countingRuntime, type EngineCall } from '../support/counting-runtime.js';
import type { BehindTheBack } from '../support/behind-the-back.js';
import { waitFor } from '../support/wait-for.js';

export interface ReconcileTarget {
  runtime: Runtime;
  image: string;
  /** The runtime's own CLI, for changes made behind Berth's back. */
  behind: BehindTheBack;
}

/**
 * The reconcile loop on a real engine: one list per cycle, drift of every kind found and fixed
 * within policy, backoff after failures, and a foreign container reported every cycle, never touched.
 */
export function reconcileSuite(label: string, connect: () => Promise<ReconcileTarget>): void {
  describe(`reconcile: ${label}`, () => {
    const token = randomUUID().slice(0, 8);
    const id = (name: string): string => `rc-${token}-${name}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-reconcile-'));
    const home = join(scratch, 'home');
    const manifest = join(scratch, 'berth.yaml');
    mkdirSync(join(scratch, 'root'), { recursive: true });
    let target: ReconcileTarget;
    let berth: Berth;
    let calls: EngineCall[];
    let clock = Date.parse('2026-11-23T12:00:00Z');
    let reconciler: Reconciler;

    const write = (env: string, extra = ''): void => {
      const ws = (name: string, more: string): string => `  ${id(name)}:\n    root: ./root\n    image: ${target.image}\n${more}`;
      writeFileSync(
        manifest,
        'version: 1\nworkspaces:\n' +
          ws('always', `    restart: always\n    env: { MODE: ${env} }\n`) +
          ws('never', '    restart: "no"\n') +
          ws('guarded', '    egress: { allow: [registry.example.test] }\n    devServers:\n      broken:\n        command: [sleep, "1000"]\n        cwd: /does/not/exist\n') +
          ws('taken', '') +
          extra,
      );
    };
    const cycle = async (): Promise<CycleReport> => {
      calls.length = 0;
      const report = await reconciler.runOnce();
      expect(report.error).toBeNull();
      return report;
    };
    const summary = (report: CycleReport): string[] => report.findings.map((f) => `${f.drift} ${f.action.workspace.replace(`rc-${token}-`, '')} ${f.outcome ?? f.verdict}`);

    beforeAll(async () => {
      target = await connect();
      const counted = countingRuntime(target.runtime);
      calls = counted.calls;
      berth = new Berth(counted.runtime, { kind: target.runtime.kind, source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
      reconciler = new Reconciler({ manifest, open: () => Promise.resolve(berth), now: () => clock, backoff: { baseMs: 1_000, capMs: 4_000 }, env: {} });
      // A foreign container under a declared workspace's name, as if someone else had made it.
      await target.behind.createForeign(`berth-${id('taken')}`, target.image, `${LABELS.managed}=true`);
      write('one');
    });

    afterAll(async () => {
      await reconciler.stop();
      // Through Berth first, so each egress network and its host shield go too.
      for (const name of ['always', 'never', 'guarded']) await berth.remove(id(name)).catch(() => undefined);
      for (const name of (await target.behind.names()).filter((n) => n.includes(token))) await target.behind.remove(name);
      for (const name of ['always', 'never', 'guarded']) await target.behind.removeNetwork(`berth-net-${id(name)}`);
      await berth.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('creates what is missing, backs off a fix that fails, and reports the foreign container without touching it', async () => {
      const first = await cycle();
      expect(summary(first)).toEqual(['missing always fixed', 'missing guarded fixed', 'dev-server guarded failed', 'missing never fixed', 'foreign taken block']);
      expect(first.findings.find((f) => f.verdict === 'block')?.why).toContain('Berth never touches it');
      const broken = berth.store.supervision.supervision(id('guarded'), 'broken');
      expect(broken).toMatchObject({ failures: 1, nextAttemptAt: new Date(clock + 1_000).toISOString() });

      // Converged apart from those two: the cycle costs one list and one image lookup, nothing per container.
      const second = await cycle();
      expect(summary(second)).toEqual(['dev-server guarded wait', 'foreign taken block']);
      expect(calls.map((c) => c.method).sort()).toEqual(['imageInspect', 'list']);

      clock += 1_000;
      expect(summary(await cycle())).toEqual(['dev-server guarded failed', 'foreign taken block']);
      expect(berth.store.supervision.supervision(id('guarded'), 'broken')).toMatchObject({ failures: 2, nextAttemptAt: new Date(clock + 2_000).toISOString() });
      expect(berth.eventLog({ type: 'reconcile.backoff' }).map((e) => e.data?.['delayMs'])).toEqual([1_000, 2_000]);
      // Reported in every cycle's findings, logged once.
      expect(berth.eventLog({ type: 'reconcile.blocked' })).toHaveLength(1);
      const foreign = await target.runtime.inspect(`berth-${id('taken')}`);
      expect(foreign.labels[LABELS.owner]).toBeUndefined();
    });

    it('restarts a stopped workspace as its policy says, and leaves one stopped on request', async () => {
      await target.behind.stop(`berth-${id('always')}`, `berth-${id('never')}`);
      const report = await cycle();
      expect(summary(report).filter((s) => !s.includes('taken') && !s.includes('guarded'))).toEqual(['stopped always fixed', 'stopped never hold']);
      expect((await target.runtime.inspect(`berth-${id('always')}`)).state).toBe('running');
      expect((await target.runtime.inspect(`berth-${id('never')}`)).state).toBe('stopped');
      expect(berth.eventLog({ type: 'reconcile.restarted', workspace: id('always') })).toHaveLength(1);

      // A crash loop: stopped again at once, the next restart waits out the backoff, which doubles.
      await target.behind.stop(`berth-${id('always')}`);
      expect(summary(await cycle()).filter((s) => s.includes('always'))).toEqual(['stopped always wait']);
      clock += 1_000;
      expect(summary(await cycle()).filter((s) => s.includes('always'))).toEqual(['stopped always fixed']);
      expect(berth.store.supervision.supervision(id('always'))).toMatchObject({ restarts: 2, failures: 2, nextAttemptAt: new Date(clock + 2_000).toISOString() });
      expect(berth.eventLog({ type: 'reconcile.restarted', workspace: id('always') }).map((e) => e.data?.['delayMs'])).toEqual([1_000, 2_000]);

      await berth.stop(id('always'));
      expect(summary(await cycle()).filter((s) => s.includes('always'))).toEqual(['stopped always hold']);
      await berth.up(id('always'));
    });

    it('recreates a container removed behind its back or whose spec changed, and puts egress rules back', async () => {
      clock += 3_000; // past the restart backoff of the test before
      await target.behind.remove(`berth-${id('never')}`);
      write('two');
      await berth.changeEgress(id('guarded'), { allow: 'elsewhere.example.test' });
      const report = await cycle();
      expect(report.findings.filter((f) => f.outcome === 'fixed').map((f) => f.summary.replaceAll(`rc-${token}-`, ''))).toEqual([
        'recreate always (env changed)',
        'set egress of guarded: allow registry.example.test',
        'create never',
      ]);
      expect((await berth.egress(id('guarded')))?.policy.allow).toEqual(['registry.example.test']);
      expect((await berth.exec(id('always'), ['sh', '-c', 'echo $MODE'])).stdout).toBe('two\n');
    });

    it('reports a workspace whose image is missing and reconciles the others', async () => {
      write('two', `  ${id('ghost')}:\n    root: ./root\n    image: berth-missing-${token}:none\n`);
      await target.behind.remove(`berth-${id('never')}`);
      const report = await cycle();
      expect(summary(report).filter((s) => !s.includes('guarded'))).toEqual(['missing never fixed', 'foreign taken block', 'missing ghost block']);
      expect(report.findings.at(-1)?.why).toBe(`The image "berth-missing-${token}:none" of workspace ${id('ghost')} is not in ${target.runtime.kind}. Build or pull it; Berth never pulls`);
      write('two');
    });

    it('runs on an interval until stopped', async () => {
      const reports: CycleReport[] = [];
      const looping = new Reconciler({ manifest, open: () => Promise.resolve(berth), intervalMs: 50, env: {}, onCycle: (r) => reports.push(r) });
      looping.start();
      await waitFor(() => reports.length >= 2, { timeout: 30_000, interval: 20, message: 'two cycles' });
      await looping.stop();
      const count = reports.length;
      // Deliberate: four intervals pass to prove no cycle runs after stop() (nothing to poll for).
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(count).toBeGreaterThanOrEqual(2);
      expect(reports.length).toBe(count);
    });
  });
}
