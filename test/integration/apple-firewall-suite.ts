import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { EgressService } from '../../src/egress/service.js';
import { FIREWALL_MARKER } from '../../src/egress/guest-firewall.js';
import { run } from '../../src/process/index.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { installationId } from '../../src/workspace/installation.js';
import { berthCli } from '../e2e/cli-suite.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The guest firewall of egress on Apple container, on the double in one release: the main process
 * sets it (with CAP_NET_ADMIN: all capabilities up to 0.11, `--cap-add` from 0.12, where processes
 * start from the OCI default set), and root in the workspace cannot undo it through any path Berth
 * starts processes: exec, the interactive exec behind `berth shell`, `berth shell` itself, dev
 * servers and the CLI's address-card exec.
 */
export function guestFirewallSuite(version: string): void {
  describe(`egress on Apple container ${version}: the guest firewall (double)`, () => {
    const doubleEnv = appleDoubleEnv(version);
    const runtime = new AppleRuntime({ env: doubleEnv, startSystem: true });
    const run8 = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-apple-fw-'));
    const root = join(scratch, 'project');
    mkdirSync(root);
    const home = join(scratch, 'home');
    const store = Store.open(home);
    const berth = new Berth(runtime, { kind: 'apple', source: 'flag', reports: [] }, { home, owner: installationId(home), env: {}, userHome: join(scratch, 'user'), store });
    const service = new EgressService(store);
    const target = `fw-target-${run8}`;
    const bare = `fw-bare-${run8}`;
    const bareNet = `fw-net-${run8}`;
    const ws = `fw-${run8}`;
    const noIptables = `localhost/berth-no-iptables:${run8}`;
    let targetIp = '';

    beforeAll(async () => {
      await runtime.create({ name: target, image: TEST_IMAGE, command: ['python3', '-m', 'http.server', '8000'], init: true, labels: {} }, { start: true });
      targetIp = (await runtime.inspect(target)).ip ?? '';
      await service.start();
    });

    afterAll(async () => {
      await service.close();
      await berth.remove(ws).catch(() => undefined);
      await berth.remove(`${ws}-noipt`).catch(() => undefined);
      for (const name of [target, bare]) await runtime.remove(name, { force: true }).catch(() => undefined);
      await runtime.networkRemove(bareNet).catch(() => undefined);
      await run(['podman', 'rmi', '--force', noIptables], { env: engineEnv(), okExitCodes: 'any' });
      store.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    const reach = (via: (argv: string[]) => Promise<{ exitCode: number; stdout: string }>) =>
      via(['curl', '-sS', '-m', '3', '--noproxy', '*', '-o', '/dev/null', '-w', '%{http_code}', `http://${targetIp}:8000/`]);

    it('without the firewall, a container on a hostOnly network reaches a raw IP (apple/container#2062, the reason it exists)', async () => {
      const network = await runtime.networkEnsure({ name: bareNet, internal: true, labels: {} });
      expect(network.internal).toBe(true);
      await runtime.create({ name: bare, image: TEST_IMAGE, command: ['tail', '-f', '/dev/null'], init: true, labels: {}, network: bareNet }, { start: true });
      expect((await reach((argv) => runtime.exec(bare, argv))).stdout).toBe('200');
    });

    it('a workspace with egress rules gets the firewall: set before it runs, direct connections fail, the proxy answers', async () => {
      await berth.up(ws, { root, image: TEST_IMAGE, egress: { allow: [`${targetIp}:8000`] } });
      await service.sync();
      const name = containerNameFor(ws);
      expect((await runtime.exec(name, ['cat', FIREWALL_MARKER])).stdout).toMatch(/^proxy \d+\.\d+\.\d+\.\d+:3128\n$/);
      expect((await reach((argv) => berth.exec(ws, argv))).exitCode).not.toBe(0);
      const viaProxy = await berth.exec(ws, ['curl', '-sS', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://${targetIp}:8000/`]);
      expect(viaProxy.stdout).toBe('200');
    });

    /** The rules as the main process set them, read past the fence (the container's own exec). */
    const rulesIntact = async (): Promise<void> => {
      const name = containerNameFor(ws);
      const v4 = await runtime.exec(name, ['iptables', '-w', '-S', 'OUTPUT']);
      expect(v4.stdout).toContain('-P OUTPUT DROP');
      expect(v4.stdout).toMatch(/-A OUTPUT -d \S+ -p tcp -m tcp --dport 3128 -j ACCEPT/);
      expect((await runtime.exec(name, ['ip6tables', '-w', '-S', 'OUTPUT'])).stdout).toContain('-P OUTPUT DROP');
    };
    /** What root would try: open the policy, flush the chain, take the capability back. */
    const ATTACK = 'iptables -w -P OUTPUT ACCEPT; a=$?; iptables -w -F OUTPUT; b=$?; ip6tables -w -P OUTPUT ACCEPT; c=$?; setpriv --bounding-set +net_admin -- iptables -w -F OUTPUT; d=$?; echo "rc=$a,$b,$c,$d"';
    const refusedEverywhere = /rc=[1-9]\d*,[1-9]\d*,[1-9]\d*,[1-9]\d*/;

    it('commands Berth runs there cannot take the firewall down, even as root: exec', async () => {
      const flush = await berth.exec(ws, ['iptables', '-w', '-F', 'OUTPUT']);
      expect(flush.exitCode).not.toBe(0);
      expect(flush.stderr).toMatch(/Permission denied|not permitted/i);
      expect((await berth.exec(ws, ['id', '-u'])).stdout.trim()).toBe('0');
      expect((await berth.exec(ws, ['sh', '-c', ATTACK])).stdout).toMatch(refusedEverywhere);
      expect((await berth.exec(ws, ['sh', '-c', 'grep CapBnd /proc/self/status'])).stdout).not.toBe((await runtime.exec(containerNameFor(ws), ['sh', '-c', 'grep CapBnd /proc/self/status'])).stdout);
      expect((await reach((argv) => berth.exec(ws, argv))).exitCode).not.toBe(0);
      await rulesIntact();
    });

    it('... the interactive exec (berth shell, berth exec without an address card)', async () => {
      const marker = `/tmp/attack-${run8}`;
      expect(await berth.execInteractive(ws, ['sh', '-c', `(${ATTACK}) > ${marker} 2>&1`], { tty: false })).toBe(0);
      expect((await runtime.exec(containerNameFor(ws), ['cat', marker])).stdout).toMatch(refusedEverywhere);
      await rulesIntact();
    });

    it('... `berth shell`, typed into the login shell', async () => {
      const cli = berthCli({ ...doubleEnv, BERTH_HOME: home, BERTH_RUNTIME: 'apple' });
      const shell = await cli(['shell', ws], { input: `${ATTACK}\nexit 0\n` });
      expect(shell.stdout + shell.stderr).toMatch(refusedEverywhere);
      await rulesIntact();
    });

    it('... a dev server', async () => {
      const marker = `/tmp/dev-attack-${run8}`;
      await berth.dev.start(ws, 'attack', { command: ['sh', '-c', `(${ATTACK}) > ${marker} 2>&1; exec sleep 600`] });
      const said = await waitFor(
        async () => {
          const out = (await runtime.exec(containerNameFor(ws), ['cat', marker])).stdout;
          if (!refusedEverywhere.test(out)) throw new Error(`the attack said: ${out}`);
          return out;
        },
        { timeout: 20_000, interval: 200, message: 'the attack to be refused everywhere' },
      );
      expect(said).toMatch(refusedEverywhere);
      await berth.dev.stop(ws, 'attack');
      await rulesIntact();
    });

    it('... a spawned process (berth.spawn: its supervisor and the command)', async () => {
      const handle = await berth.spawn(ws, ['sh', '-c', ATTACK]);
      const out: Buffer[] = [];
      handle.onStdout((chunk) => out.push(chunk));
      expect(await handle.wait()).toEqual({ exitCode: 0, signal: null });
      expect(Buffer.concat(out).toString()).toMatch(refusedEverywhere);
      await rulesIntact();
    });

    it('... the CLI, which goes by the workspace address card without the library', async () => {
      const cli = await berthCli({ ...doubleEnv, BERTH_HOME: home, BERTH_RUNTIME: 'apple' })(['exec', ws, '--', 'sh', '-c', ATTACK]);
      expect(cli.stdout).toMatch(refusedEverywhere);
      const flush = await berthCli({ ...doubleEnv, BERTH_HOME: home, BERTH_RUNTIME: 'apple' })(['exec', ws, '--', 'iptables', '-w', '-F', 'OUTPUT']);
      expect(flush.exitCode).not.toBe(0);
      expect(flush.stderr).toMatch(/Permission denied|not permitted/i);
      await rulesIntact();
    });

    it('comes back after a stop and start, before Berth hands the workspace over', async () => {
      await berth.stop(ws);
      expect((await berth.up(ws)).action).toBe('started');
      expect((await reach((argv) => berth.exec(ws, argv))).exitCode).not.toBe(0);
      expect((await runtime.exec(containerNameFor(ws), ['cat', FIREWALL_MARKER])).exitCode).toBe(0);
    });

    it('fails closed with a clear message when the image has no iptables', async () => {
      const context = join(scratch, 'no-iptables');
      mkdirSync(context);
      writeFileSync(join(context, 'Containerfile'), `FROM ${TEST_IMAGE}\nRUN rm -f /usr/sbin/iptables /usr/sbin/ip6tables\n`);
      expect((await run(['podman', 'build', '-q', '-t', noIptables, context], { env: engineEnv(), okExitCodes: 'any' })).exitCode).toBe(0);
      const error = await expectCode(berth.up(`${ws}-noipt`, { root, image: noIptables, egress: { allow: [`${targetIp}:8000`] } }), 'E_RUNTIME_FAILED');
      expect(error.message).toBe(`The egress firewall inside workspace "${ws}-noipt" did not come up: berth egress firewall: iptables is not installed in the workspace image.`);
      expect(error.hint).toContain('apt-get install -y iptables');
    });
  });
}
