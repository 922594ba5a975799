import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { Berth } from '../../src/berth.js';
import { probeEgress } from '../../src/doctor/egress-probe.js';
import { EgressService } from '../../src/egress/service.js';
import { Reconciler } from '../../src/orchestrator/reconcile.js';
import { run } from '../../src/process/index.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { countingRuntime, type EngineCall } from '../support/counting-runtime.js';

/**
 * The host shield comes back (issue 12, hole 5). The test plays the firewall reload: it deletes the
 * shield rules of its OWN workspace's bridge only (never a flush), then shows the hole is real (the
 * workspace reaches a host listener on its gateway), and that `up`, a reconcile cycle and
 * `doctor --egress` each find it: the first two put the rules back, doctor reports it from inside.
 */
export function hostShieldSuite(label: string, connect: () => Promise<{ runtime: Runtime; image: string }>): void {
  describe(`host shield: ${label}`, () => {
    const token = randomUUID().slice(0, 8);
    const ws = `sh-${token}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-shield-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'root');
    const manifest = join(scratch, 'berth.yaml');
    mkdirSync(root);
    let runtime: Runtime;
    let image: string;
    let berth: Berth;
    let bridge = '';
    let gateway = '';
    let hostListener: Server;
    let hostPort = 0;
    let accepted = 0;
    let calls: EngineCall[] = [];
    const sockets = new Set<Socket>();

    /** Our rules on our bridge, as `iptables -S` prints them. */
    const shieldRules = async (family: 'iptables' | 'ip6tables' = 'iptables'): Promise<string[]> =>
      (await run([family, '-w', '-S', 'INPUT'])).stdout.split('\n').filter((l) => l.includes(` -i ${bridge} `) && l.includes('berth-egress-shield'));

    /** What a firewall reload does to Berth's rules, for this test's bridge only. */
    const dropShield = async (options: { confirm?: boolean } = {}): Promise<void> => {
      for (const family of ['ip', 'ip6'] as const) {
        // By nftables handle (stable, unlike rule numbers while other tests add rules), and only the
        // rules on this test's own bridge: what a firewall reload does, without touching anyone else's.
        const chain = (await run(['nft', '-a', 'list', 'chain', family, 'filter', 'INPUT'], { okExitCodes: 'any' })).stdout;
        const handles = chain.split('\n').filter((l) => l.includes(`iifname "${bridge}" `)).map((l) => /# handle (\d+)$/.exec(l)?.[1]).filter((h) => h !== undefined);
        // A rule may already be gone (replaced by a restorer racing this); that is fine.
        for (const handle of handles) await run(['nft', 'delete', 'rule', family, 'filter', 'INPUT', 'handle', handle], { okExitCodes: 'any' });
      }
      if (options.confirm !== false) expect(await shieldRules()).toEqual([]);
    };

    /** From inside the workspace, around the proxy, to the host listener on the gateway. */
    const reachesHost = async (): Promise<boolean> => {
      const before = accepted;
      const attempt = await berth.exec(ws, ['curl', '-sS', '-m', '3', '--noproxy', '*', '-o', '/dev/null', '-w', '%{http_code}', `http://${gateway}:${String(hostPort)}/`]);
      return attempt.exitCode === 0 || accepted > before;
    };

    beforeAll(async () => {
      ({ runtime, image } = await connect());
      const counted = countingRuntime(runtime);
      calls = counted.calls;
      berth = new Berth(counted.runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
      await berth.up(ws, { root, image, egress: { allow: ['registry.example.test'] } });
      const record = berth.store.egress.egress(ws)[0];
      bridge = record?.bridge ?? '';
      gateway = record?.proxyHost ?? '';
      expect(bridge).not.toBe('');
      // A host service on all of the gateway's ports but the proxy's: what the shield keeps the workspace from.
      hostListener = createServer((socket) => {
        accepted++;
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhost secret');
      });
      await new Promise<void>((resolve) => hostListener.listen(0, gateway, resolve));
      hostPort = (hostListener.address() as { port: number }).port;
      writeFileSync(manifest, `version: 1\nworkspaces:\n  ${ws}:\n    root: ./root\n    image: ${image}\n    egress: { allow: [registry.example.test] }\n`);
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (hostListener ? hostListener.close(() => resolve()) : resolve()));
      await berth?.remove(ws).catch(() => undefined);
      await berth?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('is in place after create: the workspace cannot open a connection to the host', async () => {
      expect(await shieldRules()).toHaveLength(3);
      expect(await reachesHost()).toBe(false);
    });

    it('without it the hole is real: the workspace reaches the host listener (the control)', async () => {
      await dropShield();
      expect(await reachesHost()).toBe(true);
    });

    it('`up` of the running workspace puts it back (reuse, no engine call for the check)', async () => {
      // The previous test left it dropped.
      expect(await shieldRules()).toEqual([]);
      expect((await berth.up(ws)).action).toBe('reused');
      expect(await shieldRules()).toHaveLength(3);
      // With the shield in place, a hot ensure is still the one engine call it was.
      calls.length = 0;
      expect((await berth.up(ws)).action).toBe('reused');
      expect(calls.map((c) => c.method)).toEqual(['observe']);
      expect(await reachesHost()).toBe(false);
      expect(berth.store.events.events({ workspace: ws, type: 'egress.shield-restored' })).toHaveLength(1);
    });

    it('`up` of the stopped workspace puts it back before starting it', async () => {
      await berth.stop(ws);
      await dropShield();
      expect((await berth.up(ws)).action).toBe('started');
      expect(await shieldRules()).toHaveLength(3);
      expect(await reachesHost()).toBe(false);
    });

    it('a reconcile cycle puts it back and reports the drift as egress-shield', async () => {
      const reconciler = new Reconciler({ manifest, open: () => Promise.resolve(berth), env: {} });
      expect((await reconciler.runOnce()).findings).toEqual([]);
      await dropShield();
      const report = await reconciler.runOnce();
      expect(report.error).toBeNull();
      expect(report.findings.map((f) => [f.drift, f.action.kind, f.outcome])).toEqual([['egress-shield', 'restore-shield', 'fixed']]);
      expect(await shieldRules()).toHaveLength(3);
      expect(await reachesHost()).toBe(false);
      expect((await reconciler.runOnce()).findings).toEqual([]);
    });

    it('doctor --egress proves from inside that the host is unreachable, and reports a missing shield', async () => {
      const statusOf = (checks: { id: string; status: string }[], id: string) => checks.find((c) => c.id === id)?.status;
      const healthy = await probeEgress(berth, ws);
      expect(statusOf(healthy, 'egress.shield')).toBe('ok');
      expect(statusOf(healthy, 'egress.host')).toBe('ok');
      await dropShield();
      const broken = await probeEgress(berth, ws);
      expect(statusOf(broken, 'egress.shield')).toBe('fail');
      expect(statusOf(broken, 'egress.host')).toBe('fail');
      // --fix puts it back, and the proof from inside passes again.
      const fixed = await probeEgress(berth, ws, { fix: true });
      expect(statusOf(fixed, 'egress.shield')).toBe('ok');
      expect(statusOf(fixed, 'egress.host')).toBe('ok');
      expect(await shieldRules()).toHaveLength(3);
    });

    it('the process serving egress (daemon, egress serve) puts it back by itself, within a sync', async () => {
      const service = new EgressService(berth.store, { syncIntervalMs: 100 });
      await service.start();
      try {
        const restored = berth.store.events.events({ workspace: ws, type: 'egress.shield-restored' }).length;
        // Not confirmed gone: the service may put it back before a listing could see it. The event says it did.
        await dropShield({ confirm: false });
        await waitFor(async () => {
      expect(await shieldRules()).toHaveLength(3);
      return true;
    }, { timeout: 5_000, interval: 100 });
        expect(await reachesHost()).toBe(false);
        // Once or twice (IPv4 and IPv6 rules are dropped one family after the other).
        expect(berth.store.events.events({ workspace: ws, type: 'egress.shield-restored' }).length).toBeGreaterThan(restored);
      } finally {
        await service.close();
      }
    });

    it('racing restorers (several processes at once) leave one complete, ordered set', async () => {
      await dropShield();
      const others = [0, 1, 2].map(() => new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: berth.owner, env: {}, userHome: join(scratch, 'user'), store: Store.open(home) }));
      await Promise.all([berth, ...others].map((b) => b.restoreShield(ws)));
      for (const other of others) await other.close();
      const rules = await shieldRules();
      // Every set is complete and ordered (accepts above the drop); duplicates from a race are allowed.
      expect(rules.length % 3).toBe(0);
      expect(rules.length).toBeGreaterThanOrEqual(3);
      expect(rules.findIndex((l) => l.includes('-j DROP'))).toBe(2);
      expect(await reachesHost()).toBe(false);
    });

    it('goes with the workspace: rm leaves none of its rules', async () => {
      await berth.remove(ws);
      expect(await shieldRules()).toEqual([]);
      expect(await shieldRules('ip6tables')).toEqual([]);
    });
  });
}
