import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';

const REPO = join(import.meta.dirname, '../..');
const ENGINES = /^(docker|podman|container|nerdctl)/;

/**
 * README's first command on a machine with no engine (issue 15, point 3): every command of PATH
 * except the engines' is there, no engine address is set, so detection falls back to host mode,
 * which runs sandboxed (bubblewrap, from scripts/test-env.sh), and the example prints what it can
 * and cannot see. Under /var/tmp, not /tmp: the sandbox's /tmp is its own.
 *
 * The script builds, and a build replaces dist/cli: run in this checkout it pulled dist/cli/run-cli.js
 * from under the e2e tests running beside it (ERR_MODULE_NOT_FOUND in CI). So it runs in a copy of
 * the tracked tree, with this checkout's node_modules linked in (the script then skips `npm ci`).
 */
describe('quickstart on a machine with no engine', () => {
  const scratch = mkdtempSync('/var/tmp/berth-quickstart-');
  const bin = join(scratch, 'bin');
  const fakeHome = join(scratch, 'user');
  mkdirSync(bin);
  mkdirSync(join(fakeHome, '.ssh'), { recursive: true });
  writeFileSync(join(fakeHome, '.ssh', 'id_ed25519'), 'not a real key\n');
  for (const dir of (process.env['PATH'] ?? '').split(':').filter((d) => d.startsWith('/') && existsSync(d))) {
    for (const name of readdirSync(dir)) {
      if (!ENGINES.test(name) && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
    }
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, HOME: fakeHome, BERTH_HOME: join(scratch, 'home') };
  for (const name of ['DOCKER_HOST', 'CONTAINER_HOST', 'BERTH_DOCKER_API', 'BERTH_PODMAN_API', 'BERTH_RUNTIME', 'BERTH_IMAGE']) delete env[name];
  const tree = join(scratch, 'tree');

  beforeAll(async () => {
    const tracked = (await run(['git', 'ls-files', '-z'], { cwd: REPO })).stdout.split('\0').filter((file) => file !== '' && existsSync(join(REPO, file)));
    for (const file of tracked) {
      mkdirSync(dirname(join(tree, file)), { recursive: true });
      cpSync(join(REPO, file), join(tree, file));
    }
    symlinkSync(join(REPO, 'node_modules'), join(tree, 'node_modules'));
  }, 120_000);

  afterAll(async () => {
    await run([process.execPath, join(tree, 'dist/cli/main.js'), 'rm', 'example'], { env, okExitCodes: 'any', timeoutMs: 60_000 }).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('brings the example up in sandboxed host mode, and the example says what it can and cannot see', async () => {
    const result = await run(['bash', join(tree, 'scripts/quickstart.sh')], { env, cwd: tree, okExitCodes: 'any', timeoutMs: 240_000 });
    const out = `${result.stdout}\n${result.stderr}`;
    expect(result.exitCode, out).toBe(0);
    expect(out).toContain('== berth up example (runtime: host)');
    expect(out).not.toContain('UNCONFINED');
    expect(out).toMatch(/sandboxed \(bubblewrap\)/);
    expect(out).toMatch(/^ {2}can {4}write its own folder$/m);
    expect(out).toMatch(/^ {2}cannot write \/etc \(EROFS\)$/m);
    expect(out).toContain(`  can    list the home (${fakeHome}: 0 entries)`);
    expect(out).toMatch(/^ {2}cannot read ~\/\.ssh \(ENOENT\)$/m);
  }, 300_000);
});
