/**
 * Builds dist/cli, the `berth` and `berthd` executables, after tsc has built the library. Node's
 * ESM loader pays per module (resolve, read, link, and a facade per builtin), and `berth exec` is
 * run hundreds of times by agents (docs/benchmarks.md, "CLI start-up"), so the CLI ships as three
 * CommonJS bundles (dist/cli/package.json says so):
 *
 * - main.js:    `berth`. Holds only `fastExec` and what it needs (config, address card, the
 *               runtime adapters), so `berth exec` on a workspace with an address card parses one
 *               small file. Anything else it hands to run-cli.js, loaded on demand.
 * - run-cli.js: the whole CLI. Each command's modules are initialised only when that command runs
 *               (esbuild turns the lazy `import()`s into lazily run module bodies).
 * - berthd.js:  `berthd`, which is `berth daemon` through run-cli.js.
 *
 * main.js and run-cli.js each carry their own copy of the modules both use; fastExec hands over
 * before creating anything, so no object crosses between them.
 *
 * Kept out of the bundles: better-sqlite3 and node-pty (native), ws (optional native add-ons it
 * probes for), zod and yaml (large, needed only by some
 * commands: required from node_modules when a module needing them first runs). The library
 * (dist/index.js, dist/client) stays tsc's output; tsconfig.build.json leaves src/cli to this tool.
 *
 * Files found through `new URL('<relative>', import.meta.url)` (package.json, the dashboard, the Apple
 * version gates, berthd.js) are written relative to each module's own place under dist/; in a bundle
 * every module lives in dist/cli, so each such path is rewritten relative to there. Any other use of
 * import.meta stops the build rather than resolve wrongly at run time.
 *
 * Usage: npx tsx tools/bundle-cli.ts   (run by `npm run build`, after tsc)
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'cli');
const ENTRIES = ['main', 'run-cli', 'berthd'] as const;
/** The whole CLI: its own bundle, which the other two load rather than include. */
const WHOLE_CLI = './run-cli.js';
// jsonc-parser: its main build is UMD, which requires its own files at run time (./impl/format): bundled, they are not there.
// node-pty: a native add-on; ws: probes for optional native add-ons.
const EXTERNAL = ['better-sqlite3', 'zod', 'yaml', 'node-pty', 'jsonc-parser', 'ws'];
/** What `import.meta.url` becomes in CommonJS: this bundle's own file URL, set by the banner. */
const META_URL = '__berthModuleUrl';

/** `new URL('./x' or '../x', import.meta.url)`: the one form of import.meta a bundled module may use to find a file. */
const RELATIVE_URL = /new URL\((['"])(\.{1,2}\/[^'"]*)\1,\s*import\.meta\.url\)/g;
/** The other use that is safe anywhere in dist/: node_modules resolves from dist/cli as from dist/state. */
const CREATE_REQUIRE = 'createRequire(import.meta.url)';

/** Where tsc would put `file` under dist/ (src/a/b.ts → dist/a). */
function distDirOf(file: string): string {
  return dirname(join(DIST, relative(SRC, file)));
}

const relocateFileUrls: Plugin = {
  name: 'relocate-file-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta')) return undefined;
      const rewritten = source.replace(RELATIVE_URL, (_match, quote: string, path: string) => {
        let moved = relative(OUT, resolve(distDirOf(args.path), path)).replaceAll('\\', '/');
        if (!moved.startsWith('.')) moved = `./${moved}`;
        if (path.endsWith('/') && !moved.endsWith('/')) moved += '/';
        return `new URL(${quote}${moved}${quote}, import.meta.url)`;
      });
      const leftover = rewritten.replace(RELATIVE_URL, '').replaceAll(CREATE_REQUIRE, '');
      if (leftover.includes('import.meta')) {
        throw new Error(`${relative(ROOT, args.path)} uses import.meta in a way tools/bundle-cli.ts cannot relocate into dist/cli; use new URL('<relative path>', import.meta.url).`);
      }
      return { contents: rewritten, loader: 'ts' };
    });
  },
};

/** main.js and berthd.js load the whole CLI from its own file instead of including it. */
const wholeCliApart: Plugin = {
  name: 'whole-cli-apart',
  setup(build) {
    build.onResolve({ filter: /^\.\/run-cli\.js$/ }, (args) => (dirname(args.importer) === join(SRC, 'cli') ? { path: WHOLE_CLI, external: true } : undefined));
  },
};

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

for (const entry of ENTRIES) {
  await build({
    absWorkingDir: ROOT,
    entryPoints: [`src/cli/${entry}.ts`],
    outfile: join(OUT, `${entry}.js`),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    define: { 'import.meta.url': META_URL },
    banner: { js: `const ${META_URL} = require('node:url').pathToFileURL(__filename).href;` },
    sourcemap: true,
    tsconfig: 'tsconfig.build.json',
    plugins: entry === 'run-cli' ? [relocateFileUrls] : [relocateFileUrls, wholeCliApart],
    logLevel: 'warning',
  });
}
process.stdout.write(`bundle-cli: ${ENTRIES.map((entry) => `${entry}.js`).join(', ')} in ${relative(ROOT, OUT)}\n`);
