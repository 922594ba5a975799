import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { Reconciler, type CycleReport } from '../../src/orchestrator/reconcile.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { waitFor } from '../support/wait-for.js';

export interface HealthTarget {
  runtime: Runtime;
  image: string;
}

/**
 * Health probes and the restart policy on a real engine, driven by the reconciler with a clock the
 * test moves: an exec probe on a workspace, an HTTP probe on a real dev server (python's
 * http.server), a TCP probe on another; transitions are events, unhealthy targets restart as their
 * policy says, and what the store remembers carries over to a new Berth on the same state folder.
 */
export function healthSuite(label: string, connect: () => Promise<HealthTarget>): void {
  describe(`health and restart policy: ${label}`, () => {
    const token = randomUUID().slice(0, 8);
    const probed = `hp-${token}-exec`;
    const listener = `hp-${token}-tcp`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-health-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'root');
    const manifest = join(scratch, 'berth.yaml');
    mkdirSync(root);
    const owner = randomUUID();
    let target: HealthTarget;
    let berth: Berth;
    let clock = Date.parse('2026-11-23T12:00:00Z');
    const open = (): Berth => new Berth(target.runtime, { kind: target.runtime.kind, source: 'flag', reports: [] }, { home, owner, env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
    const reconcilerOn = (b: Berth): Reconciler => new Reconciler({ manifest, open: () => Promise.resolve(b), now: () => clock, env: {} });
    let reconciler: Reconciler;
    const cycle = async (r: Reconciler = reconciler): Promise<CycleReport> => {
      clock += 1_000;
      const report = await r.runOnce();
      expect(report.error).toBeNull();
      return report;
    };
    const unhealthy = (report: CycleReport): string[] =>
      report.findings.filter((f) => f.drift === 'unhealthy').map((f) => `${f.summary.replaceAll(`hp-${token}-`, '')} ${f.outcome ?? f.verdict}`);

    /** Lines of a dev server that fails at once, added to the manifest by the last test. */
    let crasher: string[] = [];
    const writeManifest = (): void =>
      writeFileSync(
        manifest,
        [
          'version: 1',
          'workspaces:',
          `  ${probed}:`,
          `    root: ${root}`,
          `    image: ${target.image}`,
          '    restart: on-failure',
          '    health: { exec: [test, -f, /workspace/ok], interval: 1s, retries: 2 }',
          '    devServers:',
          '      web:',
          '        command: [python3, -m, http.server, "8080"]',
          '        restart: always',
          '        health: { http: /ok, interval: 1s, retries: 1 }',
          ...crasher,
          `  ${listener}:`,
          `    root: ${root}`,
          `    image: ${target.image}`,
          '    restart: "no"',
          '    health: { tcp: 8081, interval: 1s, retries: 1 }',
          '    devServers:',
          '      srv:',
          '        command: [python3, -m, http.server, "8081"]',
          '',
        ].join('\n'),
      );

    beforeAll(async () => {
      target = await connect();
      writeFileSync(join(root, 'ok'), 'fine\n');
      writeManifest();
      berth = open();
      reconciler = reconcilerOn(berth);
    });

    afterAll(async () => {
      for (const id of [probed, listener]) await target.runtime.remove(containerNameFor(id), { force: true }).catch(() => undefined);
      await berth.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('reports every probe kind healthy once the targets answer', async () => {
      await cycle();
      await berth.dev.waitUntilReady(probed, 'web');
      await berth.dev.waitUntilReady(listener, 'srv');
      const report = await cycle();
      expect(report.findings).toEqual([]);
      expect(berth.eventLog({ type: 'health.healthy' }).map((e) => `${e.workspace ?? ''}/${typeof e.data?.['server'] === 'string' ? e.data['server'] : ''} ${String(e.data?.['probe'])}`).sort()).toEqual(
        [`${listener}/ tcp`, `${probed}/ exec`, `${probed}/web http`].sort(),
      );
    });

    it('restarts an unhealthy dev server (restart: always) and, after its retries, an unhealthy workspace (on-failure)', async () => {
      rmSync(join(root, 'ok'));
      // The HTTP probe allows one failure (404), the exec probe two.
      expect(unhealthy(await cycle())).toEqual(['restart dev server exec/web (unhealthy) fixed']);
      expect(berth.store.supervision.supervision(probed, 'web')).toMatchObject({ restarts: 1, health: 'unknown', probeFailures: 0 });
      expect(berth.store.supervision.supervision(probed)).toMatchObject({ health: 'healthy', probeFailures: 1 });

      const before = await target.runtime.inspect(containerNameFor(probed));
      expect(unhealthy(await cycle())).toEqual(['restart workspace exec (unhealthy) fixed']);
      const after = await target.runtime.inspect(containerNameFor(probed));
      expect(after.id).toBe(before.id);
      expect(after.startedAt).not.toBe(before.startedAt);
      expect(berth.store.supervision.supervision(probed)).toMatchObject({ restarts: 1, health: 'unknown' });
      expect(berth.eventLog({ type: 'health.unhealthy', workspace: probed }).map((e) => e.data?.['detail'])).toEqual(['HTTP 404', 'exit 1']);
      expect(berth.eventLog({ type: 'reconcile.restarted', workspace: probed })).toHaveLength(2);

      // The restart took the dev server with it: the next cycle starts it again.
      writeFileSync(join(root, 'ok'), 'fine again\n');
      expect((await cycle()).findings.filter((f) => f.outcome === 'fixed').map((f) => f.summary)).toEqual([`start dev server ${probed}/web`]);
    });

    it('leaves an unhealthy target whose policy is "no", and remembers its health across a new Berth', async () => {
      await berth.dev.stop(listener, 'srv');
      const report = await cycle();
      expect(unhealthy(report)).toEqual(['restart workspace tcp (unhealthy) hold']);
      expect(report.findings.find((f) => f.drift === 'unhealthy')?.why).toBe('unhealthy; restart: no leaves it as it is');
      expect(berth.eventLog({ type: 'health.unhealthy', workspace: listener }).map((e) => e.data?.['detail'])).toEqual(['connection refused']);

      // A new Berth on the same state: the health is remembered, so nothing is announced twice.
      const again = open();
      try {
        expect(again.store.supervision.supervision(listener)).toMatchObject({ health: 'unhealthy', probeFailures: 1 });
        expect(unhealthy(await cycle(reconcilerOn(again)))).toEqual(['restart workspace tcp (unhealthy) hold']);
        expect(again.eventLog({ type: 'health.unhealthy', workspace: listener })).toHaveLength(1);
      } finally {
        await again.close();
      }
    });

    it('restarts a dev server that keeps crashing (restart: on-failure), ever more slowly', async () => {
      crasher = ['      crasher:', '        command: [sh, -c, "exit 3"]', '        restart: on-failure'];
      writeManifest();
      const fixed = (report: CycleReport): string[] => report.findings.filter((f) => f.action.kind === 'dev-start' && f.action.name === 'crasher').map((f) => `${f.outcome ?? f.verdict}: ${f.why}`);
      expect(fixed(await cycle())).toEqual(['fixed: declared, never started']);
      // It ends at once with status 3: crashed, restarted by policy; crashing again, it waits out the backoff.
      // Ended = its wrapper wrote the exit file (each launch removes the last one first).
      const ended = async (): Promise<boolean> => (await target.runtime.exec(containerNameFor(probed), ['test', '-f', '/tmp/berth-dev/crasher.exit'])).exitCode === 0;
      await waitFor(ended, { timeout: 10_000, interval: 100, message: 'the crasher to end' });
      expect(fixed(await cycle())).toEqual(['fixed: crashed; restart: on-failure']);
      await waitFor(ended, { timeout: 10_000, interval: 100, message: 'the restarted crasher to end' });
      expect(fixed(await cycle())).toEqual([expect.stringMatching(/^wait: backing off after failures until /) as unknown]);
      expect(berth.store.devServers.devServers(probed).find((s) => s.name === 'crasher')).toMatchObject({ state: 'crashed', exitCode: 3 });
      expect(fixed(await cycle())).toEqual(['fixed: crashed; restart: on-failure']);
      expect(berth.store.supervision.supervision(probed, 'crasher')).toMatchObject({ restarts: 2, failures: 2 });
      expect(berth.eventLog({ type: 'reconcile.restarted', workspace: probed }).filter((e) => e.data?.['server'] === 'crasher').map((e) => e.data?.['delayMs'])).toEqual([2_000, 4_000]);
    });
  });
}
