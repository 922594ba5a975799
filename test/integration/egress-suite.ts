import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { EgressService } from '../../src/egress/service.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { run as runCommand } from '../../src/process/index.js';
import { engineEnv } from '../support/engines.js';
import type { Socket } from 'node:dgram';
import { waitFor } from '../support/wait-for.js';

/**
 * Egress enforced by the network, with real clients inside a real workspace. Network rule: the only
 * targets are containers this test creates (two web servers on the engine's default network).
 */
export interface EgressSuiteOptions {
  /**
   * The clients behind the proxy (git, npm, pip, node) and doctor's probe: false leaves them out.
   * Apple's older releases set this, as the 1.2.2 file runs them: once a release's workspace
   * reaches an allowed target through the proxy and gets the 403 of a denied one (kept on every
   * release), what those clients do is the same code on all of them (Berth's host-side proxy, the
   * exec environment, doctor's curl through `berth exec`); what differs by release (the create
   * flags, the guest firewall, direct paths, the host, DNS) stays tested on each.
   */
  proxyClients?: boolean;
}

export function egressSuite(label: string, connect: () => Promise<{ runtime: Runtime; image: string }>, options: EgressSuiteOptions = {}): void {
  const proxyClients = options.proxyClients ?? true;
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

    /** Runs in the workspace, as the agent would (by name: one CLI call, not an inspect and then the exec). */
    const inside = async (script: string) => runtime.exec(containerNameFor(ws), ['sh', '-c', script]);

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
        await waitFor(() => fetch(`http://${targets[which]}:8000/`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false), { timeout: 30_000, interval: 100, message: `the ${which} target to answer` });
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
      await waitFor(() => store.events.events({ workspace: ws, type: 'egress.allow' }).length >= 2, { timeout: 1000, message: 'two egress.allow events' });
    });

    if (proxyClients) {
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
          expect(store.events.events({ workspace: ws, type: 'egress.deny' }).some((e) => String(e.message).includes(`${targets.other}:8000`))).toBe(true);
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
    }

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
      const gateway = (store.egress.egress(ws)[0]?.proxyHost) ?? '';
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

    if (proxyClients) {
      it('doctor proves it from inside: allowed answers, denied is refused, a direct connection fails', async () => {
        const { probeEgress } = await import('../../src/doctor/egress-probe.js');
        const checks = await probeEgress(berth, ws);
        expect(checks.map((c) => [c.id, c.status])).toEqual([
          // docker and podman: the host shield's rules; Apple has none (its firewall is in the guest).
          ...(store.egress.egress(ws)[0]?.bridge ? [['egress.shield', 'ok']] : []),
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
    }

    it('applies a policy change on the next connection, without recreating the workspace', async () => {
      const before = await runtime.inspect(containerNameFor(ws));
      const result = await berth.up(ws, { root, image, egress: { allow: [`${targets.allowed}:8000`, `${targets.other}:8000`] } });
      expect(result.action).toBe('reused');
      await service.sync();
      expect((await inside(`curl -sS -m 10 -o /dev/null -w '%{http_code}' http://${targets.other}:8000/`)).stdout).toBe('200');
      expect((await runtime.inspect(containerNameFor(ws))).id).toBe(before.id);
      expect(store.events.events({ workspace: ws, type: 'egress.policy-changed' })).toHaveLength(1);
    });
  });

  /*
   * Issue 12, hole 3, from inside a real workspace: with `--allow 0.0.0.0/0 --allow ::/0` the
   * workspace asked the proxy for 127.0.0.1:PORT and reached the host's loopback listeners (the
   * daemon's API among them). Fails on main: "host loopback" and 200.
   * Network rule: the only targets are listeners this test opens on the host's loopback and gateway.
   */
  describe(`egress host-only addresses: ${label}`, () => {
    const run = randomUUID().slice(0, 8);
    const ws = `eh-${run}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-egress-host-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    let runtime: Runtime;
    let image: string;
    let berth: Berth;
    let service: EgressService;
    let store: Store;
    let hostLoopback: Server;
    let port = 0;
    const wide = ['0.0.0.0/0', '::/0'];

    const inside = async (script: string) => runtime.exec(containerNameFor(ws), ['sh', '-c', script]);
    /** Through the proxy explicitly: NO_PROXY lists 127.0.0.1, which in the workspace means itself. */
    const viaProxy = (url: string, tunnel = false) => inside(`curl -sS -m 10 --noproxy '' -x "$HTTP_PROXY" ${tunnel ? '-p ' : ''}-w '\\n%{http_code}' ${url}`);

    beforeAll(async () => {
      ({ runtime, image } = await connect());
      hostLoopback = createServer((_req, res) => res.end('host loopback'));
      await new Promise<void>((resolve) => hostLoopback.listen(0, '127.0.0.1', resolve));
      port = (hostLoopback.address() as { port: number }).port;
      store = Store.open(home);
      berth = new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store });
      service = new EgressService(store);
      await service.start();
      await berth.up(ws, { root, image, egress: { allow: wide } });
      await service.sync();
    });

    afterAll(async () => {
      await service?.close();
      await berth?.remove(ws).catch(() => undefined);
      await new Promise<void>((resolve) => hostLoopback?.close(() => resolve()));
      rmSync(scratch, { recursive: true, force: true });
    });

    it("0.0.0.0/0 and ::/0 do not reach the host's loopback, nor its gateway address, through the proxy", async () => {
      for (const url of [`http://127.0.0.1:${String(port)}/`, `http://[::ffff:127.0.0.1]:${String(port)}/`, `http://localhost:${String(port)}/`]) {
        for (const tunnel of [false, true]) {
          const result = await viaProxy(url, tunnel);
          expect(result.stdout, `${url}${tunnel ? ' (CONNECT)' : ''}`).not.toContain('host loopback');
          expect(result.stdout + result.stderr, url).toMatch(/403/);
        }
      }
      const gateway = store.egress.egress(ws)[0]?.proxyHost ?? '';
      const atGateway = await viaProxy(`http://${gateway}:${String(port)}/`);
      expect(atGateway.stdout).toContain(`${gateway} is an address of the host itself`);
      await waitFor(() => store.events.events({ workspace: ws, type: 'egress.deny' }).length >= 7, { timeout: 1000, message: 'seven egress.deny events' });
    });

    it('reaches that one listener once a rule names 127.0.0.1:PORT exactly', async () => {
      await berth.up(ws, { root, image, egress: { allow: [...wide, `127.0.0.1:${String(port)}`] } });
      await service.sync();
      expect((await viaProxy(`http://127.0.0.1:${String(port)}/`)).stdout).toBe('host loopback\n200');
      expect((await viaProxy(`http://127.0.0.1:${String(port)}/`, true)).stdout).toBe('host loopback\n200');
    });
  });

  /**
   * DNS is no channel out (issue 12, hole 9). A resolver the test runs on this host (on the loopback
   * address scripts/test-env.sh gives the test dockerd as its upstream, BERTH_TEST_DNS_PROBE) counts
   * what reaches it; the workspace asks every resolver it can find for a name only this test knows:
   * its resolv.conf's, docker's embedded 127.0.0.11, the gateway's port 53 (podman's aardvark-dns),
   * with the host shield up and again with it down (the reload of hole 5). Nothing may reach the
   * host resolver, and no resolver may come back with an upstream's answer (NOERROR/NXDOMAIN).
   */
  describe(`egress DNS: ${label}`, () => {
    const token = randomUUID().slice(0, 8);
    const ws = `dns-${token}`;
    const scratch = mkdtempSync(join(tmpdir(), 'berth-egress-dns-'));
    const home = join(scratch, 'home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    const probeAddress = engineEnv()['BERTH_TEST_DNS_PROBE'] ?? '127.0.53.1';
    const name = `leak-${token}.berth-dns-probe.test`;
    let berth: Berth;
    let responder: Socket;
    const reached: string[] = [];

    /** Asks each server for the name: one line per server, its rcode or "none". Python: no resolver library involved. */
    const ASK = [
      'import random, re, socket, struct, sys',
      'name = sys.argv[1]',
      'servers = re.findall(r"^nameserver\\s+(\\S+)", open("/etc/resolv.conf").read(), re.M) + sys.argv[2:]',
      'for server in dict.fromkeys(servers):',
      '    q = struct.pack(">HHHHHH", random.randint(0, 65535), 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0" + struct.pack(">HH", 1, 1)',
      '    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)',
      '    try:',
      '        s.sendto(q, (server, 53)); print(server, s.recv(512)[3] & 15)',
      '    except OSError: print(server, "none")',
    ].join('\n');

    const ask = async (): Promise<Map<string, string>> => {
      const gateway = berth.store.egress.egress(ws)[0]?.proxyHost ?? '';
      const result = await berth.exec(ws, ['python3', '-c', ASK, name, '127.0.0.11', gateway]);
      expect(result.exitCode, result.stderr).toBe(0);
      return new Map(result.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
    };
    /** A resolver answered from upstream: NOERROR (0) or NXDOMAIN (3) for a name no one but this test knows. */
    const leaked = (answers: Map<string, string>): string[] => [...answers].filter(([, rcode]) => rcode === '0' || rcode === '3').map(([server]) => server);

    beforeAll(async () => {
      const { runtime, image } = await connect();
      berth = new Berth(runtime, { kind: runtime.kind, source: 'flag', reports: [] }, { home, owner: randomUUID(), env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
      const { createSocket } = await import('node:dgram');
      responder = createSocket('udp4');
      responder.on('message', (message, from) => {
        if (message.includes(Buffer.from(token))) reached.push(`${from.address}:${String(from.port)}`);
        // NXDOMAIN back, as a real upstream would answer.
        const reply = Buffer.from(message);
        if (reply.length >= 4) reply.writeUInt16BE(0x8183, 2);
        responder.send(reply, from.port, from.address);
      });
      await new Promise<void>((resolve, reject) => {
        responder.once('error', reject);
        responder.bind(53, probeAddress, () => resolve());
      });
      await berth.up(ws, { root, image, egress: { allow: ['registry.example.test'] } });
    });

    afterAll(async () => {
      responder?.close();
      await berth?.remove(ws).catch(() => undefined);
      await berth?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('reaches no resolver on the host and gets no upstream answer, with the host shield up', async () => {
      const answers = await ask();
      expect(leaked(answers), JSON.stringify([...answers])).toEqual([]);
      expect(reached).toEqual([]);
    });

    it('...and on docker with the host shield down too: the container resolver itself has no way out', async () => {
      const bridge = berth.store.egress.egress(ws)[0]?.bridge;
      // Apple: no host shield, the guest firewall is the whole story (above). podman 4.3: aardvark-dns
      // serves the network's gateway and cannot be turned off without losing the gateway the proxy
      // needs (src/egress/network-confinement.ts), so there the shield IS the DNS containment, and
      // test/integration/host-shield-podman.test.ts proves it comes back.
      if (bridge == null || berth.runtime.kind !== 'docker') return;
      for (const family of ['ip', 'ip6'] as const) {
        // Only this workspace's bridge, by nftables handle: what a firewall reload does to it.
        const chain = (await runCommand(['nft', '-a', 'list', 'chain', family, 'filter', 'INPUT'], { okExitCodes: 'any' })).stdout;
        for (const handle of chain.split('\n').filter((l) => l.includes(`iifname "${bridge}" `)).map((l) => /# handle (\d+)$/.exec(l)?.[1])) {
          if (handle !== undefined) await runCommand(['nft', 'delete', 'rule', family, 'filter', 'INPUT', 'handle', handle]);
        }
      }
      try {
        const answers = await ask();
        expect(leaked(answers), JSON.stringify([...answers])).toEqual([]);
        expect(reached).toEqual([]);
      } finally {
        expect((await berth.restoreShield(ws))?.shielded).toBe(true);
      }
    });
  });
}
