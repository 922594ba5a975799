import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { FIREWALL_MARKER } from '../../src/egress/guest-firewall.js';
import { run } from '../../src/process/index.js';
import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { Store } from '../../src/state/store.js';
import { installationId } from '../../src/workspace/installation.js';
import { TEST_IMAGE } from '../support/engines.js';
import { appleDoubleEnv, appleOnDouble, CONTAINER_DOUBLE } from '../support/apple-double.js';
import { expectCode } from '../support/expect-code.js';
import { guestFirewallSuite } from './apple-firewall-suite.js';
import { egressSuite } from './egress-suite.js';

// The whole egress suite on Apple container 1.2.2 (the double, whose hostOnly networks route raw IP
// out as apple/container#2062 does): only the firewall inside the guest stops a direct connection.
// From 0.12 a container's processes start without CAP_NET_ADMIN: the firewall asks for it.
egressSuite('apple 1.2.2 (double)', () => Promise.resolve({ runtime: appleOnDouble('1.2.2'), image: TEST_IMAGE }));
guestFirewallSuite('1.2.2');

describe('egress on Apple container 1.2.2: the longest workspace id (double)', () => {
  it('gets a network Apple accepts (names are at most 63 characters), and loses it on remove', async () => {
    const env = appleDoubleEnv('1.2.2');
    const runtime = new AppleRuntime({ env });
    const scratch = mkdtempSync(join(tmpdir(), 'berth-apple-long-'));
    const root = join(scratch, 'project');
    mkdirSync(root);
    const home = join(scratch, 'home');
    const store = Store.open(home);
    const berth = new Berth(runtime, { kind: 'apple', source: 'flag', reports: [] }, { home, owner: installationId(home), env: {}, userHome: join(scratch, 'user'), store });
    // The longest id Apple's 63-character container names allow: berth-<57>.
    const ws = `long-${randomUUID().slice(0, 8)}-${'a'.repeat(43)}`;
    expect(ws).toHaveLength(57);
    try {
      await berth.up(ws, { root, image: TEST_IMAGE, egress: { allow: ['example.com'] } });
      const networks = (await run([CONTAINER_DOUBLE, 'network', 'list', '--format', 'json'], { env })).stdout;
      const names = (JSON.parse(networks) as { id: string }[]).map((n) => n.id).filter((id) => id.startsWith('berth-net-long-'));
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(/^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/);
      expect((await berth.exec(ws, ['cat', FIREWALL_MARKER])).exitCode).toBe(0);
      await berth.remove(ws);
      const after = (await run([CONTAINER_DOUBLE, 'network', 'list', '--format', 'json'], { env })).stdout;
      expect((JSON.parse(after) as { id: string }[]).map((n) => n.id)).not.toContain(names[0]);
    } finally {
      await berth.remove(ws).catch(() => undefined);
      store.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('egress on Apple container with the old guest kernel 6.12.28 (double)', () => {
  it('fails closed and says to update the kernel, with the command, not to install iptables', async () => {
    const env = { ...appleDoubleEnv('1.2.2'), CONTAINER_DOUBLE_GUEST_KERNEL: '6.12.28' };
    const runtime = new AppleRuntime({ env });
    const scratch = mkdtempSync(join(tmpdir(), 'berth-apple-kernel-'));
    const root = join(scratch, 'project');
    mkdirSync(root);
    const home = join(scratch, 'home');
    const store = Store.open(home);
    const berth = new Berth(runtime, { kind: 'apple', source: 'flag', reports: [] }, { home, owner: installationId(home), env: {}, userHome: join(scratch, 'user'), store });
    const ws = `oldkernel-${randomUUID().slice(0, 8)}`;
    try {
      const error = await expectCode(berth.up(ws, { root, image: TEST_IMAGE, egress: { allow: ['example.com'] } }), 'E_RUNTIME_FAILED');
      expect(error.message).toContain('the guest kernel has no ip6tables support');
      expect(error.hint).toContain('container system kernel set --recommended');
      expect(error.hint).not.toContain('apt-get install');
    } finally {
      await berth.remove(ws).catch(() => undefined);
      store.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
