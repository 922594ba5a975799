import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Berth } from '../../src/berth.js';
import { applyManifest, planManifest } from '../../src/orchestrator/plan-manifest.js';
import { Reconciler } from '../../src/orchestrator/reconcile.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';

/**
 * `allowPrivileged: true` beside `devcontainer: true` in berth.yaml, on podman: without it the
 * devcontainer.json's runArgs capability is refused by plan and blocked in the reconcile loop
 * (nothing made); with it plan creates, apply grants the capability (in CapEff), and the loop and
 * the next plan find nothing to do.
 */
/** CAP_SYS_PTRACE's bit (linux/capability.h): in neither engine's default set. */
const CAP_SYS_PTRACE = 19n;

describe('berth.yaml allowPrivileged beside devcontainer on podman', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-dcmp-'));
  const id = `dcmp-${randomUUID().slice(0, 8)}`;
  const root = join(scratch, 'project');
  const manifest = join(scratch, 'berth.yaml');
  let berth: Berth | null = null;

  afterAll(async () => {
    await berth?.remove(id).catch(() => undefined);
    await berth?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const write = (allow: string) => writeFileSync(manifest, `version: 1\nworkspaces:\n  ${id}:\n    root: ./project\n    devcontainer: true\n${allow}`);
  const plan = () => planManifest(manifest, { open: () => Promise.resolve(berth as Berth), env: process.env });

  it('refused (plan, the loop) without it; granted with it, and converged', async () => {
    mkdirSync(join(root, '.devcontainer'), { recursive: true });
    writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: TEST_IMAGE, runArgs: ['--cap-add=SYS_PTRACE'] }));
    const { createBerth } = await import('../../src/berth.js');
    berth = await createBerth({ home: join(scratch, 'home'), runtime: 'podman', env: engineEnv(), userHome: join(scratch, 'user') });
    const b = berth;
    const loop = new Reconciler({ manifest, open: () => Promise.resolve(b), env: {} });

    write('');
    await expect(plan()).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining('--cap-add SYS_PTRACE') as string, hint: expect.stringContaining('--allow-privileged') as string });
    const blocked = await loop.runOnce();
    expect(blocked.findings.map((f) => [f.action.workspace, f.verdict])).toEqual([[id, 'block']]);
    expect(JSON.stringify(blocked.findings)).toContain('--cap-add SYS_PTRACE');
    expect(await b.list()).toEqual([]);

    write('    allowPrivileged: true\n');
    const granted = await plan();
    expect(granted.actions).toEqual([{ kind: 'create', workspace: id }]);
    const outcomes = await applyManifest(granted);
    expect(outcomes.map((o) => [o.ok, o.message])).toEqual([[true, `create ${id}`]]);
    const status = await b.exec(id, ['sh', '-c', "sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status"]);
    expect((BigInt(`0x${status.stdout.trim()}`) >> CAP_SYS_PTRACE) & 1n).toBe(1n);
    // What the loop and the next plan see is what apply made: nothing to do.
    expect((await loop.runOnce()).findings).toEqual([]);
    expect((await plan()).actions).toEqual([]);
  }, 180_000);
});
