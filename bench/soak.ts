/**
 * Soak: many `berth` processes on one $BERTH_HOME, for a while, with kill -9s. Not run in CI.
 *
 * N workers loop for S seconds, each spawning the built CLI (dist/cli/main.js) with a random
 * operation on one of M workspaces: up, exec, stop, rm, dev start. A share of the processes is
 * killed with SIGKILL (the whole process group, the engine CLI it may be running included) after
 * a random delay. Two foreign containers stand by: one with Berth's name for a workspace the
 * workers also address, one with Berth-looking labels of another installation.
 * At the end: the engine's containers with our owner label, the ledger's live entries and
 * `berth ls` must name the same workspaces, and the foreign containers must be untouched.
 *
 * Usage: npx tsx bench/soak.ts [--engine podman] [--workers 6] [--workspaces 4] [--seconds 90] [--kill 0.1]
 * (run `npm run build` first). Exits 1 when the end state disagrees or something foreign changed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { run, runStreaming } from '../src/process/index.js';
import { Store } from '../src/state/store.js';
import { installationId } from '../src/workspace/installation.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';

const BERTH_BIN = join(import.meta.dirname, '../dist/cli/main.js');
const { values } = parseArgs({
  options: { engine: { type: 'string', default: 'podman' }, workers: { type: 'string', default: '6' }, workspaces: { type: 'string', default: '4' }, seconds: { type: 'string', default: '90' }, kill: { type: 'string', default: '0.1' } },
});
const engine = values.engine;
const workers = Number(values.workers);
const workspaceCount = Number(values.workspaces);
const seconds = Number(values.seconds);
const killShare = Number(values.kill);
if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first.');

const token = randomUUID().slice(0, 8);
const scratch = mkdtempSync(join(tmpdir(), 'berth-soak-'));
const home = join(scratch, 'home');
const root = join(scratch, 'project');
mkdirSync(root);
const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: engine, BERTH_NO_DAEMON: '1' };
const ids = Array.from({ length: workspaceCount }, (_, i) => `soak${String(i)}-${token}`);
const foreignTaken = `soakforeign-${token}`; // a workspace id whose container name a stranger holds
const engineCli = (args: string[]) => run([engine, ...args], { env: engineEnv(), okExitCodes: 'any', timeoutMs: 120_000 });

type Op = 'up' | 'exec' | 'stop' | 'rm' | 'dev start';
const OPS: readonly Op[] = ['up', 'up', 'exec', 'exec', 'stop', 'rm', 'dev start'];
const argvFor = (op: Op, id: string): string[] => {
  switch (op) {
    case 'up':
      return ['up', id, '--root', root, '--image', TEST_IMAGE];
    case 'exec':
      return ['exec', id, '--', 'true'];
    case 'stop':
      return ['stop', id];
    case 'rm':
      return ['rm', id];
    case 'dev start':
      return ['dev', 'start', id, 'web', '--', 'python3', '-m', 'http.server', '8000'];
  }
};
/** Failures that are the world's answer, not Berth's fault: the workspace is not there, not running, or not ours. */
const EXPECTED =
  /No workspace|not running|another Berth installation|Berth did not create it|No dev server|has no|exited|crashed|already starting|already running|no longer exists|container state improper|no such container/i;

const counts = { ok: 0, expectedFailure: 0, killed: 0, unexpected: 0 };
const perOp = new Map<string, number>();
const unexpected: string[] = [];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

async function worker(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const op = pick(OPS);
    const id = Math.random() < 0.1 ? foreignTaken : pick(ids);
    perOp.set(op, (perOp.get(op) ?? 0) + 1);
    const abort = new AbortController();
    const kill = Math.random() < killShare ? setTimeout(() => abort.abort(), 50 + Math.random() * 1500) : undefined;
    try {
      const result = await runStreaming([process.execPath, BERTH_BIN, ...argvFor(op, id)], { env, okExitCodes: 'any', timeoutMs: 180_000, signal: abort.signal, stopSignal: 'SIGKILL' });
      if (result.exitCode === 0) counts.ok++;
      // (A dev server that ended at once is reported on stdout, with exit 1.)
      else if (EXPECTED.test(result.stderr) || EXPECTED.test(result.stdout)) counts.expectedFailure++;
      else {
        counts.unexpected++;
        unexpected.push(`${op} ${id}: exit ${String(result.exitCode)}: ${(result.stderr + result.stdout).trim().split('\n').slice(0, 3).join(' | ')}`);
      }
    } catch {
      if (abort.signal.aborted) counts.killed++;
      else counts.unexpected++;
    } finally {
      clearTimeout(kill);
    }
  }
}

async function main(): Promise<number> {
  // The strangers: one holds a name a worker addresses, one carries Berth-looking labels of another owner.
  const foreign = [`berth-${foreignTaken}`, `berth-lookalike-${token}`];
  await engineCli(['run', '-d', '--name', foreign[0] ?? '', TEST_IMAGE, 'tail', '-f', '/dev/null']);
  await engineCli(['run', '-d', '--name', foreign[1] ?? '', '--label', 'dev.berth.managed=true', '--label', 'dev.berth.owner=someone-else', TEST_IMAGE, 'tail', '-f', '/dev/null']);
  const foreignIds = await Promise.all(foreign.map(async (name) => (await engineCli(['inspect', '-f', '{{.Id}}', name])).stdout.trim()));

  const started = Date.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: workers }, () => worker(deadline)));
  const elapsed = (Date.now() - started) / 1000;

  // The end state, from three sides.
  const owner = installationId(home);
  const engineNames = (await engineCli(['ps', '-a', '--filter', `label=dev.berth.owner=${owner}`, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort();
  const store = Store.open(home);
  const ledger = store.ledger
    .activeEntries(engine as 'podman' | 'docker')
    .filter((e) => e.kind === 'container')
    .map((e) => e.name)
    .sort();
  store.close();
  const listed = (JSON.parse((await run([process.execPath, BERTH_BIN, 'ls', '--json'], { env })).stdout) as { container: string; state: string }[])
    .filter((w) => w.state !== 'missing')
    .map((w) => w.container)
    .sort();
  const foreignNow = await Promise.all(foreign.map(async (name) => (await engineCli(['inspect', '-f', '{{.Id}} {{.State.Status}}', name])).stdout.trim()));
  const foreignIntact = foreignNow.every((line, i) => line === `${foreignIds[i] ?? ''} running`);
  const agree = JSON.stringify(engineNames) === JSON.stringify(ledger) && JSON.stringify(ledger) === JSON.stringify(listed);

  const total = counts.ok + counts.expectedFailure + counts.killed + counts.unexpected;
  process.stdout.write(
    [
      `Soak on ${engine}: ${String(workers)} workers × ${String(workspaceCount)} workspaces (+1 whose name a foreign container holds), ${elapsed.toFixed(0)} s, kill -9 share ${String(killShare)}`,
      `processes: ${String(total)} (${[...perOp].map(([op, n]) => `${op} ${String(n)}`).join(', ')})`,
      `outcomes: ok ${String(counts.ok)}, refused as expected ${String(counts.expectedFailure)}, killed -9 ${String(counts.killed)}, unexpected failures ${String(counts.unexpected)}`,
      `end state: engine ${JSON.stringify(engineNames)}; ledger ${JSON.stringify(ledger)}; berth ls ${JSON.stringify(listed)}: ${agree ? 'AGREE' : 'DISAGREE'}`,
      `foreign containers: ${foreignIntact ? 'untouched' : `CHANGED: ${JSON.stringify(foreignNow)}`}`,
      ...unexpected.slice(0, 10).map((line) => `  unexpected: ${line}`),
      '',
    ].join('\n'),
  );
  return agree && foreignIntact ? 0 : 1;
}

async function cleanUp(): Promise<void> {
  const names = (await engineCli(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((n) => n.includes(token));
  for (const name of names) await engineCli(['rm', '-f', name]);
  const networks = (await engineCli(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter((n) => n.includes(token));
  for (const network of networks) await engineCli(['network', 'rm', network]);
  rmSync(scratch, { recursive: true, force: true });
}

let code = 1;
try {
  code = await main();
} finally {
  await cleanUp();
}
process.exitCode = code;
