import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Berth } from '../../src/berth.js';
import { EgressService } from '../../src/egress/service.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';

/**
 * Egress enforced by the network, with real clients inside a real workspace. Network rule: the only
 * targets are containers this test creates (two web servers on the engine's default network).
 */
export function egressSuite(label: string, connect: () => Promise<{ runtime: Runtime; image: string }>): void {
  describe(`egress: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const ws = `eg-${run}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-egress-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    let runtime: Runtime;
    let image: string;
    let berth: Berth;
    let service: EgressService;
    let store: Store;
    const targets: Record<'allowed' | 'other', string> = { allowed: '', other: '' };
    const targetName = (which: string): string => `berth-egress-target-${run}-${which}`;

    /** Runs in the workspace, as the agent would. */
    const inside = async (script: string) => runtime.exec((await runtime.inspect(containerNameFor(ws))).id, ['sh', '-c', script]);

    beforeAll(async () => {
      ({ runtime, image } = await connect());
      for (const which of ['allowed', 'other'] as const) {
        await runtime.create({ name: targetName(which), image, command: ['python3', '-m', 'http.server', '8000'], init: true, labels: { 'dev.berth.test-run': run } }, { start: true });
        targets[which] = (await runtime.inspect(targetName(which))).ip ?? '';
      }
      store = Store.open(home);
      berth = new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store });
      service = new EgressService(store);
      await service.start();
      await berth.up(ws, { root, image, egress: { allow: [`${targets.allowed}:8000`] } });
      await service.sync();
      // python's http.server answers as soon as the target container is up; wait for both.
      for (const which of ['allowed', 'other'] as const) {
        for (let i = 0; i < 50 && !(await fetch(`http://${targets[which]}:8000/`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      }
    });

    afterAll(async () => {
      await service?.close();
      await berth?.remove(ws).catch(() => undefined);
      for (const which of ['allowed', 'other']) await runtime?.remove(targetName(which), { force: true }).catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('gives every exec the proxy variables, with NO_PROXY for loopback and the subnet', async () => {
      const env = await inside('printf "%s|%s|%s" "$HTTP_PROXY" "$https_proxy" "$NO_PROXY"');
      const [http, https, noProxy] = env.stdout.split('|');
      expect(http).toMatch(new RegExp(`^http://${ws}:[\\w-]+@\\d+\\.\\d+\\.\\d+\\.\\d+:3128$`));
      expect(https).toBe(http);
      expect(noProxy).toMatch(/^localhost,127\.0\.0\.1,::1,\d+\.\d+\.\d+\.\d+\/\d+$/);
    });

    it('lets an allowed target through the proxy (curl, plain HTTP and CONNECT)', async () => {
      expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.allowed}:8000/`)).stdout).toBe('200');
      expect((await inside(`curl -sS -m 10 -p -o /dev/null -w '%{http_code}' http://${targets.allowed}:8000/`)).stdout).toBe('200');
      // Decisions are recorded when each exchange closes, which may come just after curl returns.
      await vi.waitFor(() => expect(store.events({ workspace: ws, type: 'egress.allow' }).length).toBeGreaterThanOrEqual(2));
    });

    it('lets git clone over HTTP through the proxy, and only from the allowed host', async () => {
      // A bare repository served over git's dumb HTTP protocol by the allowed target's http.server.
      const serve = 'set -e; rm -rf /srv/repo.git /tmp/w; git init -q --bare /srv/repo.git; git init -q /tmp/w; cd /tmp/w; echo hi > readme; git add readme;' +
        ' git -c user.name=t -c user.email=t@t commit -qm one; git push -q /srv/repo.git HEAD:refs/heads/main; git --git-dir=/srv/repo.git symbolic-ref HEAD refs/heads/main; git --git-dir=/srv/repo.git update-server-info';
      for (const which of ['allowed', 'other'] as const) expect((await runtime.exec(targetName(which), ['sh', '-c', serve])).exitCode).toBe(0);
      const clone = await inside(`rm -rf /tmp/clone && git clone -q http://${targets.allowed}:8000/srv/repo.git /tmp/clone && cat /tmp/clone/readme`);
      expect(clone).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
      const refused = await inside(`git clone -q http://${targets.other}:8000/srv/repo.git /tmp/clone2`);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/403/);
    });

    describe('package managers and node, the clients agents use', () => {
      beforeAll(async () => {
        // Each target serves an npm registry and a PyPI simple index (one package each) next to /srv.
        const script = join(import.meta.dirname, '../fixtures/registry-stand-in.py');
        for (const which of ['allowed', 'other'] as const) {
          await runtime.copyIn(targetName(which), script, '/srv-registry-stand-in.py');
          expect((await runtime.exec(targetName(which), ['python3', '/srv-registry-stand-in.py', `http://${targets[which]}:8000`])).stdout).toBe('ok\n');
        }
      });

      it('npm installs from an allowed registry through the proxy, and gets 403 from one outside the allowlist', async () => {
        const npm = (target: string) => `cd "$(mktemp -d)" && npm install --registry http://${target}:8000/srv/npm/ --no-audit --no-fund --no-update-notifier --fetch-retries 0 berth-egress-probe`;
        const installed = await inside(`${npm(targets.allowed)} >/dev/null 2>&1 && node -p "require('./node_modules/berth-egress-probe')"`);
        expect(installed).toMatchObject({ exitCode: 0, stdout: 'npm came through\n' });
        const refused = await inside(npm(targets.other));
        expect(refused.exitCode).not.toBe(0);
        expect(refused.stderr).toContain('403');
      });

      it('pip installs from an allowed index through the proxy, and cannot from one outside the allowlist', async () => {
        const pip = (target: string) =>
          `rm -rf /tmp/pip-${target} && pip install --quiet --no-cache-dir --disable-pip-version-check --retries 0 --target /tmp/pip-${target} --index-url http://${target}:8000/srv/simple/ --trusted-host ${target} berth-egress-probe`;
        const installed = await inside(`${pip(targets.allowed)} && PYTHONPATH=/tmp/pip-${targets.allowed} python3 -c 'import berth_egress_probe as m; print(m.VALUE)'`);
        expect(installed).toMatchObject({ exitCode: 0, stdout: 'pip came through\n' });
        const refused = await inside(pip(targets.other));
        expect(refused.exitCode).not.toBe(0);
        expect(refused.stderr + refused.stdout).toMatch(/403|Forbidden|No matching distribution/);
        expect(store.events({ workspace: ws, type: 'egress.deny' }).some((e) => String(e.message).includes(`${targets.other}:8000`))).toBe(true);
      });

      it("node's http through the proxy variables works; node's fetch, which ignores them before Node 24, cannot go around the proxy", async () => {
        // What every node HTTP client that honours the variables does: ask the proxy for the absolute URL.
        const viaProxy = `const u=new URL(process.env.HTTP_PROXY);require('http').get({host:u.hostname,port:u.port,path:'http://${targets.allowed}:8000/srv/npm/berth-egress-probe',` +
          `headers:{'proxy-authorization':'Basic '+Buffer.from(decodeURIComponent(u.username)+':'+decodeURIComponent(u.password)).toString('base64')}},r=>console.log(r.statusCode))`;
        expect((await inside(`node -e "${viaProxy}"`)).stdout).toBe('200\n');
        expect((await inside('printf %s "$NODE_USE_ENV_PROXY"')).stdout).toBe('1');
        // Node >= 24 (and 22.21) send fetch through the proxy when NODE_USE_ENV_PROXY=1, which Berth sets;
        // older ones dial directly, and the network must stop that.
        const [major = 0, minor = 0] = (await inside('node -p process.versions.node')).stdout.trim().split('.').map(Number);
        const honoursVariables = major >= 24 || (major === 22 && minor >= 21);
        const fetched = await inside(`node -e "fetch('http://${targets.allowed}:8000/',{signal:AbortSignal.timeout(3000)}).then(r=>console.log('reached',r.status),e=>console.log('failed'))"`);
        expect(fetched.stdout).toBe(honoursVariables ? 'reached 200\n' : 'failed\n');
      });
    });

    it('answers a denied target with 403 and the reason', async () => {
      const result = await inside(`curl -sS -m 10 -w '\\n%{http_code}' http://${targets.other}:8000/`);
      expect(result.stdout).toBe(`Berth egress policy of workspace ${ws}: ${targets.other}:8000 is not in the allowlist.\n\n403`);
      const tunnel = await inside(`curl -sS -m 10 -p http://${targets.other}:8000/`);
      expect(tunnel.exitCode).not.toBe(0);
      expect(tunnel.stderr).toContain('403');
    });

    it('has no way around the proxy: direct connections to another container or out fail', async () => {
      for (const address of [targets.allowed, targets.other]) {
        const direct = await inside(`curl -sS -m 3 --noproxy '*' http://${address}:8000/`);
        expect(direct.exitCode, `direct to ${address}`).not.toBe(0);
      }
    });

    it('cannot reach the host either: a host service on the gateway answers the host, not the workspace', async () => {
      const gateway = (store.egress(ws)[0]?.proxyHost) ?? '';
      const { createServer } = await import('node:http');
      const hostService = createServer((_req, res) => res.end('host secret'));
      await new Promise<void>((resolve) => hostService.listen(0, gateway, resolve));
      const port = (hostService.address() as { port: number }).port;
      try {
        expect(await fetch(`http://${gateway}:${String(port)}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text())).toBe('host secret');
        const direct = await inside(`curl -sS -m 3 --noproxy '*' http://${gateway}:${String(port)}/`);
        expect(direct.exitCode).not.toBe(0);
        expect(direct.stdout).not.toContain('host secret');
        // ...while the proxy on the same address still answers the workspace.
        expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.allowed}:8000/`)).stdout).toBe('200');
      } finally {
        await new Promise<void>((resolve) => hostService.close(() => resolve()));
      }
    });

    it('cannot ask another DNS server: a resolver in a test container answers the host, not the workspace', async () => {
      // A tiny UDP responder on port 53 of the "other" target stands in for a foreign resolver.
      const responder = `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 53))\nwhile True:\n  d, a = s.recvfrom(512); s.sendto(b'answer:' + d, a)`;
      await runtime.exec(targetName('other'), ['sh', '-c', 'nohup python3 -c "$1" >/dev/null 2>&1 &', 'sh', responder]);
      const ask = `import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)\ntry:\n  s.sendto(b'q', (sys.argv[1], 53)); print(s.recvfrom(512)[0].decode())\nexcept OSError as e: print('no answer:', e)`;
      const { createSocket } = await import('node:dgram');
      const fromHost = await new Promise<string>((resolve) => {
        const socket = createSocket('udp4');
        // The responder may still be starting: ask every 250 ms until it answers, for 3 s at most.
        const retry = setInterval(() => socket.send('q', 53, targets.other), 250);
        const finish = (answer: string): void => {
          clearInterval(retry);
          clearTimeout(giveUp);
          socket.close();
          resolve(answer);
        };
        const giveUp = setTimeout(() => finish('no answer'), 3000);
        socket.once('message', (message) => finish(message.toString()));
        socket.send('q', 53, targets.other);
      });
      expect(fromHost).toBe('answer:q');
      const fromWorkspace = await inside(`python3 -c "$(printf '%s' '${Buffer.from(ask).toString('base64')}' | base64 -d)" ${targets.other}`);
      expect(fromWorkspace.stdout).toMatch(/^no answer/);
    });

    it('doctor proves it from inside: allowed answers, denied is refused, a direct connection fails', async () => {
      const { probeEgress } = await import('../../src/doctor/egress-probe.js');
      const checks = await probeEgress(berth, ws);
      expect(checks.map((c) => [c.id, c.status])).toEqual([
        // docker and podman: the host shield's rules; Apple has none (its firewall is in the guest).
        ...(store.egress(ws)[0]?.bridge ? [['egress.shield', 'ok']] : []),
        ['egress.allowed', 'ok'],
        ['egress.denied', 'ok'],
        ['egress.enforced', 'ok'],
        // The host is unreachable from inside: a listener beside the proxy gets no connection.
        ['egress.host', 'ok'],
      ]);
      // With the proxy gone, the probe says so instead of passing.
      await service.close();
      expect((await probeEgress(berth, ws)).find((c) => c.id === 'egress.allowed')?.status).toBe('fail');
      service = new EgressService(store);
      await service.start();
    });

    it('applies a policy change on the next connection, without recreating the workspace', async () => {
      const before = await runtime.inspect(containerNameFor(ws));
      const result = await berth.up(ws, { root, image, egress: { allow: [`${targets.allowed}:8000`, `${targets.other}:8000`] } });
      expect(result.action).toBe('reused');
      await service.sync();
      expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`)).stdout).toBe('200');
      expect((await runtime.inspect(containerNameFor(ws))).id).toBe(before.id);
      expect(store.events({ workspace: ws, type: 'egress.policy-changed' })).toHaveLength(1);
    });
  });
}
