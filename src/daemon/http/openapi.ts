import { z } from 'zod';
import { RUNTIME_KINDS } from '../../runtime/kinds.js';
import type { Route } from './router.js';

/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod schemas that validate
 * the bodies, so the document cannot drift from the code. `docs/openapi.json` is this, checked in
 * (`npm run openapi` writes it; a test compares).
 */
export function openApiDocument<Deps>(routes: readonly Route<Deps>[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(route.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } })),
    ];
    const success =
      route.produces === 'websocket'
        ? null
        : route.produces === 'stream'
        ? route.content ?? { 'text/event-stream': { schema: { type: 'string', description: 'id: <seq>\\ndata: <Event as JSON>' } } }
        : route.produces === 'text'
          ? { 'text/plain': { schema: { type: 'string' } } }
          : { 'application/json': { schema: route.returns ?? {} } };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(route.body) } } } } : {}),
      ...(route.produces === 'websocket' ? { 'x-websocket': WEBSOCKET_PROTOCOL } : {}),
      responses: {
        ...(success === null ? { '101': { description: 'Switching Protocols: a WebSocket (see x-websocket). A plain request gets 426.' } } : { '200': { description: 'OK', ...(route.headers ? { headers: responseHeaders(route.headers) } : {}), content: success } }),
        default: { description: 'An error: the status follows the code (400 E_INVALID_INPUT, 401/403 E_UNAUTHORIZED, 404 E_NOT_FOUND, 409 E_CONFLICT or E_NOT_RUNNING, 501 E_UNSUPPORTED, 502 runtime failures, 503 E_RUNTIME_UNAVAILABLE, 504 E_TIMEOUT, 499 E_ABORTED).', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Berth daemon API',
      version,
      description: 'berthd: workspaces, dev servers, egress, plan/apply and events. On the unix socket $BERTH_HOME/berth.sock (0600) no token is needed; on the loopback TCP listener every request needs `Authorization: Bearer <token>` ($BERTH_HOME/daemon.token) and a loopback Host.',
    },
    servers: [{ url: 'http://127.0.0.1:{port}', variables: { port: { default: '7777' } } }],
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: SCHEMAS },
  };
}

/** The WebSocket routes' messages, for clients in other languages (src/daemon/http/stream-protocol.ts is the source). */
const WEBSOCKET_PROTOCOL = {
  auth: 'On the loopback listener the token is `Authorization: Bearer` on the upgrade, or the first text message {"type":"auth","token":"..."} (browsers). Host and Origin rules as for every request.',
  textFrames: 'One JSON message each. Server: {"type":"opened","session"} | {"type":"exit","exitCode","durationMs"?} | {"type":"error","code","message","hint"?} (ends the stream).',
  pty: 'Client: {"type":"open","cols","rows","cwd"?,"env"?,"user"?,"command"?} or {"type":"attach","session"}, then binary frames (input), {"type":"resize","cols","rows"}, {"type":"kill","signal"?}. Server: binary frames (terminal output).',
  process: 'Server: {"type":"opened","session": <process id>}, then binary frames whose first byte is the channel (1 stdout, 2 stderr): the kept output, then live; {"type":"exit","exitCode","signal"}. Client: binary frames (stdin), {"type":"end"} (closes stdin), {"type":"kill","signal"?}.',
  exec: 'Client: {"type":"open","argv","cwd"?,"env"?,"user"?,"timeoutMs"?,"stdin"? (base64)}, {"type":"abort"}; closing the socket aborts. Server: binary frames whose first byte is the channel (1 stdout, 2 stderr).',
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const generated: Record<string, unknown> = { ...z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) };
  delete generated['$schema'];
  return generated;
}

const str = { type: 'string' };
const nullable = (type: string): Record<string, unknown> => ({ type: [type, 'null'] });
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)): Record<string, unknown> => ({ type: 'object', properties, required });

/** The response shapes: what the client's types (src/client/types.ts) say, for other languages. */
const SCHEMAS: Record<string, unknown> = {
  Error: obj({ code: str, message: str, hint: str, details: { type: 'object', description: 'Structured facts about the error (what failed, on which runtime, which workspaces), for programs to match on instead of the message.' } }, ['code', 'message']),
  Ok: obj({ id: str, ok: { type: 'boolean' } }),
  Health: obj(
    {
      ok: { type: 'boolean' },
      pid: { type: 'integer' },
      version: str,
      startedAt: str,
      runtime: { enum: [...RUNTIME_KINDS], description: 'The default runtime: where new workspaces go unless they name one.' },
      runtimes: { type: 'array', items: { enum: [...RUNTIME_KINDS] }, description: 'Every runtime it serves (each connected when a workspace on it is first addressed).' },
      runtimeStates: {
        type: 'array',
        items: obj({ kind: { enum: [...RUNTIME_KINDS] }, default: { type: 'boolean' }, state: { enum: ['connected', 'idle', 'unavailable'] }, reason: nullable('string') }),
      },
      socket: str,
      http: nullable('string'),
      onDemand: { type: 'boolean' },
      idleSeconds: nullable('number'),
      egressListeners: { type: 'array', items: str },
    },
    ['ok', 'pid', 'version', 'startedAt', 'runtime', 'runtimes', 'runtimeStates', 'socket', 'http', 'egressListeners'],
  ),
  EgressRequest: obj({ id: str, workspace: str, target: str, reason: str, state: { enum: ['pending', 'approved', 'denied'] }, requestedAt: str, decidedAt: nullable('string') }),
  Process: obj({ id: str, workspace: str, argv: { type: 'array', items: str }, startedAt: nullable('string') }),
  FileContent: obj({ path: str, size: { type: 'integer' }, content: { type: 'string', contentEncoding: 'base64' } }),
  FileEntry: obj(
    { name: str, path: str, type: { enum: ['file', 'dir', 'symlink', 'other'] }, size: { type: 'integer' }, mtimeMs: { type: 'number' }, rawName: { type: 'string', description: 'Only for a name that is not UTF-8: its bytes, base64.' } },
    ['name', 'path', 'type', 'size', 'mtimeMs'],
  ),
  ExecResult: obj({ exitCode: { type: 'integer' }, durationMs: { type: 'number' }, encoding: { enum: ['utf8', 'base64'] }, stdout: str, stderr: str }),
  Workspace: obj({
    id: str,
    runtime: { enum: [...RUNTIME_KINDS] },
    state: { enum: ['running', 'stopped', 'missing', 'drifted', 'foreign', 'unavailable'] },
    container: str,
    image: nullable('string'),
    ip: nullable('string'),
    root: nullable('string'),
    isolation: { enum: ['container', 'sandbox', 'none'], description: 'What confines the workspace: a container, host mode\'s bubblewrap sandbox, or nothing (unconfined host mode).' },
    labels: { type: 'object', additionalProperties: str, description: 'The app\'s metadata, as last declared.' },
    observedAt: { type: 'string', format: 'date-time', description: 'How fresh this entry is: when its oldest fact was observed (the engine is listed for every request; a drift verdict is reused for up to 5 s).' },
    drift: { type: 'array', items: str, description: 'Why it is drifted, when Berth can say more than that the spec changed (an edited devcontainer.json).' },
    driftUnknown: { type: 'string', description: 'Set when drift cannot be told offline (an OCI feature of its devcontainer.json not in the cache): why.' },
  }, ['id', 'runtime', 'state', 'container', 'image', 'ip', 'root', 'isolation', 'labels', 'observedAt']),
  WorkspaceStatus: { allOf: [{ $ref: '#/components/schemas/Workspace' }, obj({ isolated: { type: 'boolean' }, egress: { oneOf: [{ $ref: '#/components/schemas/Egress' }, { type: 'null' }] } })] },
  UpResult: obj(
    {
      id: str,
      runtime: str,
      action: { enum: ['created', 'started', 'reused', 'recreated'] },
      reasons: { type: 'array', items: str },
      container: str,
      state: str,
      ip: nullable('string'),
      image: str,
      mounts: { type: 'array', items: obj({ source: str, target: str, readOnly: { type: 'boolean' } }) },
      previewPorts: { type: 'array', items: obj({ hostAddress: str, hostPort: { type: 'integer' }, containerPort: { type: 'integer' }, protocol: str }) },
      skippedMounts: { type: 'array', items: obj({ source: str, reason: str }) },
      egress: { oneOf: [{ $ref: '#/components/schemas/Egress' }, { type: 'null' }] },
      isolated: { type: 'boolean' },
      isolation: { enum: ['container', 'sandbox', 'none'] },
      warnings: { type: 'array', items: str },
    },
  ),
  DevServer: obj({
    workspace: str,
    name: str,
    command: { type: 'array', items: str },
    cwd: str,
    port: nullable('integer'),
    pgid: nullable('integer'),
    state: { enum: ['starting', 'running', 'exited', 'crashed', 'stopped'] },
    url: nullable('string'),
    detectedPort: nullable('integer'),
    exitCode: nullable('integer'),
    startedAt: nullable('string'),
    restarts: { type: 'integer' },
  }),
  ForwardedPort: obj({
    port: { type: 'integer' },
    label: nullable('string'),
    protocol: { enum: ['http', 'https', null] },
    service: nullable('string'),
    onAutoForward: nullable('string'),
    state: { enum: ['listening', 'not-listening', 'other-service'] },
    url: nullable('string'),
    note: nullable('string'),
  }),
  EgressPolicy: obj({ allow: { type: 'array', items: str }, deny: { type: 'array', items: str } }),
  Egress: obj({ policy: { $ref: '#/components/schemas/EgressPolicy' }, enforced: { type: 'boolean' }, network: nullable('string'), proxy: str }),
  Event: obj({ seq: { type: 'integer' }, time: str, type: str, level: { enum: ['info', 'warn', 'error'] }, workspace: str, message: str, data: { type: 'object' } }, ['seq', 'time', 'type', 'level', 'message']),
  Plan: obj({ hash: str, runtime: str, actions: { type: 'array', items: { type: 'object' } } }),
  ApplyResult: obj({ hash: str, outcomes: { type: 'array', items: obj({ action: { type: 'object' }, ok: { type: 'boolean' }, message: str }) } }),
};

function responseHeaders(headers: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
}
