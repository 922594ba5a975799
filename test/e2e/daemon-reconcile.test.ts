import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { BerthClient, WorkspaceSummary } from '../../src/client/index.js';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait-for.js';

const ENGINE = 'podman';

/** The workspace list once `done` holds (20 s at most; the failure shows the last list). */
async function until(client: BerthClient, done: (list: WorkspaceSummary[]) => boolean): Promise<WorkspaceSummary[]> {
  return waitFor(
    async () => {
      // fresh: a stop behind Berth's back may not be in an answer the daemon reuses (up to 1.5 s old).
      const list = await client.list({ fresh: true });
      if (!done(list)) throw new Error(`workspaces: ${JSON.stringify(list.map((w) => [w.id, w.state]))}`);
      return list;
    },
    { timeout: 20_000, interval: 200, message: 'the workspaces as declared' },
  );
}

/**
 * `berth daemon --manifest FILE` keeps the workspaces as declared with nobody calling apply: it
 * creates what is declared, restarts what was stopped behind its back (restart: on-failure),
 * removes what the file drops.
 * (Through the reconcile seam, which runs the orchestrator's Reconciler.)
 */
describe(`berthd --manifest on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-recon-'));
  const home = join(scratch, 'home');
  mkdirSync(join(scratch, 'project'));
  const manifest = join(scratch, 'berth.yaml');
  const ws = `recon-${run8}`;
  const env = engineEnv();
  let daemon: RunningDaemon | undefined;

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    await run([ENGINE, 'rm', '-f', `berth-${ws}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('creates, restarts and removes as the manifest says', async () => {
    // on-failure: a stop behind Berth's back (SIGTERM, exit 143) is a failure to restart from.
    writeFileSync(manifest, `version: 1\nworkspaces:\n  ${ws}:\n    root: project\n    image: ${TEST_IMAGE}\n    restart: on-failure\n`);
    daemon = await startDaemon(home, env, ['--runtime', ENGINE, '--manifest', manifest, '--reconcile-interval', '1']);
    const client = daemon.client;
    expect(await until(client, (l) => l.some((w) => w.id === ws && w.state === 'running'))).toEqual([expect.objectContaining({ id: ws, state: 'running', root: join(scratch, 'project') })]);
    await run([ENGINE, 'stop', '-t', '1', `berth-${ws}`], { env });
    expect(await until(client, (l) => l.some((w) => w.id === ws && w.state === 'running'))).toEqual([expect.objectContaining({ id: ws, state: 'running' })]);
    writeFileSync(manifest, 'version: 1\nworkspaces: {}\n');
    expect(await until(client, (l) => l.length === 0)).toEqual([]);
    const types = (await client.events({ workspace: ws })).map((e) => e.type);
    // The orchestrator's loop: create, restart and remove, each an intent and an outcome.
    expect(types.filter((t) => t === 'reconcile.done').length).toBeGreaterThanOrEqual(3);
    expect(types).toContain('reconcile.restarted');
    // A broken manifest is reported, not fatal: the daemon keeps serving.
    writeFileSync(manifest, 'version: 1\nworkspaces: [\n');
    await waitFor(async () => (await client.events({ type: 'reconcile.error' })).length > 0, { timeout: 10_000, interval: 200, message: 'a reconcile.error' });
    // Deliberate: two more cycles (1 s apart) pass to prove the cause is reported once, not per cycle.
    await sleep(2500);
    const failures = await client.events({ type: 'reconcile.error' });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toContain(manifest);
    expect((await client.health()).ok).toBe(true);
  });
});
