import { randomUUID } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Berth } from '../../src/berth.js';
import { AppleRuntime } from '../../src/runtime/apple/apple-runtime.js';
import { HostRuntime } from '../../src/runtime/host/host-runtime.js';
import { OciRuntime } from '../../src/runtime/oci/oci-runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { Store } from '../../src/state/store.js';
import { containerNameFor } from '../../src/workspace/workspace-id.js';
import { appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

/**
 * The workspace's `user` (issue 18 item 4): files the workspace writes on its root are owned by the
 * user it says, on the host. As root (this CI) a numeric user that is not root shows it; as anyone
 * else `user: host` does (the files are the test user's, not root's or a subordinate uid's).
 */
const asRoot = process.getuid?.() === 0;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
/** Who the workspace runs as, and the uid:gid its files must have on the host. */
const chosen = asRoot ? { user: '1234:1234', uid: 1234, gid: 1234 } : { user: 'host', ...me };

interface Target {
  label: string;
  runtime: (home: string) => Runtime;
  image: string;
}

const targets: Target[] = [
  { label: 'podman', runtime: () => new OciRuntime('podman', { env: engineEnv() }), image: TEST_IMAGE },
  { label: 'docker', runtime: () => new OciRuntime('docker', { env: engineEnv() }), image: TEST_IMAGE },
];

/** A Berth on its own home, with the workspace's root owned by `owner` (the host user it runs as). */
function scratchBerth(prefix: string, runtime: (home: string) => Runtime, owner?: { uid: number; gid: number }): { berth: Berth; root: string; done: () => Promise<void> } {
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  if (owner && asRoot) chownSync(root, owner.uid, owner.gid);
  const made = runtime(home);
  const berth = new Berth(made, { kind: made.kind, source: 'flag', reports: [] }, { home, owner: 'f0e1d2c3-b4a5-4697-8899-aabbccddeeff', env: {}, userHome: join(scratch, 'user'), store: Store.open(home) });
  return { berth, root, done: async () => { await berth.close(); rmSync(scratch, { recursive: true, force: true }); } };
}

for (const { label, runtime, image } of targets) {
  describe(`${label}: the workspace's user`, () => {
    const ws = `user-${randomUUID().slice(0, 8)}`;
    const { berth, root, done } = scratchBerth('berth-user-', runtime, chosen);

    beforeAll(async () => {
      await berth.up(ws, { root, image, user: chosen.user });
    });

    afterAll(async () => {
      await berth.runtime.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
      await done();
    });

    it('files the workspace writes on its root are owned on the host by its user; exec `user` runs as another', async () => {
      const id = await berth.exec(ws, ['sh', '-c', 'id -u; id -g; echo made > /workspace/by-exec; mkdir -p /workspace/dir && touch /workspace/dir/inner']);
      expect(id.exitCode).toBe(0);
      expect(id.stdout.split('\n').slice(0, 2)).toEqual([String(chosen.uid), String(chosen.gid)]);
      for (const file of ['by-exec', 'dir', 'dir/inner']) {
        const stat = statSync(join(root, file));
        expect({ file, uid: stat.uid, gid: stat.gid }).toEqual({ file, uid: chosen.uid, gid: chosen.gid });
      }
      // berth.files writes as the workspace's user too.
      await berth.files.write(ws, 'by-files', 'x');
      expect(statSync(join(root, 'by-files')).uid).toBe(chosen.uid);
      // An exec naming a user runs as that one (root inside the workspace here).
      expect((await berth.exec(ws, ['id', '-u'], { user: '0' })).stdout.trim()).toBe('0');
    });

    it('a user that does not exist in the image is a BerthError naming it, for exec and for up', async () => {
      const execError = await expectCode(berth.exec(ws, ['true'], { user: 'no-such-user' }), 'E_INVALID_INPUT');
      expect(execError.message).toContain('no-such-user');
      expect(execError.hint).toMatch(/user/i);
      const other = `user-bad-${randomUUID().slice(0, 8)}`;
      try {
        const upError = await expectCode(berth.up(other, { root, image, user: 'no-such-user' }), 'E_INVALID_INPUT');
        expect(upError.message).toContain('no-such-user');
      } finally {
        await berth.runtime.remove(containerNameFor(other), { force: true }).catch(() => undefined);
      }
    });

    it('changing the user recreates the container (the spec hash names it); a patch without one keeps it', async () => {
      const kept = await berth.up(ws, { image });
      expect(kept.action).toBe('reused');
      const changed = await berth.up(ws, { user: 'host' });
      expect(changed.action).toBe('recreated');
      expect(changed.reasons).toContain('user changed');
      expect((await berth.exec(ws, ['id', '-u'])).stdout.trim()).toBe(String(me.uid));
      await berth.exec(ws, ['touch', '/workspace/as-host']);
      expect(statSync(join(root, 'as-host')).uid).toBe(me.uid);
    });
  });
}

describe('apple 1.2.2 (double): the workspace\'s user', () => {
  const env = appleDoubleEnv('1.2.2');
  const ws = `user-${randomUUID().slice(0, 8)}`;
  const { berth, root, done } = scratchBerth('berth-user-apple-', () => new AppleRuntime({ env, startSystem: true }));

  afterAll(async () => {
    await berth.runtime.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
    await done();
  });

  it('user: host adds no flag (the shares are written by the host user\'s own services): the guest runs as root, files are the host user\'s', async () => {
    await berth.up(ws, { root, image: TEST_IMAGE, user: 'host' });
    const config = await berth.runtime.inspect(containerNameFor(ws));
    expect(config.labels['dev.berth.spec-parts']).toContain('user:');
    expect((await berth.exec(ws, ['id', '-u'])).stdout.trim()).toBe('0');
    await berth.exec(ws, ['touch', '/workspace/by-guest']);
    // The double runs the guest on an engine as this user (root here, or rootless podman's root,
    // which is this user): what it writes is this user's, as Apple's virtiofs shares make it.
    expect(statSync(join(root, 'by-guest')).uid).toBe(me.uid);
    // An exec naming a user passes it (`exec --user`).
    expect((await berth.exec(ws, ['id', '-u'], { user: '1234' })).stdout.trim()).toBe('1234');
  });
});

describe('host mode: the workspace\'s user is the host user', () => {
  const ws = `user-${randomUUID().slice(0, 8)}`;
  const { berth, root, done } = scratchBerth('berth-user-host-', (home) => new HostRuntime({ stateDir: join(home, 'host'), berthHome: home, sandbox: 'off' }));

  afterAll(async () => {
    await berth.runtime.remove(containerNameFor(ws), { force: true }).catch(() => undefined);
    await done();
  });

  it('user: host runs as this user; any other user is refused (E_UNSUPPORTED), for up and for exec', async () => {
    const other = `${String(me.uid + 4321)}:${String(me.gid + 4321)}`;
    const refused = await expectCode(berth.up(ws, { root, image: 'host', sandbox: 'off', user: other }), 'E_UNSUPPORTED');
    expect(refused.hint).toMatch(/container/);
    await berth.up(ws, { root, image: 'host', sandbox: 'off', user: 'host' });
    await berth.exec(ws, ['touch', join(root, 'by-host')]);
    expect(statSync(join(root, 'by-host')).uid).toBe(me.uid);
    expect((await berth.exec(ws, ['id', '-u'], { user: String(me.uid) })).stdout.trim()).toBe(String(me.uid));
    await expectCode(berth.exec(ws, ['id', '-u'], { user: other }), 'E_UNSUPPORTED');
  });
});
