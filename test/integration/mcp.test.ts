import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { describeMcpSuite, MAIN, TOOLS } from '../support/mcp-suite.js';

const INSPECTOR = join(import.meta.dirname, '../../node_modules/@modelcontextprotocol/inspector-cli/build/index.js');

describeMcpSuite({
  name: 'stdio',
  connect: async ({ id, env }, client) => {
    await client.connect(new StdioClientTransport({ command: 'node', args: [MAIN, 'mcp', '--workspace', id], env, stderr: 'pipe' }));
  },
  // The CLI's `berth up` started a daemon on demand.
  after: async ({ berth }) => void (await berth('daemon', 'stop')),
  more: ({ id, env }) => {
    it('a second client (inspector-cli) lists and calls the tools', async () => {
      // inspector-cli 1.0.3 checks `../package.json` against its working folder but imports it relative
      // to itself: run it from a folder whose parent has one (test/ here), or it cannot start.
      const inspector = (...args: string[]) =>
        run(['node', INSPECTOR, 'node', MAIN, 'mcp', ...args, '--', '--workspace', id], { env, cwd: join(import.meta.dirname, '..'), timeoutMs: 120_000, okExitCodes: 'any' });
      const listed = await inspector('--method', 'tools/list');
      expect(listed.exitCode, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual(expect.arrayContaining(TOOLS));
      const called = await inspector('--method', 'tools/call', '--tool-name', 'exec', '--tool-arg', 'command=echo from-inspector');
      expect(called.exitCode, called.stderr).toBe(0);
      expect(JSON.parse(called.stdout)).toMatchObject({ structuredContent: { exit_code: 0, stdout: 'from-inspector\n' } });
    });
  },
});

describe('host (unconfined): berth mcp refuses to serve', () => {
  it('says why and how to fix it, and serves nothing', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'berth-mcp-open-'));
    const id = `mcp-${randomUUID().slice(0, 8)}`;
    const env = { ...process.env, BERTH_HOME: join(scratch, 'home'), BERTH_RUNTIME: 'host', BERTH_NO_DAEMON: '1' };
    const berth = (...args: string[]) => run(['node', MAIN, ...args], { env, timeoutMs: 60_000, okExitCodes: 'any' });
    try {
      mkdirSync(join(scratch, 'project'));
      expect((await berth('up', id, '--root', join(scratch, 'project'), '--unconfined')).exitCode).toBe(0);
      const served = await berth('mcp', '--workspace', id);
      expect(served.exitCode).not.toBe(0);
      expect(served.stdout).toBe('');
      expect(served.stderr).toContain('unconfined');
      expect(served.stderr).toContain('sandboxed');
    } finally {
      await berth('rm', id);
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
