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
import { appleDoubleEnv, appleOnDouble } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { egressSuite } from './egress-suite.js';

// The whole egress suite on Apple container 1.2.2 (the double, whose hostOnly networks route raw IP
// out as apple/container#2062 does): only the firewall inside the guest stops a direct connection.
egressSuite('apple 1.2.2 (double)', () => Promise.resolve({ runtime: appleOnDouble('1.2.2'), image: TEST_IMAGE }));

describe('egress on Apple container: the guest firewall (double)', () => {
  const doubleEnv = appleDoubleEnv('1.2.2');
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

  it('commands Berth runs there cannot take the firewall down, even as root', async () => {
    const flush = await berth.exec(ws, ['iptables', '-w', '-F', 'OUTPUT']);
    expect(flush.exitCode).not.toBe(0);
    expect(flush.stderr).toMatch(/Permission denied|not permitted/i);
    expect((await berth.exec(ws, ['sh', '-c', 'grep CapBnd /proc/self/status'])).stdout).not.toBe((await runtime.exec(containerNameFor(ws), ['sh', '-c', 'grep CapBnd /proc/self/status'])).stdout);
    expect((await reach((argv) => berth.exec(ws, argv))).exitCode).not.toBe(0);
    // The CLI's exec goes by the workspace's address card, without the library: the fence is on the card.
    const cli = await berthCli({ ...doubleEnv, BERTH_HOME: home, BERTH_RUNTIME: 'apple' })(['exec', ws, '--', 'iptables', '-w', '-F', 'OUTPUT']);
    expect(cli.exitCode).not.toBe(0);
    expect(cli.stderr).toMatch(/Permission denied|not permitted/i);
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
