import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { planManifest } from '../../src/orchestrator/plan-manifest.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';

/**
 * A devcontainer's hostRequirements.memory becomes the workspace's memory limit, so it is checked
 * against the memory budget as a declared `memory:` is: `up --devcontainer` refuses one the machine
 * cannot hold before anything is created (a given memory wins, and is checked instead), and a
 * berth.yaml's plan counts the hostRequirements of its devcontainer workspaces that name no memory.
 */
describe('hostRequirements.memory against the memory budget (podman)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-dcbudget-'));
  const tag = randomUUID().slice(0, 8);
  const big = `dcb-${tag}-big`;
  const env = { ...engineEnv(), BERTH_MEMORY_BUDGET: '1g' };
  let berth: Berth | null = null;

  afterAll(async () => {
    await berth?.remove(big).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const project = (name: string, memory: string): string => {
    const root = join(scratch, name);
    mkdirSync(join(root, '.devcontainer'), { recursive: true });
    writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: TEST_IMAGE, hostRequirements: { memory } }));
    return root;
  };

  it('up --devcontainer refuses what is over the budget before creating anything; a given memory wins', async () => {
    const root = project('big', '64gb');
    const { createBerth } = await import('../../src/berth.js');
    berth = await createBerth({ home: join(scratch, 'home'), runtime: 'podman', env, userHome: join(scratch, 'user') });
    const b = berth;
    const error = await expectCode(b.upDevcontainer(big, { root }), 'E_INVALID_INPUT');
    expect(error.message).toContain(`Workspace "${big}" needs 64g of memory (hostRequirements.memory in ${join(root, '.devcontainer/devcontainer.json')}), over the budget of 1g (BERTH_MEMORY_BUDGET=1g)`);
    expect(error.hint).toContain('--memory');
    expect(await b.list()).toEqual([]);
    // A memory given for the workspace is what it gets, and what is checked.
    await expectCode(b.upDevcontainer(big, { root, base: { memory: '2g' } }), 'E_INVALID_INPUT');
    const up = await b.upDevcontainer(big, { root, base: { memory: '512m' } });
    expect(up.container.state).toBe('running');
  }, 180_000);

  it("a berth.yaml's plan counts its devcontainer workspaces' hostRequirements, unless memory: names it", async () => {
    project('one', '768mb');
    project('two', '768mb');
    const manifest = join(scratch, 'berth.yaml');
    const declare = (extra: string) => writeFileSync(manifest, `version: 1\nworkspaces:\n  dcb-${tag}-one:\n    root: ./one\n    devcontainer: true\n  dcb-${tag}-two:\n    root: ./two\n    devcontainer: true\n${extra}`);
    const plan = () => planManifest(manifest, { open: () => Promise.resolve(berth as Berth), env, record: false });
    declare('');
    const error = await expectCode(plan(), 'E_INVALID_INPUT');
    expect(error.message).toContain('need 1.5g of memory, over the budget of 1g');
    expect(error.message).toContain(`dcb-${tag}-one: 768m`);
    declare('    memory: 128m\n');
    expect((await plan()).actions.map((a) => a.workspace).sort()).toEqual([`dcb-${tag}-one`, `dcb-${tag}-two`]);
  }, 120_000);
});
