import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { startDaemon } from '../support/daemon.js';

const REPO = join(import.meta.dirname, '../..');

/**
 * What an app developer gets from `npm install berth`: the packed tarball (npm pack of the built
 * tree, exactly what the registry would serve) installed into a scratch app, then used from there.
 * better-sqlite3 is linked from this checkout's node_modules instead of compiled again (a minute of
 * node-gyp proves nothing about Berth's package); everything else comes from the tarball.
 */
describe('the packed package, installed into a scratch app', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'berth-packed-'));
  const app = join(scratch, 'app');
  const installed = join(app, 'node_modules', 'berth');
  const home = join(scratch, 'home');
  const env = { ...process.env, BERTH_HOME: home, BERTH_RUNTIME: 'host', npm_config_build_from_source: undefined };

  beforeAll(async () => {
    mkdirSync(app);
    mkdirSync(home, { recursive: true });
    const packed = await run(['npm', 'pack', '--json', '--pack-destination', scratch], { cwd: REPO, timeoutMs: 120_000 });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    const sqlite = join(REPO, 'node_modules', 'better-sqlite3');
    await run(['npm', 'install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', join(scratch, filename), `file:${sqlite}`], {
      cwd: app,
      env,
      timeoutMs: 300_000,
    });
  }, 400_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('ships a LICENSE, the docs README links to, the workspace image folder and the examples', () => {
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toContain('Apache License');
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(((?:docs|examples|images)\/[^)#\s]+)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(3);
    for (const link of links) expect(existsSync(join(installed, link)), `README links to ${link}`).toBe(true);
    expect(existsSync(join(installed, 'images', 'workspace', 'Dockerfile'))).toBe(true);
    // No test or source tree leaks into the package.
    const shipped = new Set(['LICENSE', 'README.md', 'dashboard', 'dist', 'docs', 'examples', 'images', 'package.json']);
    expect(readdirSync(installed).filter((entry) => !shipped.has(entry))).toEqual([]);
  });

  it('exports berth, berth/client, berth/package.json and the berthd path', async () => {
    const probe = join(app, 'probe.mjs');
    writeFileSync(
      probe,
      [
        "import { createRequire } from 'node:module';",
        "import { createBerth, berthdPath } from 'berth';",
        "import { connectDaemon } from 'berth/client';",
        'const require = createRequire(import.meta.url);',
        "const pkg = require('berth/package.json');",
        "console.log(JSON.stringify({ createBerth: typeof createBerth, connectDaemon: typeof connectDaemon, version: pkg.version, berthd: require.resolve('berth/berthd'), berthdPath: berthdPath() }));",
      ].join('\n'),
    );
    const out = JSON.parse((await run([process.execPath, probe], { cwd: app, env, timeoutMs: 30_000 })).stdout) as Record<string, string>;
    expect(out.createBerth).toBe('function');
    expect(out.connectDaemon).toBe('function');
    expect(out.version).toBe((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
    expect(resolve(out.berthd ?? '')).toBe(join(installed, 'dist', 'cli', 'berthd.js'));
    expect(out.berthdPath).toBe(out.berthd);
  });

  it('runs the embedding example against the installed package, in-process and through the installed berthd', async () => {
    // The example as an app would copy it: its own folder, importing `berth` from node_modules.
    cpSync(join(installed, 'examples'), join(app, 'examples'), { recursive: true });
    const example = () => run([process.execPath, join(app, 'examples', 'embed', 'embed.mjs'), 'packed-test'], { cwd: app, env, timeoutMs: 60_000 });
    const local = await example();
    expect(local.stdout).toContain('in-process (host)');
    expect(local.stdout).toContain('packed-test: created, running');
    expect(local.stdout).toContain('hello.mjs says: hello from');
    const daemon = await startDaemon(home, env, ['--runtime', 'host'], { berthd: join(installed, 'dist', 'cli', 'berthd.js') });
    try {
      const remote = await example();
      expect(remote.stdout).toContain(`via the daemon (pid ${String(daemon.pid)}, host)`);
      expect(remote.stdout).toContain('packed-test: reused, running');
    } finally {
      await daemon.stop();
    }
  });

  it('names a build context that exists in the installed package when the default image is missing', async () => {
    const berth = join(app, 'node_modules', '.bin', 'berth');
    const help = await run([berth, 'image', 'build', '--help'], { cwd: app, env, timeoutMs: 30_000 });
    expect(help.stdout).toContain('berth image build');
    // Host mode has no images: a clear refusal that names what to do, not a crash.
    const refused = await run([berth, 'image', 'build', '--json'], { cwd: app, env, timeoutMs: 30_000, okExitCodes: 'any' });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('--runtime docker|podman|apple');
    const probe = join(app, 'image-dir.mjs');
    writeFileSync(
      probe,
      "const m = await import(new URL('./node_modules/berth/dist/workspace/image-source.js', import.meta.url));\nconsole.log(m.missingImageHint('podman', 'berth-workspace:latest'));\n",
    );
    const text = (await run([process.execPath, probe], { cwd: app, env, timeoutMs: 30_000 })).stdout;
    const dir = /podman build -t berth-workspace:latest (\S+)`/.exec(text)?.[1];
    expect(dir, text).toBeDefined();
    expect(dirname(join(dir ?? '', 'Dockerfile'))).toBe(join(installed, 'images', 'workspace'));
    expect(existsSync(join(dir ?? '', 'Dockerfile'))).toBe(true);
  });
});
