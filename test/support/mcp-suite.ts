import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/process/index.js';
import { Store } from '../../src/state/store.js';
import { TEST_IMAGE, engineEnv } from './engines.js';

/**
 * The MCP server's behaviour, the same whatever carries it: the suite takes a transport (stdio: the
 * built `berth mcp`; HTTP: the built berthd's /workspaces/{id}/mcp) and runs every tool test over
 * it, on podman, docker and sandboxed host mode. `npm run build` first.
 */
export const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');

export interface McpTarget {
  label: string;
  runtime: string;
  image?: string;
}

export const MCP_TARGETS: McpTarget[] = [
  { label: 'podman', runtime: 'podman', image: TEST_IMAGE },
  { label: 'docker', runtime: 'docker', image: TEST_IMAGE },
  { label: 'host (sandboxed)', runtime: 'host' },
];

export const TOOLS = [
  'exec',
  'file_read',
  'file_write',
  'file_edit',
  'file_list',
  'file_delete',
  'file_search',
  'devserver_start',
  'devserver_list',
  'devserver_logs',
  'devserver_stop',
  'devserver_restart',
  'workspace_status',
  'egress_request',
];

export interface ToolResult {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text?: string }[];
}

/** What a transport's own tests see of the suite's workspace. */
export interface McpSuiteContext {
  readonly id: string;
  readonly runtime: string;
  readonly home: string;
  readonly root: string;
  readonly env: Record<string, string>;
  readonly client: Client;
  berth: (...args: string[]) => ReturnType<typeof run>;
}

export interface McpTransportSetup {
  /** In the suite's name: "stdio", "HTTP". */
  name: string;
  /** Before the workspace is made (the HTTP suite starts its daemon here). */
  before?: (context: McpSuiteContext) => Promise<void>;
  /** Connects the suite's client (made with the capabilities the test needs) to the workspace's server. */
  connect: (context: McpSuiteContext, client: Client) => Promise<void>;
  /** After the client closed and the workspace is removed. */
  after?: (context: McpSuiteContext) => Promise<void>;
  /** The transport's own tests, registered inside each target's suite. */
  more?: (context: McpSuiteContext) => void;
}

export function describeMcpSuite(setup: McpTransportSetup): void {
  describe.each(MCP_TARGETS)(`$label: berth mcp over ${setup.name}`, ({ runtime, image }) => {
    // Made when the suite runs (a suite left out by -t makes nothing).
    let scratch = '';
    let home = '';
    let root = '';
    let otherRoot = '';
    const id = `mcp-${randomUUID().slice(0, 8)}`;
    const env: Record<string, string> = { ...(engineEnv() as Record<string, string>), BERTH_RUNTIME: runtime };
    let client: Client;
    let loopback: Server;
    let loopbackPort = 0;

    const berth = (...args: string[]) => run(['node', MAIN, ...args], { env, timeoutMs: 180_000, okExitCodes: 'any' });
    const context: McpSuiteContext = {
      id,
      runtime,
      get home() {
        return home;
      },
      get root() {
        return root;
      },
      env,
      get client() {
        return client;
      },
      berth,
    };
    const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => (await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 })) as ToolResult;
    const errorText = (result: ToolResult): string => result.content.map((c) => c.text ?? '').join('\n');
    const sh = async (command: string) => (await call('exec', { command })).structuredContent as { exit_code: number; stdout: string; stderr: string };

    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'berth-mcp-'));
      home = join(scratch, 'home');
      root = join(scratch, 'project');
      otherRoot = join(scratch, 'other-project');
      env['BERTH_HOME'] = home;
      mkdirSync(root);
      mkdirSync(otherRoot);
      writeFileSync(join(root, 'AGENTS.md'), '# Agents\nRun npm test.\n');
      writeFileSync(join(otherRoot, 'secret.txt'), 'another workspace');
      // The target of the egress request: a listener on this host's loopback, which only an exact rule opens.
      loopback = createServer((_, res) => res.end('reached'));
      await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
      loopbackPort = (loopback.address() as { port: number }).port;
      await setup.before?.(context);
      const up = await berth('up', id, '--root', root, ...(image ? ['--image', image] : []), '--allow', 'example.invalid:443');
      expect(up.exitCode, up.stderr).toBe(0);
      client = new Client({ name: 'berth-test', version: '0' });
      await setup.connect(context, client);
    });

    afterAll(async () => {
      await client?.close().catch(() => undefined);
      await berth('rm', id).catch(() => undefined);
      await setup.after?.(context).catch(() => undefined);
      loopback?.close();
      if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
    });

    it('lists every tool with JSON schemas; none takes a workspace', async () => {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const name of TOOLS) expect(names).toContain(name);
      const exec = tools.find((t) => t.name === 'exec');
      expect(exec?.inputSchema.properties).toHaveProperty('command');
      expect(exec?.inputSchema.properties).toHaveProperty('timeout_ms');
      expect(exec?.outputSchema?.properties).toHaveProperty('exit_code');
      for (const tool of tools) expect(Object.keys(tool.inputSchema.properties ?? {})).not.toContain('workspace');
      // No agent-side way to decide egress.
      expect(names.filter((n) => /approve|allow|deny|egress_(?!request)/.test(n))).toEqual([]);
    });

    it('file_write then exec cat round-trips (UTF-8, and bytes with base64)', async () => {
      const text = 'héllo wörld\nline two\n';
      expect((await call('file_write', { path: 'notes/a.txt', content: text })).isError).toBeFalsy();
      // Relative to the working folder /workspace (host mode binds the root at its own path, so `cat` by a
      // relative path is what works everywhere).
      expect((await sh('cat notes/a.txt')).stdout).toBe(text);
      await call('file_write', { path: '/tmp/raw.bin', content: Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64'), encoding: 'base64' });
      expect((await sh('od -An -tx1 /tmp/raw.bin')).stdout.trim().split(/\s+/)).toEqual(['ff', 'fe', '00', '41']);
      const raw = await call('file_read', { path: '/tmp/raw.bin', encoding: 'base64' });
      expect(Buffer.from(String(raw.structuredContent?.['content']), 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x41]));
      const lines = await call('file_read', { path: 'notes/a.txt', start_line: 2, end_line: 2 });
      expect(lines.structuredContent).toMatchObject({ content: 'line two', total_lines: 3 });
      const edit = await call('file_edit', { path: 'notes/a.txt', old_text: 'wörld', new_text: 'there' });
      expect(edit.structuredContent).toMatchObject({ replacements: 1 });
      const missing = await call('file_edit', { path: 'notes/a.txt', old_text: 'nope', new_text: 'x' });
      expect(missing.isError).toBe(true);
      expect((await sh('cat notes/a.txt')).stdout).toBe('héllo there\nline two\n');
      const list = await call('file_list', { path: 'notes' });
      expect(list.structuredContent?.['entries']).toEqual([expect.objectContaining({ name: 'a.txt', type: 'file' })]);
      const search = await call('file_search', { pattern: 'line t[w]o' });
      expect(search.structuredContent?.['matches']).toEqual([{ path: '/workspace/notes/a.txt', line: 2, text: 'line two' }]);
      expect((await call('file_delete', { path: 'notes/a.txt' })).isError).toBeFalsy();
      const gone = await call('file_read', { path: 'notes/a.txt' });
      expect(gone.isError).toBe(true);
      expect(errorText(gone)).toMatch(/E_NOT_FOUND[\s\S]*Hint:/);
    });

    it('exec: exit codes, capped output, and a timeout ends the process in the workspace', async () => {
      expect((await sh('echo out; echo err >&2; exit 3'))).toMatchObject({ exit_code: 3, stdout: 'out\n', stderr: 'err\n' });
      const big = (await call('exec', { argv: ['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" x'] })).structuredContent;
      expect(big).toMatchObject({ exit_code: 0, truncated: true });
      expect(String(big?.['stdout']).length).toBeLessThan(70_000);
      const marker = `4${String(Date.now() % 100_000).padStart(5, '0')}`;
      const timedOut = await call('exec', { command: `sleep ${marker}`, timeout_ms: 500 });
      expect(timedOut.isError).toBe(true);
      expect(errorText(timedOut)).toContain('E_TIMEOUT');
      const table = await sh(`for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline 2>/dev/null; echo; done`);
      expect(table.stdout).not.toContain(`sleep ${marker}`);
      const both = await call('exec', { command: 'true', argv: ['true'] });
      expect(both.isError).toBe(true);
    });

    it('background processes: output as it comes (since/next), listed, killed and gone from the workspace', async () => {
      const marker = `5${String(Date.now() % 100_000).padStart(5, '0')}`;
      const started = await call('exec', { command: `echo begin; echo oops >&2; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done # ${marker}`, background: true });
      expect(started.isError, errorText(started)).toBeFalsy();
      const processId = String(started.structuredContent?.['process_id']);
      expect(processId).toMatch(/^[0-9a-f-]{36}$/);
      const first = (await call('process_output', { process_id: processId, wait_ms: 10_000 })).structuredContent ?? {};
      expect(first).toMatchObject({ running: true, exit_code: null });
      let seen = `${String(first['stdout'])}`;
      let stderr = String(first['stderr']);
      let next = Number(first['next']);
      // Only what is new after `next` comes back, and it keeps coming while the process runs.
      while (!/tick 2\n/.test(seen) || !stderr.includes('oops')) {
        const more = (await call('process_output', { process_id: processId, since: next, wait_ms: 10_000 })).structuredContent ?? {};
        expect(Number(more['next'])).toBeGreaterThanOrEqual(next);
        seen += String(more['stdout']);
        stderr += String(more['stderr']);
        next = Number(more['next']);
      }
      expect(seen.startsWith('begin\n')).toBe(true);
      expect(seen.match(/^tick 1$/gm)).toHaveLength(1);
      const listed = (await call('process_list')).structuredContent?.['processes'] as { process_id: string; running: boolean }[];
      expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ process_id: processId, running: true })]));
      const killed = await call('process_kill', { process_id: processId });
      expect(killed.structuredContent).toMatchObject({ process_id: processId, running: false });
      const table = await sh(`for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline 2>/dev/null; echo; done`);
      expect(table.stdout).not.toContain(`# ${marker}`);
      expect((await call('process_output', { process_id: 'no-such-process' })).isError).toBe(true);
    });

    it('devserver_start returns a URL that answers from the host', async () => {
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const started = await call('devserver_start', { name: 'web', command: `python3 -m http.server ${String(port)} --bind 0.0.0.0`, port });
      expect(started.isError, errorText(started)).toBeFalsy();
      expect(started.structuredContent).toMatchObject({ state: 'running', port });
      const url = String(started.structuredContent?.['url']);
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      expect(response.status).toBe(200);
      expect((await call('devserver_list')).structuredContent?.['servers']).toEqual([expect.objectContaining({ name: 'web', state: 'running', url })]);
      const status = await call('workspace_status');
      expect(status.structuredContent).toMatchObject({ workspace: id, state: 'running', previews: [{ name: 'web', url }] });
      expect((await call('devserver_stop', { name: 'web' })).structuredContent).toMatchObject({ state: 'stopped' });
    });

    it('egress_request stays pending and closed; deny keeps it closed; berth egress approve lets it through', async () => {
      const target = `127.0.0.1:${String(loopbackPort)}`;
      const reach = async () => (await sh(`curl -sS -m 10 --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w '%{http_code}' http://${target}/`)).stdout;
      expect(await reach()).not.toBe('200');
      const first = await call('egress_request', { target, reason: 'the test server' });
      expect(first.isError, errorText(first)).toBeFalsy();
      expect(first.structuredContent).toMatchObject({ state: 'pending', target });
      const firstId = String(first.structuredContent?.['request_id']);
      expect(await reach()).not.toBe('200');
      const listed = await berth('egress', 'requests', id, '--json');
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: firstId, state: 'pending', target, reason: 'the test server' })]);
      const denied = await berth('egress', 'deny', id, firstId);
      expect(denied.exitCode, denied.stderr).toBe(0);
      expect(await reach()).not.toBe('200');
      expect((await berth('egress', 'approve', id, firstId)).exitCode).not.toBe(0);

      const second = String((await call('egress_request', { target, reason: 'again, please' })).structuredContent?.['request_id']);
      const approved = await berth('egress', 'approve', id, second);
      expect(approved.exitCode, approved.stderr).toBe(0);
      expect(await reach()).toBe('200');
      const store = Store.open(home);
      try {
        const types = store.events.events({ workspace: id }).map((e) => e.type);
        expect(types.filter((t) => t.startsWith('egress.request'))).toEqual(['egress.requested', 'egress.request-denied', 'egress.requested', 'egress.request-approved']);
      } finally {
        store.close();
      }
      // What is asked for must be a rule a person could type; anything else is refused, saying why.
      const bad = await call('egress_request', { target: 'not a rule!', reason: 'junk' });
      expect(bad.isError).toBe(true);
      expect(errorText(bad)).toContain('E_INVALID_INPUT');
    });

    it('egress_request asks the person through the client when it can (elicitation): deny keeps it closed, approve opens it', async () => {
      // A target of its own: the test above already opened the first listener.
      const other = createServer((_, res) => res.end('reached'));
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      const target = `127.0.0.1:${String((other.address() as { port: number }).port)}`;
      const asked: string[] = [];
      let answer: ElicitResult = { action: 'accept', content: { decision: 'deny' } };
      // The person's client: it can ask its user, and the test answers as the user.
      const person = new Client({ name: 'berth-test-person', version: '0' }, { capabilities: { elicitation: { form: {} } } });
      person.setRequestHandler(ElicitRequestSchema, (request) => {
        asked.push(request.params.message);
        return answer;
      });
      try {
        await setup.connect(context, person);
        const reach = async () => (await sh(`curl -sS -m 10 --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w '%{http_code}' http://${target}/`)).stdout;
        const ask = async (reason: string) => ((await person.callTool({ name: 'egress_request', arguments: { target, reason } }, undefined, { timeout: 180_000 })) as ToolResult).structuredContent;
        expect(await ask('first try')).toMatchObject({ state: 'denied', target });
        expect(asked).toEqual([expect.stringContaining(target)]);
        expect(asked[0]).toContain('first try');
        expect(await reach()).not.toBe('200');
        answer = { action: 'decline' };
        expect(await ask('second try')).toMatchObject({ state: 'denied' });
        // Dismissed without a choice: it stays for a person to decide with the CLI.
        answer = { action: 'cancel' };
        const pending = await ask('third try');
        expect(pending).toMatchObject({ state: 'pending' });
        expect(await reach()).not.toBe('200');
        answer = { action: 'accept', content: { decision: 'approve' } };
        expect(await ask('fourth try')).toMatchObject({ state: 'approved', target });
        expect(await reach()).toBe('200');
        expect(asked).toHaveLength(4);
        const listed = JSON.parse((await berth('egress', 'requests', id, '--json')).stdout) as { id: string; state: string; target: string }[];
        expect(listed.filter((r) => r.target === target).map((r) => r.state).sort()).toEqual(['approved', 'denied', 'denied', 'pending']);
        expect(listed.find((r) => r.id === pending?.['request_id'])?.state).toBe('pending');
      } finally {
        await person.close().catch(() => undefined);
        other.close();
      }
    });

    it('refuses paths outside the workspace and another workspace', async () => {
      const other = join(otherRoot, 'secret.txt');
      const read = await call('file_read', { path: other });
      expect(read.isError).toBe(true);
      // Containers and host mode's private /tmp do not show another workspace's root at all.
      expect(errorText(read)).toMatch(/E_NOT_FOUND|E_INVALID_INPUT[\s\S]*outside workspace/);
      if (runtime === 'host') {
        expect(errorText(await call('file_write', { path: '/etc/berth-x', content: 'x' }))).toContain('outside workspace');
        expect(errorText(await call('exec', { command: 'pwd', cwd: otherRoot }))).toContain('outside workspace');
      }
      // Tools take no workspace: one named in the arguments is ignored, the call stays in this one.
      const resources = await client.listResources();
      expect(resources.resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['berth://workspace/AGENTS.md', 'berth://egress/denials']));
      const agents = await client.readResource({ uri: 'berth://workspace/AGENTS.md' });
      expect(agents.contents[0]).toMatchObject({ text: '# Agents\nRun npm test.\n' });
    });

    setup.more?.(context);
  });
}
