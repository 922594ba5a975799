import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { run } from '../../src/process/run.js';
import { CONTAINER_DOUBLE, appleDoubleEnv } from '../support/apple-double.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * `berth gc` and the named volumes Berth makes for a workspace's mounts (a devcontainer's `type=volume`
 * mounts; labelled with the workspace and this installation, kept by rm as the reference keeps
 * them): the dry run lists the volume of a removed workspace and removes nothing; the applied run
 * removes it and only it. A live workspace's volume, an unlabelled one, another installation's and
 * one with the workspace label but no owner all survive. Apple on the double, in both of its JSON
 * shapes (1.x `{id, configuration}`, 0.x the volume itself).
 */
const cases = [
  { kind: 'podman', label: 'podman', env: () => engineEnv(), bin: ['podman'] },
  { kind: 'docker', label: 'docker', env: () => engineEnv(), bin: ['docker'] },
  { kind: 'apple', label: 'apple 1.2.2 (double)', env: () => appleDoubleEnv('1.2.2'), bin: [process.execPath, CONTAINER_DOUBLE] },
  { kind: 'apple', label: 'apple 0.12.3 (double)', env: () => appleDoubleEnv('0.12.3'), bin: [process.execPath, CONTAINER_DOUBLE] },
] as const;

for (const { kind, label, env: makeEnv, bin } of cases) {
  describe(`gc of named volumes on ${label}`, () => {
    const scratch = mkdtempSync(join(tmpdir(), `berth-gcv-${kind}-`));
    const env = makeEnv();
    const tag = randomUUID().slice(0, 8);
    const gone = `gcv-${tag}-gone`;
    const live = `gcv-${tag}-live`;
    const volume = (name: string) => `berth-test-${tag}-${name}`;
    const cli = (args: string[]) => run([...bin, ...args], { env, okExitCodes: 'any' });
    const exists = async (name: string) => (await cli(['volume', 'inspect', name])).exitCode === 0;
    // docker/podman `Labels`, Apple 1.x `configuration.labels`, 0.x `labels`.
    const labelsOf = async (name: string) => {
      const [record] = JSON.parse((await cli(['volume', 'inspect', name])).stdout) as { Labels?: Record<string, string>; labels?: Record<string, string>; configuration?: { labels?: Record<string, string> } }[];
      return record?.Labels ?? record?.configuration?.labels ?? record?.labels ?? {};
    };
    let berth: Berth | null = null;

    afterAll(async () => {
      await berth?.remove(live).catch(() => undefined);
      await berth?.remove(gone).catch(() => undefined);
      await berth?.close();
      // One at a time: Apple deletes none of the names when one of them is missing.
      for (const name of ['gone', 'live', 'foreign', 'other-owner', 'no-owner'].map(volume)) await cli(kind === 'apple' ? ['volume', 'delete', name] : ['volume', 'rm', '-f', name]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('collects the volume of a removed workspace, and only it; the dry run shows it and removes nothing', async () => {
      const root = join(scratch, 'proj');
      mkdirSync(join(root, '.devcontainer'), { recursive: true });
      writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: TEST_IMAGE, mounts: [`source=${volume('gone')},target=/data,type=volume`] }));
      const { createBerth } = await import('../../src/berth.js');
      berth = await createBerth({ home: join(scratch, 'home'), runtime: kind, env, userHome: join(scratch, 'user') });
      const b = berth;
      await b.upDevcontainer(gone, { root });
      await b.up(live, { root, image: TEST_IMAGE, mounts: [{ type: 'volume', source: volume('live'), target: '/data' }] });
      expect((await labelsOf(volume('gone')))['dev.berth.volume-workspace']).toBe(gone);
      // Not Berth's: unlabelled; another installation's; the workspace label without an owner.
      await cli(['volume', 'create', volume('foreign')]);
      await cli(['volume', 'create', '--label', `dev.berth.volume-workspace=${gone}`, '--label', 'dev.berth.owner=another-installation', volume('other-owner')]);
      await cli(['volume', 'create', '--label', `dev.berth.volume-workspace=${gone}`, volume('no-owner')]);

      // While the workspace lives (running, then stopped) its volume is not garbage.
      expect((await b.gc()).volumes).toEqual([]);
      await b.stop(gone);
      expect((await b.gc()).volumes).toEqual([]);

      // rm keeps it; gc lists it (dry run: still there), then removes it, and nothing else.
      await b.remove(gone);
      expect(await exists(volume('gone'))).toBe(true);
      // Made moments ago: within the grace a first up needs (its ledger entry comes after its volumes).
      expect((await b.gc()).volumes).toEqual([]);
      const dry = await b.gc({ graceMs: 0 });
      expect(dry.applied).toBe(false);
      expect(dry.volumes).toEqual([{ name: volume('gone'), workspace: gone, reason: `its workspace ${gone} no longer exists` }]);
      expect(await exists(volume('gone'))).toBe(true);
      const applied = await b.gc({ apply: true, graceMs: 0 });
      expect(applied.volumes.map((v) => [v.name, v.error])).toEqual([[volume('gone'), undefined]]);
      expect(await exists(volume('gone'))).toBe(false);
      for (const name of ['live', 'foreign', 'other-owner', 'no-owner']) expect(await exists(volume(name)), `${name} must survive gc`).toBe(true);
      expect((await b.gc({ graceMs: 0 })).volumes).toEqual([]);
      expect(b.eventLog({ type: 'gc.removed' }).map((e) => e.message)).toContain(`gc removed the volume ${volume('gone')}: its workspace ${gone} no longer exists.`);
    }, 180_000);
  });
}
