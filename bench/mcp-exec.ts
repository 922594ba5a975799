/**
 * What an agent's `exec` costs through MCP (issue 16), side by side in one run, one workspace per engine:
 *   raw:        `<engine> exec <container> true` spawned (execFile, as a caller would by hand)
 *   library:    berth.exec(id, ['true'])                      (in-process, the engine's API socket)
 *   mcp stdio:  tools/call exec {argv: ['true']} to `berth mcp --workspace <id>` (the built CLI, one
 *               long-lived server process, as an agent starts it), the SDK Client over stdio
 *   mcp http:   the same call to the built berthd's /workspaces/<id>/mcp (streamable HTTP, token,
 *               loopback listener on a port it picks), the SDK Client with StreamableHTTPClientTransport
 * The four sides rotate their order every iteration, so drift on a busy machine lands on all of them.
 * The workspace, the daemon and the stdio server are removed afterwards, on error or Ctrl-C too.
 *
 * Usage: npm run build && npx tsx bench/mcp-exec.ts [--iterations 30] [--warmup 3] [--engines podman,docker]
 * Exits 0 whatever the numbers say (it is a report); non-zero only when something failed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createBerth } from '../src/berth.js';
import { OciRuntime, type OciKind } from '../src/runtime/oci/oci-runtime.js';
import { BERTHD_BIN, startDaemon } from '../test/support/daemon.js';
import { TEST_IMAGE, engineEnv } from '../test/support/engines.js';
import { checkInterrupted, commandLine, execFileAsync, fmt, headerLine, iterate, median, percentile, rotated, runBenchmark } from './support.js';

const MAIN = join(import.meta.dirname, '../dist/cli/main.js');
const SIDES = ['raw', 'library', 'mcp stdio', 'mcp http'] as const;
type Side = (typeof SIDES)[number];

interface Row {
  engine: OciKind;
  samples: Record<Side, number[]>;
}

async function callExec(client: Client): Promise<void> {
  const result = (await client.callTool({ name: 'exec', arguments: { argv: ['true'] } })) as { isError?: boolean; structuredContent?: { exit_code?: number } };
  if (result.isError === true || result.structuredContent?.exit_code !== 0) throw new Error(`MCP exec true failed: ${JSON.stringify(result)}`);
}

async function benchEngine(kind: OciKind, iterations: number, warmup: number): Promise<Row[]> {
  const scratch = mkdtempSync(join(tmpdir(), `berth-bench-mcp-${kind}-`));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  const env = { ...(engineEnv() as Record<string, string>), BERTH_HOME: home, BERTH_RUNTIME: kind };
  const id = `bench-mcp-${randomUUID().slice(0, 8)}`;
  const berth = await createBerth({ home, runtime: kind, env });
  const cleanups: (() => Promise<unknown>)[] = [];
  const samples: Record<Side, number[]> = { raw: [], library: [], 'mcp stdio': [], 'mcp http': [] };
  try {
    process.stderr.write(`${kind}: bringing up ${id} from ${TEST_IMAGE}, starting berthd and berth mcp\n`);
    cleanups.push(() => berth.remove(id));
    await berth.up(id, { root, image: TEST_IMAGE });
    const container = (await berth.status(id)).container;
    const bin = new OciRuntime(kind, { env }).binary;
    checkInterrupted();
    const daemon = await startDaemon(home, env, ['--http', '127.0.0.1:0']);
    cleanups.push(() => daemon.stop());
    const http = new Client({ name: 'bench', version: '0' });
    await http.connect(
      new StreamableHTTPClientTransport(new URL(`${daemon.http ?? ''}/workspaces/${id}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${readFileSync(join(home, 'daemon.token'), 'utf8').trim()}` } },
      }),
    );
    cleanups.push(() => http.close());
    const stdio = new Client({ name: 'bench', version: '0' });
    await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [MAIN, 'mcp', '--workspace', id], env, stderr: 'inherit' }));
    cleanups.push(() => stdio.close());

    const run: Record<Side, () => Promise<unknown>> = {
      raw: () => execFileAsync(bin, ['exec', container, 'true'], { env }),
      library: async () => {
        const result = await berth.exec(id, ['true']);
        if (result.exitCode !== 0) throw new Error(`berth.exec true exited ${String(result.exitCode)}`);
      },
      'mcp stdio': () => callExec(stdio),
      'mcp http': () => callExec(http),
    };
    await iterate(iterations, warmup, async ({ index, record }) => {
      for (const side of rotated(SIDES, index)) {
        const started = performance.now();
        await run[side]();
        if (record) samples[side].push(performance.now() - started);
      }
      if (record && (index + 1) % 10 === 0) process.stderr.write(`${kind}: ${String(index + 1)}/${String(iterations)}\n`);
    });
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => {
        process.stderr.write(`${kind}: while cleaning up: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = 1;
      });
    }
    await berth.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  return [{ engine: kind, samples }];
}

function report(rows: readonly Row[], iterations: number, warmup: number): void {
  const lines = [headerLine('MCP exec round trip', iterations, warmup), '', `Command: \`${commandLine()}\`; ms per \`true\`, call to answer.`, ''];
  lines.push('| engine | side | median | p90 | median - raw | median - library |');
  lines.push('|---|---|---:|---:|---:|---:|');
  for (const { engine, samples } of rows) {
    const raw = median(samples.raw);
    const library = median(samples.library);
    for (const side of SIDES) {
      const m = median(samples[side]);
      lines.push(`| ${engine} | ${side} | ${fmt(m)} | ${fmt(percentile(samples[side], 0.9))} | ${side === 'raw' ? '' : fmt(m - raw)} | ${side === 'raw' || side === 'library' ? '' : fmt(m - library)} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

runBenchmark({
  defaults: { iterations: 30, warmup: 3 },
  cleanup: 'removing the workspace and stopping the daemon',
  preflight: () => {
    for (const built of [MAIN, BERTHD_BIN]) if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first.`);
  },
  benchEngine,
  report,
});
