import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { resolveExecutable, run } from '../../src/process/index.js';
import { Store } from '../../src/state/store.js';
import { installationId } from '../../src/workspace/installation.js';
import { LABELS } from '../../src/workspace/labels.js';
import { SETUP_HINT, TEST_IMAGE, engineEnv } from '../support/engines.js';
import { BERTH_BIN, berthCli, json } from './cli-suite.js';

type Phase = 'create' | 'recreate' | 'remove';

/**
 * Where each of the 20 runs is killed. `event`: once the store holds the nth event of that type
 * (between Berth's record and its next step). `engine`: once the nth engine command of that kind has
 * started (a logging shim stands in for the engine binary), so the kill lands while the engine is
 * creating or removing, and the orphaned engine CLI finishes its work after Berth is gone. Phases
 * cycle create → recreate → remove, so every kill has ten actions of its kind to interrupt.
 */
export type KillPoint = { on: 'event'; event: 'apply.intent' | 'apply.done'; n: number; delayMs: number } | { on: 'engine'; command: 'run' | 'rm' | 'network create' | 'network rm'; n: number; delayMs: number };

const KILL_POINTS: readonly KillPoint[] = [
  { on: 'event', event: 'apply.intent', n: 1, delayMs: 0 }, // create
  { on: 'engine', command: 'rm', n: 3, delayMs: 0 }, // recreate
  { on: 'engine', command: 'rm', n: 2, delayMs: 0 }, // remove
  { on: 'engine', command: 'run', n: 1, delayMs: 0 },
  { on: 'engine', command: 'run', n: 4, delayMs: 0 },
  { on: 'event', event: 'apply.done', n: 5, delayMs: 0 },
  { on: 'engine', command: 'run', n: 7, delayMs: 50 },
  { on: 'event', event: 'apply.done', n: 2, delayMs: 0 },
  { on: 'engine', command: 'network rm', n: 1, delayMs: 0 },
  { on: 'engine', command: 'network create', n: 2, delayMs: 0 },
  { on: 'engine', command: 'rm', n: 10, delayMs: 0 },
  { on: 'event', event: 'apply.intent', n: 5, delayMs: 0 },
  { on: 'event', event: 'apply.intent', n: 10, delayMs: 40 },
  { on: 'engine', command: 'run', n: 9, delayMs: 30 },
  { on: 'engine', command: 'rm', n: 10, delayMs: 0 },
  { on: 'engine', command: 'run', n: 10, delayMs: 0 },
  { on: 'event', event: 'apply.done', n: 9, delayMs: 0 },
  { on: 'engine', command: 'rm', n: 6, delayMs: 30 },
  { on: 'event', event: 'apply.done', n: 8, delayMs: 0 },
  { on: 'engine', command: 'run', n: 1, delayMs: 0 },
];

const PHASES: readonly Phase[] = ['create', 'recreate', 'remove'];

/**
 * The must-show crash test: `berth apply --yes` (the built CLI) on a 10-workspace manifest, killed
 * with SIGKILL at 20 different points. After each kill the next apply converges (the plan after it
 * is empty), the ledger matches the engine both ways, nothing that survived the kill is created
 * again, and ten foreign containers placed beside (look-alike names, partial labels, another
 * owner) all survive untouched.
 */
export function crashSuite(engine: 'podman' | 'docker', options: { concurrency?: number; points?: readonly KillPoint[]; label?: string } = {}): void {
  const killPoints = options.points ?? KILL_POINTS;
  // Every apply of the run, the killed ones and the converging ones, at the same concurrency.
  const concurrency = options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)];
  describe(`kill -9 during apply on ${engine}${options.label ? ` (${options.label})` : ''}`, () => {
    const token = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-crash-'));
    const home = join(scratch, 'home');
    const manifest = join(scratch, 'berth.yaml');
    mkdirSync(join(scratch, 'root'));
    // The engine as Berth calls it: a shim that logs each command's first two words, then runs the real one.
    const shimLog = join(scratch, 'engine.log');
    const shim = join(scratch, `${engine}-shim`);
    const realEngine = resolveExecutable(engine, engineEnv());
    if (realEngine === undefined) throw new Error(`${engine} is not on PATH. ${SETUP_HINT}`);
    writeFileSync(shim, `#!/bin/sh\nprintf '%s %s\\n' "$1" "$2" >> '${shimLog}'\nexec '${realEngine}' "$@"\n`);
    chmodSync(shim, 0o755);
    const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: engine, [`BERTH_${engine.toUpperCase()}_BIN`]: shim };
    const berth = berthCli(env);
    const engineCli = (args: string[]) => run([engine, ...args], { env: engineEnv(), okExitCodes: 'any' });
    const ids = Array.from({ length: 10 }, (_, i) => `cr-${token}-${String(i)}`);
    const owner = installationId(home);
    const otherOwner = randomUUID();
    const foreign: { name: string; labels: Record<string, string> }[] = [
      { name: `berth-cr-${token}-1x`, labels: {} },
      { name: `berth-cr-${token}`, labels: {} },
      { name: `berth-cr-${token}-0-old`, labels: { [LABELS.managed]: 'true' } },
      { name: `berth-cr-${token}-2-copy`, labels: { [LABELS.managed]: 'true', [LABELS.workspace]: ids[2] ?? '' } },
      { name: `berth-cr-${token}-3-theirs`, labels: { [LABELS.managed]: 'true', [LABELS.workspace]: ids[3] ?? '', [LABELS.owner]: otherOwner } },
      { name: `cr-${token}-4`, labels: { [LABELS.managed]: 'true', [LABELS.workspace]: ids[4] ?? '', [LABELS.owner]: otherOwner } },
      { name: `berth-cr-${token}-5-owner-only`, labels: { [LABELS.owner]: owner, [LABELS.workspace]: ids[5] ?? '' } },
      { name: `berth-cr-${token}-6.bak`, labels: { [LABELS.managed]: 'false', [LABELS.owner]: owner } },
      { name: `xberth-cr-${token}-7`, labels: {} },
      { name: `berth-cr-${token}-8-8`, labels: { 'dev.berth.spec-hash': 'deadbeefdeadbeef' } },
    ];
    const foreignIds = new Map<string, string>();

    const write = (phase: Phase): void => {
      if (phase === 'remove') return writeFileSync(manifest, 'version: 1\nworkspaces: {}\n');
      const mode = phase === 'create' ? 'a' : 'b';
      // Two of the ten have egress, so networks are created, ledgered and removed too.
      const block = (id: string, i: number): string =>
        `  ${id}:\n    root: ./root\n    image: ${TEST_IMAGE}\n    env: { MODE: ${mode} }\n${i % 5 === 0 ? '    egress: { allow: [registry.example.test] }\n' : ''}`;
      writeFileSync(manifest, `version: 1\nworkspaces:\n${ids.map(block).join('')}`);
    };

    /** Our containers on the engine (by our owner AND managed labels): name → full id. */
    const ourContainers = async (): Promise<Map<string, string>> => {
      const listed = await engineCli(['ps', '-a', '--no-trunc', '--filter', `label=${LABELS.owner}=${owner}`, '--filter', `label=${LABELS.managed}=true`, '--format', '{{.Names}} {{.ID}}']);
      return new Map(listed.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(' ') as [string, string]));
    };
    const ourNetworks = async (): Promise<string[]> => {
      const listed = await engineCli(['network', 'ls', '--filter', `label=${LABELS.owner}=${owner}`, '--format', '{{.Name}}']);
      return listed.stdout.split('\n').filter((l) => l.trim() !== '').sort();
    };

    /** The engine CLIs a killed Berth left running finish on their own; wait for them, as a person would. */
    const orphansGone = async (): Promise<void> => {
      const busy = (): boolean =>
        readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).some((pid) => {
          try {
            const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
            return [engine, 'docker', 'podman'].includes(basename(argv[0] ?? '')) && argv.some((a) => a.includes(`cr-${token}`));
          } catch {
            return false;
          }
        });
      await waitFor(() => !busy(), { timeout: 20_000, message: 'the engine CLIs started by the killed apply to finish' });
    };

    /** Has the run got to the kill point: the nth event of its type since `base`, or the nth engine command of its kind? */
    const reached = (point: KillPoint, store: Store, base: number): boolean => {
      if (point.on === 'event') return store.events.events({ afterSeq: base, type: point.event }).filter((e) => e.type === point.event).length >= point.n;
      const commands = existsSync(shimLog) ? readFileSync(shimLog, 'utf8').split('\n') : [];
      return commands.filter((line) => line === point.command || line.startsWith(`${point.command} `)).length >= point.n;
    };
    /** Runs `berth apply --yes` and SIGKILLs it once it reaches the point, plus the point's delay. */
    const applyKilledAt = async (point: KillPoint): Promise<void> => {
      const store = Store.open(home);
      const base = store.events.events().at(-1)?.seq ?? 0;
      rmSync(shimLog, { force: true });
      const controller = new AbortController();
      const applying = run([process.execPath, BERTH_BIN, 'apply', '--yes', '-f', manifest, ...concurrency], { env, signal: controller.signal, stopSignal: 'SIGKILL', timeoutMs: 120_000, okExitCodes: 'any' });
      let finished = false;
      const outcome = applying.then(
        (result) => ((finished = true), `finished on its own (exit ${String(result.exitCode)}): ${result.stderr}`),
        (error: unknown) => ((finished = true), (error as { failure?: string; signal?: string }).failure === 'aborted' ? 'killed' : String(error)),
      );
      // Polled every 2 ms: the kill must land right at the point. apply's own 120 s timeout bounds it too.
      await waitFor(() => finished || reached(point, store, base), { timeout: 120_000, interval: 2, message: `kill point ${JSON.stringify(point)}` });
      if (point.delayMs > 0) await sleep(point.delayMs);
      controller.abort();
      store.close();
      expect(await outcome, `kill point ${JSON.stringify(point)}`).toBe('killed');
    };

    beforeAll(async () => {
      if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
      for (const f of foreign) {
        const labels = Object.entries(f.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
        const created = await engineCli(['create', '--name', f.name, ...labels, TEST_IMAGE, 'true']);
        expect(created.exitCode, created.stderr).toBe(0);
        foreignIds.set(f.name, created.stdout.trim().split('\n').pop() ?? '');
      }
    });

    afterAll(async () => {
      write('remove');
      await berth(['apply', '--yes', '-f', manifest]);
      const names = await engineCli(['ps', '-a', '--format', '{{.Names}}']);
      for (const name of names.stdout.split('\n').filter((n) => n.includes(token))) await engineCli(['rm', '-f', name]);
      for (const id of ids) await engineCli(['network', 'rm', `berth-net-${id}`]);
      rmSync(scratch, { recursive: true, force: true });
    });

    const cases = killPoints.map((point, i) => {
      const phase = PHASES[i % PHASES.length] ?? 'create';
      const at = point.on === 'event' ? `event ${point.event} #${String(point.n)}` : `engine ${point.command} #${String(point.n)}`;
      return { i, phase, title: `point ${String(i + 1)}: ${phase}, killed at ${at}${point.delayMs ? ` + ${String(point.delayMs)} ms` : ''}` };
    });
    it.each(cases)(
      '$title; the next apply converges',
      async ({ i, phase }) => {
        write(phase);
        await applyKilledAt(killPoints[i] ?? { on: 'event', event: 'apply.intent', n: 1, delayMs: 0 });
        await orphansGone();
        const survivors = await ourContainers();

        const planned = json<{ actions: { kind: string; workspace: string }[] }>(await berth(['plan', '-f', manifest, '--json']));
        const applied = json<{ outcomes: { ok: boolean; message: string }[] }>(await berth(['apply', '--yes', '-f', manifest, '--json', ...concurrency]));
        expect(applied.outcomes.filter((o) => !o.ok)).toEqual([]);
        expect(json<{ actions: unknown[] }>(await berth(['plan', '-f', manifest, '--json'])).actions).toEqual([]);

        // Nothing created twice: a container the kill left is kept unless the plan said to replace it.
        const after = await ourContainers();
        const replaced = new Set(planned.actions.filter((a) => ['create', 'recreate', 'remove'].includes(a.kind)).map((a) => `berth-${a.workspace}`));
        for (const [name, id] of survivors) if (!replaced.has(name)) expect(after.get(name), `${name} was replaced`).toBe(id);
        expect([...after.keys()].sort()).toEqual(phase === 'remove' ? [] : ids.map((id) => `berth-${id}`).sort());

        // The ledger matches the engine, both ways: containers by engine id, networks by name.
        const store = Store.open(home);
        const live = store.ledger.activeEntries(engine);
        store.close();
        const ledgered = new Map(live.filter((e) => e.kind === 'container').map((e) => [e.name, e.resourceId]));
        expect(ledgered).toEqual(after);
        expect(live.filter((e) => e.kind === 'container')).toHaveLength(after.size);
        expect(live.filter((e) => e.kind === 'network').map((e) => e.name).sort()).toEqual(await ourNetworks());

        // The foreign ones: every one still there, the very same container (one inspect for all ten;
        // a missing one is left out of its output).
        const seen = await engineCli(['container', 'inspect', '--format', '{{.Name}} {{.Id}}', ...foreign.map((f) => f.name)]);
        const seenIds = new Map(seen.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().replace(/^\//, '').split(' ') as [string, string]));
        for (const f of foreign) expect(seenIds.get(f.name), `${f.name} was touched`).toBe(foreignIds.get(f.name));
      },
    );
  });
}

/**
 * `count` kill points drawn from `seed` (printed in the test names, so a failing draw can be run
 * again): events or engine commands, an nth of 1 to 10, a delay of 0 to 60 ms.
 */
export function randomKillPoints(seed: number, count: number): KillPoint[] {
  let state = seed >>> 0 || 1;
  const next = (n: number): number => {
    // xorshift32: small, seedable, good enough to spread kill points.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const commands = ['run', 'rm', 'network create', 'network rm'] as const;
  return Array.from({ length: count }, (_, i): KillPoint => {
    const n = 1 + next(10);
    const delayMs = next(4) === 0 ? next(60) : 0;
    // Phases cycle create, recreate, remove: a remove run has no `run` or `network create`.
    const phase = PHASES[i % PHASES.length];
    // apply.done #10 is the run's end: it may exit before the kill lands.
    if (next(2) === 0) return { on: 'event', ...(next(2) === 0 ? { event: 'apply.intent', n } : { event: 'apply.done', n: Math.min(n, 9) }), delayMs };
    // What each phase runs: create `run` (+ `network create`), recreate `rm` + `run`, remove `rm` (+ `network rm`).
    const usable = commands.filter((c) => (phase === 'create' ? c === 'run' || c === 'network create' : phase === 'recreate' ? c === 'run' || c === 'rm' : c === 'rm' || c === 'network rm'));
    const command = usable[next(usable.length)] ?? 'run';
    // Only two workspaces of ten have a network.
    return { on: 'engine', command, n: command.startsWith('network') ? 1 + next(2) : n, delayMs };
  });
}
