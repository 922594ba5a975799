import type { Berth } from '../../berth.js';
import { BerthError } from '../../errors.js';
import type { EgressService } from '../../egress/service.js';
import { applyManifest, confirmPlan } from '../../orchestrator/plan-manifest.js';
import { holdReconciler } from '../../orchestrator/reconciler-lock.js';
import type { EventQuery, StoredEvent } from '../../state/store.js';
import type { WorkspaceSpecInput } from '../../workspace/spec.js';
import { egressIn } from '../../workspace/up-report.js';
import { validateWorkspaceId } from '../../workspace/workspace-id.js';
import type { EventFeed } from '../event-feed.js';
import { LISTING_FRESH_MS, type ListingCache } from '../listing-cache.js';
import { matchesLabels } from '../../workspace/label-filter.js';
import { planOnDaemon } from '../manifest-plan.js';
import { applyBody, devStartBody, egressChangeBody, execBody, fileWriteBody, killBody, planBody, spawnBody, upBody, type SpawnBody, type ApplyBody, type DevStartBody, type EgressChangeBody, type ExecBody, type FileWriteBody, type UpBody } from './bodies.js';
import type { PtySessions } from '../pty-sessions.js';
import { settleEgressRequest } from '../../egress/requests.js';
import { serveExec, serveProcess, servePty, type StreamingExec } from './stream-routes.js';
import type { ProcessHandle } from '../../workspace/processes.js';
import { closeWithError } from './websocket.js';
import { MCP_ROUTES } from './mcp-routes.js';
import type { McpHttpSessions } from '../../mcp/http-sessions.js';
import type { Route, RouteContext } from './router.js';
import { streamEvents } from './sse.js';

/** What the API handlers reach: the daemon's Berth, its event feed and its egress service. */
export interface ApiDeps {
  berth: Berth;
  /** `GET /workspaces`: the last observation while it is fresh, else one live listing shared by the requests that come meanwhile. */
  listing: Pick<ListingCache, 'list'>;
  feed: EventFeed;
  egress: Pick<EgressService, 'listening' | 'apply'> | null;
  about: { pid: number; version: string; startedAt: string; socket: string; http: string | null };
  /** Streaming exec and terminals; null where the library has none (then those routes answer E_UNSUPPORTED). */
  exec: StreamingExec | null;
  ptys: PtySessions | null;
  /** MCP sessions over streamable HTTP (/workspaces/{id}/mcp); absent: those routes answer E_UNSUPPORTED. */
  mcp?: McpHttpSessions | null;
}

type Ctx = RouteContext<ApiDeps>;

/**
 * How long `POST /apply` queues behind a one-shot `berth apply`/`reconcile` before answering 409
 * naming it: shorter than the CLI's 10 minutes, because a caller waiting on a request sees nothing
 * meanwhile (the client's own timeout is 10 minutes) and can ask again.
 */
const API_APPLY_QUEUE_MS = 60_000;

/** Files through the API: base64 in JSON, so the largest body is a 48 MiB file. */
const MAX_FILE_BODY_BYTES = 64 * 1024 * 1024;

const ref = (name: string): Record<string, unknown> => ({ $ref: `#/components/schemas/${name}` });
const list = (name: string): Record<string, unknown> => ({ type: 'array', items: ref(name) });

const EVENT_QUERY = {
  after: 'Only events with a sequence number above this.',
  since: 'Only events at or after this ISO time.',
  workspace: 'Only this workspace.',
  type: 'Only this type and its sub-types (`egress` matches `egress.deny`).',
};

/** Every API operation. The OpenAPI document is generated from this table. */
export const ROUTES: readonly Route<ApiDeps>[] = [
  {
    method: 'GET', path: '/health', operationId: 'health', tag: 'daemon', produces: 'json', returns: ref('Health'), summary: 'The daemon: pid, version, its default runtime and how each runtime stands, listeners.',
    handle: ({ deps }: Ctx) => ({ ok: true, ...deps.about, runtime: deps.berth.runtime.kind, runtimeStates: deps.berth.runtimes(), egressListeners: deps.egress?.listening() ?? [] }),
  },
  {
    method: 'GET', path: '/workspaces', operationId: 'listWorkspaces', tag: 'workspaces', produces: 'json', summary: "This installation's workspaces (berth ls).", returns: list('Workspace'),
    query: {
      label: 'KEY=VALUE: only workspaces with this label; repeat for several (all must match).',
      fresh: `true (or 1): observe the engines now. Otherwise the daemon may answer from its last observation while it is under ${String(LISTING_FRESH_MS)} ms old and nothing was changed through Berth since (by any process on this home); the headers say which.`,
    },
    headers: {
      'X-Berth-Observed-At': 'When the observation this answer comes from began (ISO time): every state in it is at least this fresh.',
      'X-Berth-Age-Ms': "The observation's age when answered, in milliseconds.",
      'X-Berth-Listing': 'cached: an earlier observation, reused (fresh enough, nothing changed through Berth since); live: observed for this request.',
    },
    handle: async ({ deps, query, res }: Ctx) => {
      const labels = labelFilter(query.getAll('label'));
      const listing = await deps.listing.list({ fresh: booleanQuery(query, 'fresh') });
      res.setHeader('x-berth-observed-at', new Date(listing.observedAt).toISOString());
      res.setHeader('x-berth-age-ms', String(listing.ageMs));
      res.setHeader('x-berth-listing', listing.source);
      return listing.workspaces.filter((w) => matchesLabels(w.labels, labels));
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}', operationId: 'getWorkspace', tag: 'workspaces', produces: 'json', summary: 'One workspace (berth status).', returns: ref('WorkspaceStatus'),
    handle: async ({ deps, params }: Ctx) => {
      const status = await deps.berth.status(id(params));
      return { ...status, isolated: status.isolation === 'container', egress: egressIn(deps.berth.egressView(id(params)), status.isolation) };
    },
  },
  {
    method: 'POST', path: '/workspaces/{id}/up', operationId: 'upWorkspace', tag: 'workspaces', produces: 'json', body: upBody, returns: ref('UpResult'),
    summary: 'Create, start, reuse or recreate the workspace (berth up). An empty body: as last declared.',
    handle: ({ deps, params, body }: Ctx) => up(deps.berth, id(params), body as UpBody),
  },
  {
    method: 'POST', path: '/workspaces/{id}/stop', operationId: 'stopWorkspace', tag: 'workspaces', produces: 'json', summary: 'Stop the workspace (its files stay).', returns: ref('Ok'),
    handle: async ({ deps, params }: Ctx) => (await deps.berth.stop(id(params)), { id: id(params), ok: true }),
  },
  {
    method: 'DELETE', path: '/workspaces/{id}', operationId: 'removeWorkspace', tag: 'workspaces', produces: 'json', summary: 'Remove the workspace container (its files stay).', returns: ref('Ok'),
    handle: async ({ deps, params }: Ctx) => (await deps.berth.remove(id(params)), { id: id(params), ok: true }),
  },
  {
    method: 'POST', path: '/workspaces/{id}/exec', operationId: 'exec', tag: 'processes', produces: 'json', body: execBody, returns: ref('ExecResult'),
    summary: 'Run a command and answer when it ends (berth exec). Output as UTF-8, or base64 for bytes; a timeout, or the caller hanging up, ends the process inside the workspace.',
    handle: ({ deps, params, body, req }: Ctx) => execToEnd(execOf(deps), id(params), body as ExecBody, req),
  },
  {
    method: 'POST', path: '/workspaces/{id}/processes', operationId: 'spawn', tag: 'processes', produces: 'json', body: spawnBody, returns: ref('Process'),
    summary: 'Start a long-lived process in the workspace (berth.spawn); follow it with GET /workspaces/{id}/processes/{process} (a WebSocket).',
    handle: async ({ deps, params, body }: Ctx) => processView(await deps.berth.spawn(id(params), (body as SpawnBody).argv, body as SpawnBody)),
  },
  {
    method: 'GET', path: '/workspaces/{id}/processes', operationId: 'listProcesses', tag: 'processes', produces: 'json', returns: list('Process'),
    summary: "The workspace's spawned processes (running, and the last ended ones), to attach to again.",
    handle: async ({ deps, params }: Ctx) => (await deps.berth.processes(id(params))).map(processView),
  },
  {
    method: 'GET', path: '/workspaces/{id}/processes/{process}', operationId: 'attachProcess', tag: 'processes', produces: 'websocket',
    summary: 'WebSocket: a spawned process, its kept output first then live (channel-tagged binary frames), exit at the end; binary frames in are its stdin, end closes it, kill signals it.',
    handle: () => undefined,
    connect: ({ deps, params, ws }) => {
      void findProcess(deps, id(params), params['process'] ?? '').then(
        (handle) => serveProcess(ws, handle),
        (error: unknown) => closeWithError(ws, error),
      );
    },
  },
  {
    method: 'POST', path: '/workspaces/{id}/processes/{process}/kill', operationId: 'killProcess', tag: 'processes', produces: 'json', body: killBody, returns: ref('Ok'),
    summary: "End a spawned process's group in the workspace (signal, default SIGTERM; KILL after 2 s).",
    handle: async ({ deps, params, body }: Ctx) => {
      const handle = await findProcess(deps, id(params), params['process'] ?? '');
      await handle.kill((body as { signal?: NodeJS.Signals }).signal);
      return { id: handle.id, ok: true };
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}/files', operationId: 'readFile', tag: 'files', produces: 'json', returns: ref('FileContent'),
    summary: 'A file anywhere in the workspace, its bytes base64 (berth.files.read).', query: { path: 'The file (relative to /workspace unless absolute).' },
    handle: async ({ deps, params, query }: Ctx) => {
      const path = requiredQuery(query, 'path');
      const content = await deps.berth.files.read(id(params), path, { encoding: 'buffer' });
      return { path, size: content.length, content: content.toString('base64') };
    },
  },
  {
    method: 'PUT', path: '/workspaces/{id}/files', operationId: 'writeFile', tag: 'files', produces: 'json', body: fileWriteBody, maxBodyBytes: MAX_FILE_BODY_BYTES, returns: ref('Ok'),
    summary: 'Write a file anywhere in the workspace (its folders made), bytes base64 (berth.files.write).', query: { path: 'The file (relative to /workspace unless absolute).' },
    handle: async ({ deps, params, query, body }: Ctx) => {
      await deps.berth.files.write(id(params), requiredQuery(query, 'path'), Buffer.from((body as FileWriteBody).content, 'base64'));
      return { id: id(params), ok: true };
    },
  },
  {
    method: 'DELETE', path: '/workspaces/{id}/files', operationId: 'removeFile', tag: 'files', produces: 'json', returns: ref('Ok'),
    summary: 'Remove a file or folder in the workspace (berth.files.remove).', query: { path: 'What to remove.', recursive: 'true: a folder with everything in it.' },
    handle: async ({ deps, params, query }: Ctx) => {
      await deps.berth.files.remove(id(params), requiredQuery(query, 'path'), { recursive: query.get('recursive') === 'true' });
      return { id: id(params), ok: true };
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}/files/list', operationId: 'listFiles', tag: 'files', produces: 'json', returns: list('FileEntry'),
    summary: 'A folder\'s entries (berth.files.list).', query: { path: 'The folder (default /workspace).', recursive: 'true: everything below it.', limit: 'At most this many entries.' },
    handle: ({ deps, params, query }: Ctx) =>
      deps.berth.files.list(id(params), query.get('path') ?? undefined, { recursive: query.get('recursive') === 'true', limit: numberParam(query, 'limit') }),
  },
  {
    method: 'GET', path: '/workspaces/{id}/exec', operationId: 'execStream', tag: 'processes', produces: 'websocket',
    summary: 'WebSocket: run a command with its output streamed as it comes (channel-tagged binary frames), cancellable (abort, or close the socket).',
    handle: () => undefined,
    connect: ({ deps, params, ws }) => serveExec(ws, execOf(deps), id(params)),
  },
  {
    method: 'GET', path: '/workspaces/{id}/pty', operationId: 'openPty', tag: 'processes', produces: 'websocket',
    summary: "WebSocket: a terminal in the workspace (the login shell, or `command`): binary frames both ways, resize and kill messages; a dropped connection can re-attach within 60 s.",
    handle: () => undefined,
    connect: ({ deps, params, ws }) => {
      if (!deps.ptys) throw unsupported('terminals');
      servePty(ws, deps.ptys, id(params));
    },
  },
  {
    method: 'GET', path: '/dev-servers', operationId: 'listDevServers', tag: 'dev servers', produces: 'json', returns: list('DevServer'),
    summary: 'Registered dev servers, as the liveness loop last saw them; scan=true checks them now.',
    query: {
      workspace: 'Only this workspace.',
      scan:
        'true: check now instead of answering from the registry: a workspace whose running servers all accept a TCP connect at their own URL, on its running container at that address (one engine list), is confirmed by that; every other workspace with live servers is scanned (one exec each). full: scan every workspace with live servers.',
    },
    handle: ({ deps, query }: Ctx) => {
      const workspace = query.get('workspace') ?? undefined;
      const scan = query.get('scan');
      return scan === 'true' || scan === 'full' ? deps.berth.dev.list(workspace, { full: scan === 'full' }) : deps.berth.store.devServers.devServers(workspace);
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}/forwarded-ports', operationId: 'listForwardedPorts', tag: 'dev servers', produces: 'json', returns: list('ForwardedPort'),
    summary: "The ports the workspace's devcontainer.json forwards, as previews checked now (one scan): listening ones with their URL and label, the others not yet listening (no URL).",
    handle: ({ deps, params }: Ctx) => deps.berth.dev.forwardedPorts(id(params)),
  },
  {
    method: 'POST', path: '/workspaces/{id}/dev-servers/{name}', operationId: 'startDevServer', tag: 'dev servers', produces: 'json', body: devStartBody, returns: ref('DevServer'),
    summary: 'Start a dev server (berth dev start); wait=true answers once it listens or ends.', query: { wait: 'true: answer once the server listens (or ends).' },
    handle: async ({ deps, params, body, query }: Ctx) => {
      const b = body as DevStartBody;
      // A string is the older API's shell line; the typed client sends argv.
      const command = typeof b.command === 'string' ? ['sh', '-c', b.command] : b.command;
      return deps.berth.dev.start(id(params), name(params), { command, cwd: b.cwd, env: b.env, port: b.port, wait: b.wait === true || query.get('wait') === 'true' });
    },
  },
  {
    method: 'POST', path: '/workspaces/{id}/dev-servers/{name}/stop', operationId: 'stopDevServer', tag: 'dev servers', produces: 'json', summary: 'Stop a dev server: its port is free after.', returns: ref('DevServer'),
    handle: ({ deps, params }: Ctx) => deps.berth.dev.stop(id(params), name(params)),
  },
  {
    method: 'POST', path: '/workspaces/{id}/dev-servers/{name}/restart', operationId: 'restartDevServer', tag: 'dev servers', produces: 'json', returns: ref('DevServer'),
    summary: 'Stop, then run the registered command again; wait=true answers once it listens.', query: { wait: 'true: answer once the server listens (or ends).' },
    handle: async ({ deps, params, query }: Ctx) => {
      return deps.berth.dev.restart(id(params), name(params), { wait: query.get('wait') === 'true' });
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}/dev-servers/{name}/logs', operationId: 'devServerLogs', tag: 'dev servers', produces: 'text', summary: "The end of a dev server's output (text).",
    query: { tail: 'How many lines (default 200, at most 10000).' },
    handle: async ({ deps, params, query }: Ctx) => {
      return deps.berth.dev.logs(id(params), name(params), { tail: Number(query.get('tail') ?? 200) });
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}/egress', operationId: 'getEgress', tag: 'egress', produces: 'json', summary: "The workspace's egress policy and enforcement (null: no egress control).", returns: ref('Egress'),
    handle: ({ deps, params }: Ctx) => deps.berth.egressView(id(params)),
  },
  {
    method: 'POST', path: '/workspaces/{id}/egress', operationId: 'changeEgress', tag: 'egress', produces: 'json', body: egressChangeBody, returns: ref('EgressPolicy'),
    summary: 'Allow, deny or revoke one pattern; in force when this answers (the proxy has applied it).',
    handle: ({ deps, params, body }: Ctx) => deps.berth.changeEgress(id(params), body as EgressChangeBody),
  },
  {
    method: 'POST', path: '/workspaces/{id}/egress/apply', operationId: 'applyEgress', tag: 'egress', produces: 'json', returns: ref('Ok'),
    summary: "Serve what the store says for this workspace now (after a change made without the daemon); answers once its proxy listens with those rules.",
    handle: async ({ deps, params }: Ctx) => {
      if (!deps.egress) throw new BerthError('E_UNSUPPORTED', 'This daemon serves no egress proxy.');
      await deps.egress.apply(id(params));
      return { id: id(params), ok: true };
    },
  },
  {
    method: 'GET', path: '/workspaces/{id}/egress/log', operationId: 'egressLog', tag: 'egress', produces: 'json', summary: "The workspace's egress decisions (allowed, denied), oldest first.", returns: list('Event'),
    query: { after: EVENT_QUERY.after },
    handle: ({ deps, params, query }: Ctx) => deps.berth.eventLog({ workspace: id(params), type: 'egress', after: numberParam(query, 'after') }),
  },
  {
    method: 'GET', path: '/egress/requests', operationId: 'listEgressRequests', tag: 'egress', produces: 'json', returns: list('EgressRequest'),
    summary: "Agents' egress requests across workspaces (default: the pending ones), newest first.", query: { state: 'pending (default), approved or denied.' },
    handle: ({ deps, query }: Ctx) => deps.berth.store.egressRequests.listAll(requestState(query)),
  },
  {
    method: 'POST', path: '/workspaces/{id}/egress/requests/{request}/approve', operationId: 'approveEgressRequest', tag: 'egress', produces: 'json', returns: ref('EgressRequest'),
    summary: 'A person approves an agent\'s request: its target is allowed (in force when this answers), then the decision is recorded.',
    handle: ({ deps, params }: Ctx) => decideRequest(deps, id(params), params['request'] ?? '', 'approved'),
  },
  {
    method: 'POST', path: '/workspaces/{id}/egress/requests/{request}/deny', operationId: 'denyEgressRequest', tag: 'egress', produces: 'json', returns: ref('EgressRequest'),
    summary: 'A person denies an agent\'s request: the rules stay as they are.',
    handle: ({ deps, params }: Ctx) => decideRequest(deps, id(params), params['request'] ?? '', 'denied'),
  },
  {
    method: 'POST', path: '/plan', operationId: 'plan', tag: 'orchestrator', produces: 'json', body: planBody, summary: 'What apply would do to match the manifest (berth plan).', returns: ref('Plan'),
    handle: async ({ deps, body }: Ctx) => {
      const { hash, actions } = await planOnDaemon(deps.berth, (body as { file: string }).file);
      return { hash, runtime: deps.berth.runtime.kind, actions };
    },
  },
  {
    method: 'POST', path: '/apply', operationId: 'apply', tag: 'orchestrator', produces: 'json', body: applyBody, summary: 'Make the workspaces match the manifest (berth apply); queues up to 60 s behind another apply, 409 behind a manifest daemon.', returns: ref('ApplyResult'),
    handle: async ({ deps, body }: Ctx) => {
      const b = body as ApplyBody;
      // The same reconciler lock as `berth apply`, held from plan to the last outcome.
      const lock = await holdReconciler({ home: deps.berth.home, role: 'api apply', manifest: b.file, queueMs: API_APPLY_QUEUE_MS });
      try {
        const planned = await planOnDaemon(deps.berth, b.file);
        confirmPlan(planned, b.planHash);
        return { hash: planned.hash, outcomes: await applyManifest(planned, { concurrency: b.concurrency }) };
      } finally {
        lock.release();
      }
    },
  },
  {
    method: 'GET', path: '/events', operationId: 'listEvents', tag: 'events', produces: 'json', summary: 'The event log, oldest first (berth events).', returns: list('Event'),
    query: { ...EVENT_QUERY, limit: 'At most this many.' },
    handle: ({ deps, query }: Ctx) => deps.berth.eventLog({ ...eventQuery(query), limit: numberParam(query, 'limit') }),
  },
  {
    method: 'GET', path: '/events/stream', operationId: 'streamEvents', tag: 'events', produces: 'stream',
    summary: 'Server-Sent Events: each event once, in order, `id:` its sequence number. From now on, or after Last-Event-ID (or after=) to resume.', query: EVENT_QUERY,
    handle: ({ deps, query, req, res }: Ctx) => {
      const resume = req.headers['last-event-id'];
      const q = eventQuery(query);
      const after = typeof resume === 'string' && /^\d+$/.test(resume) ? Number(resume) : (q.afterSeq ?? deps.berth.store.events.lastEventSeq());
      streamEvents(req, res, deps.feed, after, (event) => matches(event, q));
    },
  },
  ...MCP_ROUTES,
];

function requestState(query: URLSearchParams): 'pending' | 'approved' | 'denied' {
  const state = query.get('state') ?? 'pending';
  if (state !== 'pending' && state !== 'approved' && state !== 'denied') throw new BerthError('E_INVALID_INPUT', `Invalid request: query.state must be pending, approved or denied, got ${JSON.stringify(state)}.`, { hint: 'Use ?state=pending.' });
  return state;
}

function decideRequest(deps: ApiDeps, workspace: string, request: string, decision: 'approved' | 'denied'): Promise<unknown> {
  return settleEgressRequest(deps.berth.store, (event) => deps.berth.record(event), workspace, request, decision, (target) => deps.berth.changeEgress(workspace, { allow: target }));
}

function processView(handle: ProcessHandle): Record<string, unknown> {
  return { id: handle.id, workspace: handle.workspace, argv: handle.argv, startedAt: handle.startedAt };
}

async function findProcess(deps: ApiDeps, workspace: string, processId: string): Promise<ProcessHandle> {
  const handle = (await deps.berth.processes(workspace)).find((p) => p.id === processId);
  if (!handle) throw new BerthError('E_NOT_FOUND', `No process ${JSON.stringify(processId)} in workspace "${workspace}".`, { hint: 'GET /workspaces/{id}/processes lists them.' });
  return handle;
}

function requiredQuery(query: URLSearchParams, key: string): string {
  const value = query.get(key);
  if (value === null || value === '') throw new BerthError('E_INVALID_INPUT', `Invalid request: query.${key} is required.`, { hint: `Add ?${key}=... (URL-encoded).` });
  return value;
}

function execOf(deps: ApiDeps): StreamingExec {
  if (!deps.exec) throw unsupported('streaming exec');
  return deps.exec;
}

function unsupported(what: string): BerthError {
  return new BerthError('E_UNSUPPORTED', `This daemon serves no ${what}.`, { hint: 'Upgrade berthd to the version of your berth package.' });
}

/** POST /exec: the streaming exec, collected; the request closing early aborts it. */
async function execToEnd(exec: StreamingExec, workspace: string, body: ExecBody, req: Ctx['req']): Promise<unknown> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const controller = new AbortController();
  const hangUp = (): void => controller.abort();
  req.once('close', hangUp);
  try {
    const { exitCode, durationMs } = await exec(workspace, body.argv, {
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      stdin: body.stdin === undefined ? undefined : Buffer.from(body.stdin, 'base64'),
      cwd: body.cwd,
      env: body.env,
      user: body.user,
      timeoutMs: body.timeoutMs,
      signal: controller.signal,
    });
    const encoding = body.encoding ?? 'utf8';
    return { exitCode, durationMs, encoding, stdout: Buffer.concat(stdout).toString(encoding), stderr: Buffer.concat(stderr).toString(encoding) };
  } finally {
    req.off('close', hangUp);
  }
}

async function up(berth: Berth, workspace: string, body: UpBody): Promise<unknown> {
  validateWorkspaceId(workspace);
  const declared = Object.keys(body).length > 0;
  // Of an existing workspace the body is a patch over what was last declared: the root may stay.
  if (declared && body.root === undefined && berth.recordedSpecOf(workspace) === undefined) {
    throw new BerthError('E_INVALID_INPUT', 'Invalid request: body.root is required when the body declares a spec (the daemon does not know your working folder).', {
      hint: 'Send { "root": "/absolute/path" } with the other settings, or an empty body to bring the workspace up as last declared.',
    });
  }
  if (!declared && berth.recordedSpecOf(workspace) === undefined) {
    throw new BerthError('E_INVALID_INPUT', `Workspace "${workspace}" is new: the daemon needs its root folder.`, { hint: 'Send { "root": "/absolute/path/to/project" }.', details: { workspace, recorded: false } });
  }
  const spec: WorkspaceSpecInput | undefined = declared ? { ...body } : undefined;
  return berth.up(workspace, spec);
}

/** A yes/no query parameter: absent, `false` or `0` is no; `true` or `1` is yes; anything else is the caller's 400. */
function booleanQuery(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new BerthError('E_INVALID_INPUT', `Invalid request: query.${name} must be true or false, got ${JSON.stringify(value.slice(0, 40))}.`, { hint: `Use ?${name}=true.` });
}

/** `?label=k=v&label=k2=v2` as `{ k: v, k2: v2 }`. */
function labelFilter(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new BerthError('E_INVALID_INPUT', `Invalid request: query.label must be KEY=VALUE, got ${JSON.stringify(pair)}.`, { hint: 'Use e.g. ?label=project=shop.' });
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

function id(params: Record<string, string>): string {
  return params['id'] ?? '';
}

function name(params: Record<string, string>): string {
  return params['name'] ?? '';
}

function numberParam(query: URLSearchParams, key: string): number | undefined {
  const value = query.get(key);
  if (value === null) return undefined;
  if (!/^\d+$/.test(value)) throw new BerthError('E_INVALID_INPUT', `Invalid request: query.${key} must be a whole number, got ${JSON.stringify(value)}.`, { hint: `Use e.g. ?${key}=100.` });
  return Number(value);
}

function eventQuery(query: URLSearchParams): EventQuery {
  const since = query.get('since') ?? undefined;
  if (since !== undefined && Number.isNaN(new Date(since).getTime())) {
    throw new BerthError('E_INVALID_INPUT', `Invalid request: query.since must be an ISO time, got ${JSON.stringify(since)}.`, { hint: 'Use e.g. ?since=2026-11-23T10:00:00Z.' });
  }
  return { afterSeq: numberParam(query, 'after'), since: since === undefined ? undefined : new Date(since).toISOString(), workspace: query.get('workspace') ?? undefined, type: query.get('type') ?? undefined };
}

/** The store's filter, applied to live events (a type matches itself and its sub-types). */
function matches(event: StoredEvent, query: EventQuery): boolean {
  if (query.workspace !== undefined && event.workspace !== query.workspace) return false;
  if (query.type !== undefined && event.type !== query.type && !event.type.startsWith(`${query.type}.`)) return false;
  return query.since === undefined || event.time >= query.since;
}
