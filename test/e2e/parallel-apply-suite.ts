import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { Store } from '../../src/state/store.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { startDaemon } from '../support/daemon.js';
import { BERTH_BIN, berthCli, json } from './cli-suite.js';
import { engineEvents } from './concurrency-suite.js';

type Engine = 'podman' | 'docker';

/** The most apply actions in flight at once, from the event log's intent/done pairs (in seq order). */
function mostInFlight(home: string, since: number): number {
  const store = Store.open(home);
  try {
    let open = 0;
    let most = 0;
    for (const e of store.events.events({ afterSeq: since })) {
      if (e.type === 'apply.intent') most = Math.max(most, ++open);
      else if (e.type === 'apply.done' || e.type === 'apply.failed') open -= 1;
    }
    return most;
  } finally {
    store.close();
  }
}

function lastSeq(home: string): number {
  const store = Store.open(home);
  try {
    return store.events.events().at(-1)?.seq ?? 0;
  } finally {
    store.close();
  }
}

/**
 * Parallel apply on a real engine: independent workspaces created side by side, at most
 * `--concurrency` at once, each exactly once (the engine's own event stream says so), and the
 * daemon's `POST /apply` taking the same bound.
 */
export function parallelApplySuite(engine: Engine): void {
  describe(`parallel apply on ${engine}`, () => {
    const token = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-par-'));
    const home = join(scratch, 'home');
    const manifest = join(scratch, 'berth.yaml');
    mkdirSync(join(scratch, 'root'));
    const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: engine, BERTH_NO_DAEMON: '1' };
    const berth = berthCli(env);
    const ids = Array.from({ length: 10 }, (_, i) => `par-${token}-${String(i)}`);
    const write = (declared: readonly string[]): void =>
      writeFileSync(manifest, `version: 1\nworkspaces:${declared.length === 0 ? ' {}' : ''}\n${declared.map((id) => `  ${id}:\n    root: ./root\n    image: ${TEST_IMAGE}\n`).join('')}`);

    beforeAll(() => {
      if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
    });

    afterAll(async () => {
      const names = await run([engine, 'ps', '-a', '--format', '{{.Names}}'], { env: engineEnv(), okExitCodes: 'any' });
      for (const name of names.stdout.split('\n').filter((n) => n.includes(token))) await run([engine, 'rm', '-f', name], { env: engineEnv(), okExitCodes: 'any' });
      rmSync(scratch, { recursive: true, force: true });
    });

    it('`berth apply --concurrency 4` of a manifest with 10 new workspaces: exactly one create each, up to 4 at once, then nothing to do', async () => {
      write(ids);
      const since = new Date();
      const base = lastSeq(home);
      const applied = await berth(['apply', '--yes', '-f', manifest, '--concurrency', '4', '--json']);
      expect(applied.exitCode, applied.stderr).toBe(0);
      const { outcomes } = json<{ outcomes: { ok: boolean; action: { kind: string; workspace: string } }[] }>(applied);
      // Outcomes in plan order, whatever order they finished in.
      expect(outcomes.map((o) => [o.ok, o.action.kind, o.action.workspace])).toEqual([...ids].sort().map((id) => [true, 'create', id]));
      const inFlight = mostInFlight(home, base);
      expect(inFlight).toBeGreaterThan(1);
      expect(inFlight).toBeLessThanOrEqual(4);
      for (const id of ids) {
        const events = await engineEvents(engine, `berth-${id}`, since);
        expect(events.filter((e) => e === 'create'), id).toHaveLength(1);
        expect(events, id).not.toContain('remove');
      }
      expect(json<{ actions: unknown[] }>(await berth(['plan', '-f', manifest, '--json'])).actions).toEqual([]);
    }, 240_000);

    it('`--concurrency 1` keeps plan order: one action at a time', async () => {
      // Recreate all ten (a changed env), one at a time.
      writeFileSync(manifest, `version: 1\nworkspaces:\n${ids.map((id) => `  ${id}:\n    root: ./root\n    image: ${TEST_IMAGE}\n    env: { MODE: b }\n`).join('')}`);
      const base = lastSeq(home);
      const applied = await berth(['apply', '--yes', '-f', manifest, '--concurrency', '1', '--json']);
      expect(applied.exitCode, applied.stderr).toBe(0);
      expect(mostInFlight(home, base)).toBe(1);
      const store = Store.open(home);
      const order = store.events.events({ afterSeq: base, type: 'apply.intent' }).map((e) => e.workspace);
      store.close();
      expect(order).toEqual([...ids].sort());
    }, 240_000);

    it('the daemon\'s `POST /apply` with concurrency 3 removes all ten, each once, at most 3 at once', async () => {
      write([]);
      // By container id: the recreates just before removed containers of the same names, and
      // docker's event window starts a second early.
      const containerIds = await Promise.all(ids.map(async (id) => (await run([engine, 'inspect', '--format', '{{.Id}}', `berth-${id}`], { env: engineEnv() })).stdout.trim()));
      const since = new Date();
      const base = lastSeq(home);
      const daemon = await startDaemon(home, engineEnv(), ['--runtime', engine]);
      try {
        const result = await daemon.client.apply(manifest, { yes: true }, { concurrency: 3 });
        expect(result.outcomes.map((o) => o.ok)).toEqual(ids.map(() => true));
      } finally {
        await daemon.stop();
      }
      const inFlight = mostInFlight(home, base);
      expect(inFlight).toBeGreaterThan(1);
      expect(inFlight).toBeLessThanOrEqual(3);
      for (const containerId of containerIds) {
        const events = await engineEvents(engine, containerId, since);
        expect(events.filter((e) => e === 'remove'), containerId).toHaveLength(1);
      }
    }, 240_000);

    it('POST /apply refuses a concurrency that is not a whole number from 1 to 64', async () => {
      const daemon = await startDaemon(home, engineEnv(), ['--runtime', engine]);
      try {
        for (const concurrency of [0, 65, 2.5]) {
          const refused = await daemon.client.apply(manifest, { yes: true }, { concurrency }).then(
            () => null,
            (error: unknown) => error as { code?: string; message: string },
          );
          expect(refused?.code, String(concurrency)).toBe('E_INVALID_INPUT');
          expect(refused?.message).toContain('concurrency');
        }
      } finally {
        await daemon.stop();
      }
    }, 120_000);
  });
}
