import { posix } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Berth } from '../berth.js';
import { BerthError, isBerthError } from '../errors.js';
import { requestEgress, settleEgressRequest } from '../egress/requests.js';
import { hostPathFor } from '../runtime/host/host-runtime.js';
import { resolveWorkspacePath } from '../workspace/files.js';
import type { ProcessExit } from '../workspace/processes.js';
import { BackgroundProcesses, MAX_OUTPUT_WAIT_MS } from './background.js';
import { capText } from './cap.js';

/**
 * The MCP server of one workspace: an agent (Claude Code, Codex, Cursor) works inside exactly the
 * workspace a person started it for. No tool takes a workspace name, and none changes mounts,
 * egress rules or resources: those are the person's (berth.yaml, the CLI). The agent may only ask
 * for egress (`egress_request`); a person approves with `berth egress approve`.
 */

/** What a tool's output may hold before it is cut (each of stdout and stderr, a file's text). */
export const OUTPUT_CAP_BYTES = 64 * 1024;
const FILE_READ_CAP_BYTES = 256 * 1024;
const DEFAULT_EXEC_TIMEOUT_MS = 120_000;
const MAX_EXEC_TIMEOUT_MS = 30 * 60_000;
const LIST_LIMIT = 2_000;
const SEARCH_LIMIT = 200;

export interface WorkspaceServerOptions {
  /** The package version, for the server's identity. */
  version: string;
  /**
   * Opens an approved target (the ordinary egress change, in force when it resolves). Default: this
   * Berth's `changeEgress`, right where it serves the proxy (the daemon); the CLI goes through the daemon.
   */
  allowEgress?: ((target: string) => Promise<unknown>) | undefined;
}

/** How long an egress question waits for the person in their client before the request just stays pending. */
const ELICIT_TIMEOUT_MS = 10 * 60_000;

/** Paths the tools may name: where the workspace's files are, as the server decides per runtime. */
export interface PathScope {
  /** The workspace's folder inside it (/workspace, or a devcontainer's workspaceFolder): relative paths start there. */
  root: string;
  /** The absolute workspace path, or a BerthError saying why it is not the agent's. */
  check(path: string): string;
  /** A working folder for exec: in host mode only inside the mounts (the host checks and maps it). */
  cwd(path: string): string;
  /** Where a command in the workspace sees a workspace path (host mode: the mount's own path), and back. */
  toCommand(path: string): string;
  fromCommand(path: string): string;
}

/**
 * Containers: the container is the workspace, every path in it is the agent's. Sandboxed host mode:
 * the sandbox shows the host's system read-only (and other folders of this machine that are not
 * hidden), so the agent's paths are the workspace's mounts and its private /tmp only.
 */
export async function pathScope(berth: Berth, workspace: string): Promise<PathScope> {
  const status = await berth.status(workspace);
  const root = berth.workspaceFolder(workspace);
  const resolve = (path: string): string => resolveWorkspacePath(path, root);
  if (status.isolation === 'container') return { root, check: resolve, cwd: resolve, toCommand: (p) => p, fromCommand: (p) => p };
  const info = await berth.runtime.inspect(status.container);
  const mounts = info.mounts.map((m) => ({ source: m.source.replace(/(.)\/$/, '$1'), target: posix.normalize(m.target).replace(/(.)\/$/, '$1') }));
  const under = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);
  const within = (allowed: readonly string[]) => (path: string): string => {
    const absolute = resolve(path);
    if (allowed.some((root) => under(absolute, root))) return absolute;
    throw new BerthError('E_INVALID_INPUT', `${absolute} is outside workspace "${workspace}" (a host-mode workspace's files are ${allowed.join(', ')}).`, {
      hint: `Use a path under ${root} (relative paths start there)${allowed.includes('/tmp') ? ' or /tmp' : ''}.`,
      details: { path: absolute },
    });
  };
  const targets = mounts.map((m) => m.target);
  const bySource = [...mounts].sort((a, b) => b.source.length - a.source.length);
  return {
    root,
    check: within([...targets, '/tmp']),
    cwd: within(targets),
    toCommand: (path) => hostPathFor(info.mounts, path),
    fromCommand: (path) => {
      const mount = bySource.find((m) => under(path, m.source));
      return mount ? posix.join(mount.target, path.slice(mount.source.length)) : path;
    },
  };
}

/** A tool's answer: structured content for programs, the same as JSON text for older clients. */
function ok(structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured, null, 2) }], structuredContent: structured };
}

/** A BerthError as the agent sees it: the message and the hint, `isError` set. */
export function toolError(error: unknown): CallToolResult {
  const text = isBerthError(error)
    ? `${error.code}: ${error.message}${error.hint ? `\nHint: ${error.hint}` : ''}`
    : `E_INTERNAL: ${error instanceof Error ? error.message : String(error)}`;
  return { content: [{ type: 'text', text }], isError: true };
}

function guarded<A>(work: (args: A) => Promise<CallToolResult>): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return await work(args);
    } catch (error) {
      return toolError(error);
    }
  };
}

const envShape = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional().describe('Extra environment variables for this command.');

const devServerShape = {
  name: z.string(),
  state: z.string(),
  url: z.string().nullable(),
  port: z.number().nullable(),
  command: z.array(z.string()),
  exit_code: z.number().nullable(),
};

export async function createWorkspaceServer(berth: Berth, workspace: string, options: WorkspaceServerOptions): Promise<McpServer> {
  const scope = await pathScope(berth, workspace);
  const backgroundProcesses = new BackgroundProcesses(() => berth.processes(workspace));
  const server = new McpServer(
    { name: 'berth', version: options.version },
    {
      instructions:
        `You work inside the Berth workspace "${workspace}" (runtime ${berth.runtime.kind}). Files live under ${scope.root}; relative paths start there. ` +
        'Network access outside the workspace follows rules a person set: when a connection is refused, read the berth://egress/denials resource and ask with egress_request; a person decides.',
    },
  );
  const devView = (s: { name: string; state: string; url: string | null; port: number | null; detectedPort: number | null; command: string[]; exitCode: number | null }) => ({
    name: s.name,
    state: s.state,
    url: s.url,
    port: s.detectedPort ?? s.port,
    command: s.command,
    exit_code: s.exitCode,
  });

  server.registerTool(
    'exec',
    {
      title: 'Run a command',
      description:
        'Runs a command in the workspace and returns its exit code and output (each stream capped at 64 KiB; `truncated` says when). ' +
        'Give `command` (run by sh -c) or `argv`. On timeout the command and its children are ended in the workspace. ' +
        'With `background: true` it returns at once with a `process_id` (read its output with process_output, end it with process_kill); use devserver_start for servers that listen.',
      inputSchema: {
        command: z.string().optional().describe('A shell command line, run with sh -c.'),
        argv: z.array(z.string()).min(1).optional().describe('The program and its arguments, without a shell.'),
        cwd: z.string().optional().describe(`Working folder (default ${scope.root}).`),
        env: envShape,
        timeout_ms: z.number().int().positive().max(MAX_EXEC_TIMEOUT_MS).optional().describe(`Default ${String(DEFAULT_EXEC_TIMEOUT_MS)}.`),
        background: z.boolean().optional().describe('Run in the background: answers {process_id} at once (timeout_ms does not apply).'),
      },
      outputSchema: {
        exit_code: z.number().optional(),
        stdout: z.string().optional(),
        stderr: z.string().optional(),
        truncated: z.boolean().optional(),
        duration_ms: z.number().optional(),
        process_id: z.string().optional().describe('With background: true, what process_output and process_kill take.'),
      },
    },
    guarded(async ({ command, argv, cwd, env, timeout_ms, background }) => {
      if ((command === undefined) === (argv === undefined)) throw new BerthError('E_INVALID_INPUT', 'exec takes exactly one of `command` and `argv`.', { hint: 'command: "npm test", or argv: ["npm", "test"].' });
      if (background === true) {
        const handle = await berth.spawn(workspace, argv ?? ['sh', '-c', command ?? ''], { cwd: scope.cwd(cwd ?? scope.root), env });
        backgroundProcesses.adopt(handle);
        return ok({ process_id: handle.id });
      }
      const result = await berth.exec(workspace, argv ?? ['sh', '-c', command ?? ''], {
        workdir: scope.cwd(cwd ?? scope.root),
        env,
        timeoutMs: timeout_ms ?? DEFAULT_EXEC_TIMEOUT_MS,
      });
      const stdout = capText(result.stdout, OUTPUT_CAP_BYTES);
      const stderr = capText(result.stderr, OUTPUT_CAP_BYTES);
      return ok({ exit_code: result.exitCode, stdout: stdout.text, stderr: stderr.text, truncated: stdout.truncated || stderr.truncated, duration_ms: Math.round(result.durationMs) });
    }),
  );

  const exitShape = { running: z.boolean(), exit_code: z.number().nullable(), signal: z.string().nullable() };
  const exitView = (exit: ProcessExit | null) => ({ running: exit === null, exit_code: exit?.exitCode ?? null, signal: exit?.signal ?? null });
  server.registerTool(
    'process_output',
    {
      title: 'Read a background process\'s output',
      description:
        'The output of a process exec {background: true} started, after `since` (the `next` of your last call; 0 or absent: everything kept), each stream capped at 64 KiB. ' +
        '`wait_ms` waits for new output or the end, up to 30 s. `dropped` says output was let go of since (more than 1 MiB came).',
      inputSchema: { process_id: z.string(), since: z.number().int().min(0).optional(), wait_ms: z.number().int().min(0).max(MAX_OUTPUT_WAIT_MS).optional() },
      outputSchema: { stdout: z.string(), stderr: z.string(), next: z.number(), truncated: z.boolean(), dropped: z.boolean(), ...exitShape },
    },
    guarded(async ({ process_id, since, wait_ms }) => {
      const watched = await backgroundProcesses.get(process_id);
      const out = await watched.output(since ?? 0, wait_ms ?? 0);
      const stdout = capText(out.stdout, OUTPUT_CAP_BYTES);
      const stderr = capText(out.stderr, OUTPUT_CAP_BYTES);
      return ok({ stdout: stdout.text, stderr: stderr.text, next: out.next, truncated: stdout.truncated || stderr.truncated, dropped: out.dropped, ...exitView(out.exit) });
    }),
  );
  server.registerTool(
    'process_kill',
    {
      title: 'End a background process',
      description: 'Ends a background process and its children in the workspace (`signal`, default SIGTERM; KILL after 2 s).',
      inputSchema: { process_id: z.string(), signal: z.string().regex(/^SIG[A-Z0-9]+$/).optional() },
      outputSchema: { process_id: z.string(), ...exitShape },
    },
    guarded(async ({ process_id, signal }) => {
      const watched = await backgroundProcesses.get(process_id);
      await watched.handle.kill(signal as NodeJS.Signals | undefined);
      return ok({ process_id, ...exitView(await watched.handle.wait()) });
    }),
  );
  server.registerTool(
    'process_list',
    {
      title: 'List background processes',
      description: 'The processes exec {background: true} started in this workspace (running, and the last ended ones).',
      inputSchema: {},
      outputSchema: { processes: z.array(z.object({ process_id: z.string(), argv: z.array(z.string()), ...exitShape })) },
    },
    guarded(async () => ok({ processes: (await backgroundProcesses.all()).map(({ handle, exit }) => ({ process_id: handle.id, argv: [...handle.argv], ...exitView(exit) })) })),
  );

  server.registerTool(
    'file_read',
    {
      title: 'Read a file',
      description: 'Reads a file in the workspace. Text (UTF-8) by default, optionally a line range (1-based, inclusive); `encoding: "base64"` returns the exact bytes.',
      inputSchema: {
        path: z.string(),
        start_line: z.number().int().positive().optional(),
        end_line: z.number().int().positive().optional(),
        encoding: z.enum(['utf8', 'base64']).optional(),
      },
      outputSchema: { path: z.string(), content: z.string(), encoding: z.enum(['utf8', 'base64']), total_lines: z.number().optional(), truncated: z.boolean() },
    },
    guarded(async ({ path, start_line, end_line, encoding }) => {
      const absolute = scope.check(path);
      const bytes = await berth.files.read(workspace, absolute, { encoding: 'buffer' });
      if (encoding === 'base64') {
        const cut = bytes.length > FILE_READ_CAP_BYTES;
        return ok({ path: absolute, content: bytes.subarray(0, FILE_READ_CAP_BYTES).toString('base64'), encoding: 'base64', truncated: cut });
      }
      const lines = bytes.toString('utf8').split('\n');
      const from = (start_line ?? 1) - 1;
      const to = end_line ?? lines.length;
      const text = capText(lines.slice(from, to).join('\n'), FILE_READ_CAP_BYTES, 'head');
      return ok({ path: absolute, content: text.text, encoding: 'utf8', total_lines: lines.length, truncated: text.truncated });
    }),
  );

  server.registerTool(
    'file_write',
    {
      title: 'Write a file',
      description: 'Writes a file in the workspace (its folders are created). `content` is UTF-8 text, or base64 bytes with `encoding: "base64"`.',
      inputSchema: { path: z.string(), content: z.string(), encoding: z.enum(['utf8', 'base64']).optional() },
      outputSchema: { path: z.string(), bytes: z.number() },
    },
    guarded(async ({ path, content, encoding }) => {
      const absolute = scope.check(path);
      const data = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
      await berth.files.write(workspace, absolute, data);
      return ok({ path: absolute, bytes: data.length });
    }),
  );

  server.registerTool(
    'file_edit',
    {
      title: 'Edit a file',
      description: 'Replaces `old_text` with `new_text` in a file. Fails, changing nothing, unless the text occurs exactly `expected_replacements` times (default 1).',
      inputSchema: { path: z.string(), old_text: z.string().min(1), new_text: z.string(), expected_replacements: z.number().int().positive().optional() },
      outputSchema: { path: z.string(), replacements: z.number() },
    },
    guarded(async ({ path, old_text, new_text, expected_replacements }) => {
      const absolute = scope.check(path);
      const text = await berth.files.read(workspace, absolute);
      const found = text.split(old_text).length - 1;
      const expected = expected_replacements ?? 1;
      if (found !== expected) {
        throw new BerthError('E_INVALID_INPUT', `old_text occurs ${String(found)} times in ${absolute}, not ${String(expected)}: nothing was changed.`, {
          hint: found === 0 ? 'Read the file again (file_read) and copy the text exactly, whitespace included.' : 'Include more surrounding lines to make it unique, or set expected_replacements.',
        });
      }
      await berth.files.write(workspace, absolute, text.split(old_text).join(new_text));
      return ok({ path: absolute, replacements: found });
    }),
  );

  server.registerTool(
    'file_list',
    {
      title: 'List a folder',
      description: `Lists a folder in the workspace (default ${scope.root}); with recursive, everything below it (at most ${String(LIST_LIMIT)} entries).`,
      inputSchema: { path: z.string().optional(), recursive: z.boolean().optional() },
      outputSchema: {
        path: z.string(),
        entries: z.array(z.object({ name: z.string(), path: z.string(), type: z.enum(['file', 'dir', 'symlink', 'other']), size: z.number() })),
      },
    },
    guarded(async ({ path, recursive }) => {
      const absolute = scope.check(path ?? scope.root);
      const entries = await berth.files.list(workspace, absolute, { recursive, limit: LIST_LIMIT });
      return ok({ path: absolute, entries: entries.map((e) => ({ name: e.name, path: e.path, type: e.type, size: e.size })) });
    }),
  );

  server.registerTool(
    'file_delete',
    {
      title: 'Delete a file or folder',
      description: 'Deletes a file, or a folder (with recursive: true when it is not empty).',
      inputSchema: { path: z.string(), recursive: z.boolean().optional() },
      outputSchema: { path: z.string(), deleted: z.boolean() },
    },
    guarded(async ({ path, recursive }) => {
      const absolute = scope.check(path);
      await berth.files.remove(workspace, absolute, { recursive });
      return ok({ path: absolute, deleted: true });
    }),
  );

  server.registerTool(
    'file_search',
    {
      title: 'Search file contents',
      description: `Searches text files below a folder (default ${scope.root}) for a regular expression (extended, grep -E), skipping .git and node_modules; at most ${String(SEARCH_LIMIT)} matches.`,
      inputSchema: { pattern: z.string().min(1), path: z.string().optional() },
      outputSchema: { matches: z.array(z.object({ path: z.string(), line: z.number(), text: z.string() })), truncated: z.boolean() },
    },
    guarded(async ({ pattern, path }) => {
      const absolute = scope.check(path ?? scope.root);
      // -Z puts a NUL after each file name, so names with colons or newlines stay whole.
      const script = `grep -rnIEZ --exclude-dir=.git --exclude-dir=node_modules -e "$1" -- "$2" | head -n ${String(SEARCH_LIMIT + 1)}`;
      const result = await berth.exec(workspace, ['sh', '-c', script, 'sh', pattern, scope.toCommand(absolute)], { timeoutMs: DEFAULT_EXEC_TIMEOUT_MS });
      if (result.stdout === '' && /No such file|Invalid|Unmatched|unbalanced/i.test(result.stderr)) {
        throw new BerthError('E_INVALID_INPUT', `file_search: ${result.stderr.trim().split('\n')[0] ?? ''}`, { hint: 'Check the pattern (extended regular expression) and the folder.' });
      }
      const matches = result.stdout
        .split('\n')
        .filter((line) => line.includes('\0'))
        .map((line) => {
          const [file = '', rest = ''] = line.split('\0');
          const colon = rest.indexOf(':');
          return { path: scope.fromCommand(file), line: Number(rest.slice(0, colon)), text: capText(rest.slice(colon + 1), 500, 'head').text };
        });
      return ok({ matches: matches.slice(0, SEARCH_LIMIT), truncated: matches.length > SEARCH_LIMIT });
    }),
  );

  server.registerTool(
    'devserver_start',
    {
      title: 'Start a dev server',
      description: 'Starts a long-running server in the workspace and returns once it listens, with the URL the person can open. `command` is run by sh -c.',
      inputSchema: {
        name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/),
        command: z.string().min(1),
        cwd: z.string().optional(),
        port: z.number().int().min(1).max(65535).optional(),
      },
      outputSchema: devServerShape,
    },
    guarded(async ({ name, command, cwd, port }) => {
      await berth.dev.start(workspace, name, { command: ['sh', '-c', command], cwd: cwd === undefined ? undefined : scope.cwd(cwd), port });
      return ok(devView(await berth.dev.waitUntilReady(workspace, name)));
    }),
  );

  server.registerTool(
    'devserver_list',
    { title: 'List dev servers', description: 'The dev servers of this workspace and their state and URLs.', outputSchema: { servers: z.array(z.object(devServerShape)) } },
    guarded(async () => ok({ servers: (await berth.dev.list(workspace)).map(devView) })),
  );

  server.registerTool(
    'devserver_logs',
    {
      title: 'Read a dev server\'s output',
      description: 'The last lines of a dev server\'s output (stdout and stderr together).',
      inputSchema: { name: z.string(), tail: z.number().int().positive().max(10_000).optional() },
      outputSchema: { name: z.string(), output: z.string(), truncated: z.boolean() },
    },
    guarded(async ({ name, tail }) => {
      const { path } = await berth.dev.logPath(workspace, name);
      const result = await berth.exec(workspace, ['tail', '-n', String(tail ?? 200), path], { timeoutMs: 30_000 });
      const output = capText(result.stdout, OUTPUT_CAP_BYTES);
      return ok({ name, output: output.text, truncated: output.truncated });
    }),
  );

  for (const [tool, verb] of [
    ['devserver_stop', 'Stops'],
    ['devserver_restart', 'Restarts'],
  ] as const) {
    server.registerTool(
      tool,
      { title: `${verb.slice(0, -1)} a dev server`, description: `${verb} a dev server of this workspace (its whole process group).`, inputSchema: { name: z.string() }, outputSchema: devServerShape },
      guarded(async ({ name }) => ok(devView(tool === 'devserver_stop' ? await berth.dev.stop(workspace, name) : await berth.dev.restart(workspace, name)))),
    );
  }

  server.registerTool(
    'workspace_status',
    {
      title: 'This workspace',
      description: 'The workspace\'s runtime, state, isolation, egress rules (read-only) and preview URLs.',
      outputSchema: {
        workspace: z.string(),
        runtime: z.string(),
        state: z.string(),
        isolation: z.string(),
        egress: z.object({ enforced: z.boolean(), allow: z.array(z.string()), deny: z.array(z.string()) }).nullable(),
        previews: z.array(z.object({ name: z.string(), url: z.string() })),
      },
    },
    guarded(async () => {
      const status = await berth.status(workspace);
      const egress = berth.egressView(workspace);
      const servers = await berth.dev.list(workspace);
      return ok({
        workspace,
        runtime: status.runtime,
        state: status.state,
        isolation: status.isolation,
        egress: egress && { enforced: egress.enforced, allow: egress.policy.allow, deny: egress.policy.deny },
        previews: servers.flatMap((s) => (s.url === null ? [] : [{ name: s.name, url: s.url }])),
      });
    }),
  );

  const allowEgress = options.allowEgress ?? ((target: string) => berth.changeEgress(workspace, { allow: target }));
  server.registerTool(
    'egress_request',
    {
      title: 'Ask a person to open a network target',
      description:
        'Asks the person who runs this workspace to allow a network target (host[:port], e.g. registry.npmjs.org:443) its egress rules refuse. ' +
        'When your client can ask its user (MCP elicitation), the person is asked at once and the answer comes back (approved or denied); ' +
        'otherwise the request stays pending until a person decides (`berth egress approve`). There is no tool to approve.',
      inputSchema: { target: z.string().min(1).max(300), reason: z.string().min(1).max(500) },
      outputSchema: { request_id: z.string(), state: z.enum(['pending', 'approved', 'denied']), target: z.string() },
    },
    guarded(async ({ target, reason }) => {
      const request = requestEgress(berth.store, (event) => berth.record(event), workspace, target, reason);
      const decision = await askThePerson(server, workspace, request.target, reason);
      if (decision === null) return ok({ request_id: request.id, state: 'pending', target: request.target });
      const decided = await settleEgressRequest(berth.store, (event) => berth.record(event), workspace, request.id, decision, allowEgress);
      return ok({ request_id: decided.id, state: decided.state, target: decided.target });
    }),
  );

  registerResources(server, berth, workspace, scope);
  // The followers of background output are execs: none may outlive the session.
  const previous = server.server.onclose;
  server.server.onclose = () => {
    backgroundProcesses.close();
    previous?.();
  };
  return server;
}

/**
 * The person's answer to an egress request, asked through the client (MCP elicitation, form mode)
 * when the client says it can ask its user; null when it cannot, or the person dismissed it or did
 * not answer in time (the request stays pending for `berth egress approve|deny`). The agent has no
 * part in this: the question goes to the client's user, and no tool answers it.
 */
async function askThePerson(server: McpServer, workspace: string, target: string, reason: string): Promise<'approved' | 'denied' | null> {
  const elicitation = server.server.getClientCapabilities()?.elicitation;
  // Form mode is what a client declaring `elicitation: {}` supports (spec 2025-11-25: an empty object means form).
  if (elicitation === undefined || (elicitation.form === undefined && elicitation.url !== undefined)) return null;
  try {
    const answer = await server.server.elicitInput(
      {
        mode: 'form',
        message: `The agent in Berth workspace "${workspace}" asks to reach ${target}. Its reason: ${reason}\nApprove adds "${target}" to the workspace's egress allow rules (as \`berth egress allow\`).`,
        requestedSchema: {
          type: 'object',
          properties: { decision: { type: 'string', title: `Allow ${target}?`, enum: ['approve', 'deny'], enumNames: ['Approve', 'Deny'] } },
          required: ['decision'],
        },
      },
      { timeout: ELICIT_TIMEOUT_MS },
    );
    if (answer.action === 'accept') return answer.content?.['decision'] === 'approve' ? 'approved' : 'denied';
    return answer.action === 'decline' ? 'denied' : null;
  } catch {
    // No answer (timed out, the client failed the request): a person decides later.
    return null;
  }
}

function registerResources(server: McpServer, berth: Berth, workspace: string, scope: PathScope): void {
  for (const file of ['README.md', 'AGENTS.md']) {
    server.registerResource(
      file,
      `berth://workspace/${file}`,
      { title: `The workspace's ${file}`, description: `${scope.root}/${file}, when the project has one.`, mimeType: 'text/markdown' },
      async (uri) => {
        const text = await berth.files.read(workspace, scope.check(`${scope.root}/${file}`)).catch((error: unknown) => {
          if (isBerthError(error, 'E_NOT_FOUND')) return `(${scope.root}/${file} does not exist in this workspace)`;
          throw error;
        });
        return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text }] };
      },
    );
  }
  server.registerResource(
    'egress-denials',
    'berth://egress/denials',
    { title: 'Recent egress denials', description: 'The last connections the egress proxy refused, with the reason: ask for one with egress_request.', mimeType: 'application/json' },
    (uri) => {
      const denials = berth
        .eventLog({ workspace, type: 'egress.deny' })
        .slice(-50)
        .map((e) => ({ time: e.time, message: e.message, host: e.data?.['host'], port: e.data?.['port'] }));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(denials, null, 2) }] };
    },
  );
}
