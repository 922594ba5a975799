/**
 * `berth up --devcontainer` against the reference's `devcontainer up` (@devcontainers/cli, the dev
 * dependency) on the same devcontainer.json: a Dockerfile build with an arg (cached: both tools
 * built it in the warm-up), containerEnv, and an onCreate + postStart hook. Every iteration makes a
 * new container on each side: the previous one is removed outside the timed region (Berth: a new
 * workspace id; the reference: its container, found by its devcontainer.local_folder label). The two
 * alternate within every iteration and swap order each iteration, so a busy machine weighs on both.
 *
 * Berth runs in-process (createBerth, as an app embedding it); the reference runs as its CLI (node
 * start-up included, as its users run it). Docker only: the reference adds --userns=keep-id on podman,
 * which rootful podman refuses.
 *
 * Usage: npx tsx bench/devcontainer.ts [--iterations 5] [--warmup 1]
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBerth } from '../src/berth.js';
import { run } from '../src/process/run.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { commandLine, fmt, headerLine, iterate, median, percentile, positiveInt, timed } from './support.js';

const REFERENCE = join(import.meta.dirname, '../node_modules/.bin/devcontainer');

function option(name: string, fallback: number, min: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : positiveInt(`--${name}`, process.argv[index + 1] ?? '', min);
}

async function main(): Promise<void> {
  const iterations = option('iterations', 5, 1);
  const warmup = option('warmup', 1, 1);
  const env = engineEnv();
  const scratch = mkdtempSync(join(tmpdir(), 'berth-bench-dc-'));
  const token = randomUUID().slice(0, 8);
  const folders = { berth: join(scratch, 'berth', 'proj'), reference: join(scratch, 'reference', 'proj') };
  const config = JSON.stringify({
    build: { dockerfile: 'Dockerfile', args: { TOKEN: token } },
    containerEnv: { FOO: 'foo-${localWorkspaceFolderBasename}' },
    onCreateCommand: 'echo created > /tmp/created',
    postStartCommand: 'true',
  });
  for (const folder of Object.values(folders)) {
    mkdirSync(join(folder, '.devcontainer'), { recursive: true });
    writeFileSync(join(folder, '.devcontainer/Dockerfile'), `FROM ${TEST_IMAGE}\nARG TOKEN\nRUN echo "$TOKEN" > /token\n`);
    writeFileSync(join(folder, '.devcontainer/devcontainer.json'), config);
  }
  const docker = (args: string[]) => run(['docker', ...args], { env, okExitCodes: 'any', timeoutMs: 120_000 });
  const referenceContainers = async (): Promise<string[]> =>
    (await docker(['ps', '-aq', '--filter', `label=devcontainer.local_folder=${folders.reference}`])).stdout.split('\n').filter((line) => line !== '');
  const berth = await createBerth({ home: join(scratch, 'home'), runtime: 'docker', env, userHome: join(scratch, 'user') });
  const times = { berth: [] as number[], reference: [] as number[] };
  const images = new Set<string>();
  let previous: string | null = null;
  try {
    await iterate(iterations, warmup, async ({ index, record, rawFirst }) => {
      // Outside the timed region: the last iteration's containers go.
      if (previous !== null) await berth.remove(previous);
      for (const container of await referenceContainers()) {
        images.add((await docker(['inspect', '--format', '{{.Image}}', container])).stdout.trim());
        await docker(['rm', '-f', container]);
      }
      const id = `bench-dc-${token}-${String(index + warmup)}`;
      previous = id;
      const sides = {
        berth: () => berth.upDevcontainer(id, { root: folders.berth }),
        reference: async () => {
          const result = await run([REFERENCE, 'up', '--workspace-folder', folders.reference, '--docker-path', 'docker', '--log-format', 'json'], { env, timeoutMs: 600_000, okExitCodes: 'any' });
          if (!result.stdout.includes('"outcome":"success"')) throw new Error(`devcontainer up failed: ${result.stdout.slice(-500)} ${result.stderr.slice(-1500)}`);
        },
      };
      for (const side of rawFirst ? (['reference', 'berth'] as const) : (['berth', 'reference'] as const)) {
        const ms = await timed(sides[side]);
        if (record) times[side].push(ms);
      }
    });
  } finally {
    if (previous !== null) await berth.remove(previous).catch(() => undefined);
    for (const container of await referenceContainers()) {
      images.add((await docker(['inspect', '--format', '{{.Image}}', container])).stdout.trim());
      await docker(['rm', '-f', container]);
    }
    await berth.close();
    const ours = (await docker(['images', '-q', '--filter', `label=berth.devcontainer=${join(folders.berth, '.devcontainer/devcontainer.json')}`])).stdout.split('\n');
    const built = [...images, ...ours].filter((image) => image.trim() !== '');
    if (built.length > 0) await docker(['rmi', '-f', ...new Set(built)]);
    rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`${headerLine('devcontainer up (cached build), docker', iterations, warmup)}\n${commandLine()}\n\n`);
  process.stdout.write('| side | median ms | p90 ms | min ms |\n| --- | ---: | ---: | ---: |\n');
  for (const side of ['berth', 'reference'] as const) {
    const values = times[side];
    process.stdout.write(`| ${side === 'berth' ? 'berth upDevcontainer (in-process)' : 'devcontainer up (reference CLI)'} | ${fmt(median(values))} | ${fmt(percentile(values, 0.9))} | ${fmt(Math.min(...values))} |\n`);
  }
  process.stdout.write(`\nratio berth / reference (medians): ${(median(times.berth) / median(times.reference)).toFixed(2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
