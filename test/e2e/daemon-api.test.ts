import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthClient } from '../../src/client/index.js';
import type { StoredEvent } from '../../src/client/index.js';
import { ROUTES } from '../../src/daemon/http/routes.js';
import { run } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { BERTHD_BIN, freePort, startDaemon, type RunningDaemon } from '../support/daemon.js';
import { BERTH_BIN } from './cli-suite.js';
import { waitFor } from '../support/wait-for.js';

const ENGINE = 'podman';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly the headers given (fetch would not let a test forge Host). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; target?: string } = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: options.target ?? `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * berthd against a real engine, through its real listeners: the unix socket (0600, no token) and
 * the loopback TCP listener (token, Host and Origin checks), bodies validated, errors as
 * {code, message, hint}, SSE in order with resume, the OpenAPI document, one daemon per home.
 */
describe(`berthd API on ${ENGINE}`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-daemon-'));
  const home = join(scratch, 'home');
  const root = join(scratch, 'project');
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), '<h1>daemon preview</h1>\n');
  const env = engineEnv();
  const ws = `api-${run8}`;
  let daemon: RunningDaemon;
  let client: BerthClient;
  let base: string;
  let token: string;
  let host: string;

  beforeAll(async () => {
    daemon = await startDaemon(home, env, ['--runtime', ENGINE, '--http', '127.0.0.1:0']);
    client = daemon.client;
    base = daemon.http ?? '';
    host = new URL(base).host;
    token = readFileSync(join(home, 'daemon.token'), 'utf8').trim();
  });

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    for (const name of [ws, `api-eg-${run8}`, `api-plan-${run8}`]) await run([ENGINE, 'rm', '-f', `berth-${name}`], { env, okExitCodes: 'any' });
    await run([ENGINE, 'network', 'rm', `berth-net-api-eg-${run8}`], { env, okExitCodes: 'any' });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps its socket and token to this user (0600)', () => {
    expect(statSync(join(home, 'berth.sock')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'daemon.token')).mode & 0o777).toBe(0o600);
    expect(token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses a second daemon on the same $BERTH_HOME, naming the first', async () => {
    const second = await run([process.execPath, BERTHD_BIN, '--runtime', ENGINE], { env: { ...env, BERTH_HOME: home }, okExitCodes: 'any', timeoutMs: 30_000 });
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`A Berth daemon already runs for this state folder (pid ${String(daemon.pid)}`);
    expect(second.stderr).toContain('hint:');
    expect((await client.health()).pid).toBe(daemon.pid);
  });

  it('says where it is: berth daemon status prints the socket and the dashboard link', async () => {
    const status = await run([process.execPath, BERTH_BIN, 'daemon', 'status', '--json'], { env: { ...env, BERTH_HOME: home } });
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, pid: daemon.pid, runtime: ENGINE, socket: join(home, 'berth.sock'), http: base, dashboard: `${base}/#token=${token}` });
  });

  it('requires the token on the loopback listener', async () => {
    const none = await raw(`${base}/workspaces`);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ code: 'E_UNAUTHORIZED', hint: expect.stringContaining('daemon.token') as unknown });
    expect((await raw(`${base}/workspaces`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await raw(`${base}/workspaces`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual([]);
    const viaClient = new BerthClient({ url: base, token: 'nope' });
    await expectCode(viaClient.listWorkspaces(), 'E_UNAUTHORIZED');
  });

  it('rejects a Host or Origin that is not its own loopback address, even with the token', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const rebound = await raw(`${base}/workspaces`, { headers: { ...auth, host: `evil.example:${new URL(base).port}` } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('evil.example') as unknown });
    expect((await raw(`${base}/workspaces`, { headers: { ...auth, host: '127.0.0.1:1' } })).status).toBe(403);
    expect((await raw(`${base}/workspaces`, { headers: { ...auth, origin: 'http://evil.example' } })).status).toBe(403);
    // Another loopback port is a workspace's dev server, not the dashboard: refused too.
    expect((await raw(`${base}/workspaces`, { headers: { ...auth, origin: 'http://127.0.0.1:41000' } })).status).toBe(403);
    expect((await raw(`${base}/workspaces`, { headers: { ...auth, origin: base } })).status).toBe(200);
    expect((await raw(`${base}/workspaces`, { headers: { ...auth, host: `localhost:${new URL(base).port}` } })).status).toBe(200);
  });

  it('serves the dashboard files without a credential and sets none; the API takes only the bearer header', async () => {
    const page = await raw(`${base}/`, { headers: { host } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Berth</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['set-cookie']).toBeUndefined();
    // The old link (?token=) sets nothing either, and the old cookie is no credential.
    const oldLink = await raw(`${base}/?token=${token}`, { headers: { host } });
    expect(oldLink.headers['set-cookie']).toBeUndefined();
    expect((await raw(`${base}/workspaces`, { headers: { host, cookie: `berth_token=${token}` } })).status).toBe(401);
    expect((await raw(`${base}/workspaces?token=${token}`, { headers: { host } })).status).toBe(401);
    expect((await raw(`${base}/workspaces`, { headers: { host, authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('answers a broken %-escape in a path with 400, not a 500 "bug in Berth"', async () => {
    const auth = { authorization: `Bearer ${token}` };
    for (const [method, path] of [
      ['GET', '/workspaces/%E0%A4%A'],
      ['POST', '/workspaces/%/stop'],
      ['GET', `/workspaces/${ws}/dev-servers/%zz/logs`],
      ['DELETE', '/workspaces/%C0'],
      ['GET', 'http://['],
    ] as const) {
      const answer = await raw(base, { method, headers: auth, target: path });
      expect(answer.status, `${method} ${path}`).toBe(400);
      const body = JSON.parse(answer.body) as { code: string; message: string; hint: string };
      expect(body, `${method} ${path}`).toMatchObject({ code: 'E_INVALID_INPUT', message: expect.stringMatching(/%-escape|not a URL path/) as unknown });
      expect(body.hint).not.toContain('bug in Berth');
    }
    expect((await client.health()).pid).toBe(daemon.pid);
  });

  it('refuses to plan a file that is not a manifest without echoing a byte of it', async () => {
    const secret = `s3cr3t-${run8}`;
    const files = {
      netrc: `machine example.test login bob password ${secret}\n`,
      env: `API_KEY=${secret}\nOTHER: [${secret}\n`,
      yaml: `api_key: ${secret}\n${secret}: {\n`,
      binary: `\u007fELF\u0000\u0001 ${secret} : : [ {\n`,
    };
    for (const [name, text] of Object.entries(files)) {
      const file = join(scratch, `not-a-manifest.${name}`);
      writeFileSync(file, text);
      const answer = await raw(`${base}/plan`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ file }) });
      expect(answer.status, name).toBe(400);
      expect(answer.body, name).not.toContain(secret);
      expect(JSON.parse(answer.body), name).toMatchObject({ code: 'E_INVALID_INPUT', message: expect.stringContaining('not a manifest') as unknown });
    }
  });

  it('validates bodies with the CLI and manifest rules, answering {code, message, hint} with a status', async () => {
    const post = (path: string, body: string): Promise<RawResponse> => raw(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    const relative = await post(`/workspaces/${ws}/up`, JSON.stringify({ root: 'project' }));
    expect(relative.status).toBe(400);
    expect(JSON.parse(relative.body)).toMatchObject({ code: 'E_INVALID_INPUT', message: expect.stringContaining('body.root: must be an absolute path') as unknown, hint: expect.any(String) as unknown });
    const typo = JSON.parse((await post(`/workspaces/${ws}/up`, JSON.stringify({ root, imgae: 'x' }))).body) as { message: string };
    expect(typo.message).toMatch(/imgae/);
    const badMemory = JSON.parse((await post(`/workspaces/${ws}/up`, JSON.stringify({ root, memory: 'lots' }))).body) as { message: string };
    expect(badMemory.message).toContain('body.memory: must be a size such as 512m or 2g');
    expect((await post(`/workspaces/${ws}/up`, '{not json')).status).toBe(400);
    expect(JSON.parse((await post(`/workspaces/${ws}/egress`, JSON.stringify({ allow: 'a', deny: 'b' }))).body)).toMatchObject({ code: 'E_INVALID_INPUT' });
    expect((await post('/workspaces/Bad_Id/stop', '')).status).toBe(400);
    expect((await raw(`${base}/nowhere`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    expect((await raw(`${base}/workspaces`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(405);
    await expectCode(client.getWorkspace(`gone-${run8}`), 'E_NOT_FOUND');
  });

  it('brings a workspace up, runs a dev server with a preview URL, and stops it, over the socket', async () => {
    const up = await client.up(ws, { root, image: TEST_IMAGE });
    expect(up).toMatchObject({ id: ws, runtime: ENGINE, action: 'created', state: 'running', isolated: true });
    expect(await client.listWorkspaces()).toEqual([expect.objectContaining({ id: ws, state: 'running', root })]);
    expect(await client.getWorkspace(ws)).toMatchObject({ id: ws, state: 'running', egress: null });
    expect((await client.up(ws)).action).toBe('reused');
    const port = await freePort();
    const web = await client.startDevServer(ws, 'web', { command: ['python3', '-m', 'http.server', String(port)] }, { wait: true });
    expect(web).toMatchObject({ state: 'running', detectedPort: port, url: expect.stringMatching(/^http:/) as unknown });
    const page = await fetch(web.url ?? '', { signal: AbortSignal.timeout(5000) });
    expect(await page.text()).toContain('daemon preview');
    expect(await client.devServerLogs(ws, 'web')).toContain('GET /');
    expect(await client.listDevServers({ workspace: ws })).toEqual([expect.objectContaining({ name: 'web', state: 'running' })]);
    expect(await client.stopDevServer(ws, 'web')).toMatchObject({ state: 'stopped', url: null });
    await expectCode(client.startDevServer(ws, 'Web!', { command: ['true'] }), 'E_INVALID_INPUT');
  });

  it('streams events in order with ids, and resumes after Last-Event-ID', async () => {
    const seen: StoredEvent[] = [];
    const controller = new AbortController();
    // From an explicit seq, not "now": a slow connect must not miss what happens meanwhile.
    const from = (await client.events()).at(-1)?.seq ?? 0;
    const stream = (async () => {
      for await (const event of client.streamEvents({ workspace: ws, after: from }, controller.signal)) {
        seen.push(event);
        if (seen.filter((e) => e.type === 'workspace.stopped' || e.type === 'workspace.started').length >= 2) controller.abort();
      }
    })();
    await client.stop(ws);
    await client.up(ws);
    await stream;
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['workspace.stopped', 'workspace.started']));
    // Resume: Last-Event-ID on the raw stream hands over exactly what came after.
    const middle = seen[0]?.seq ?? 0;
    const resumed = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: new URL(base).port, path: `/events/stream?workspace=${ws}`, headers: { authorization: `Bearer ${token}`, 'last-event-id': String(middle) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          if ((text.match(/^id: /gm) ?? []).length >= seen.length - 1) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    const ids = [...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(seqs.slice(1));
  });

  it('changes egress live and logs the proxy decisions, which the daemon serves', async () => {
    const eg = `api-eg-${run8}`;
    try {
      const up = await client.up(eg, { root, image: TEST_IMAGE, egress: { allow: ['registry.example.test'] } });
      expect(up.egress).toMatchObject({ enforced: true, network: `berth-net-${eg}` });
      expect(await client.changeEgress(eg, { deny: '*.bad.test' })).toEqual({ allow: ['registry.example.test'], deny: ['*.bad.test'] });
      expect(await client.changeEgress(eg, { revoke: '*.bad.test' })).toEqual({ allow: ['registry.example.test'], deny: [] });
      await expectCode(client.changeEgress(eg, { allow: 'http://nope' }), 'E_INVALID_INPUT');
      expect((await client.egress(eg))?.policy.allow).toEqual(['registry.example.test']);
      // From inside the workspace, through the daemon's proxy: a name outside the allowlist is refused
      // before any lookup (nothing leaves this machine).
      await waitFor(async () => (await client.health()).egressListeners.length > 0, { timeout: 5000, interval: 250, message: 'the egress listener' });
      const curl = await run([ENGINE, 'exec', `berth-${eg}`, 'sh', '-c', 'curl -s -o /dev/null -w "%{http_code}" -x "$HTTP_PROXY" http://denied.example.test/'], { env, okExitCodes: 'any' });
      expect(curl.stdout).toBe('403');
      const log = await client.egressLog(eg);
      // (A listen-failed warning may come first: the proxy can try the gateway before the network exists.)
      expect(log.map((e) => e.type).filter((t) => t !== 'egress.listen-failed')).toEqual(['egress.policy-changed', 'egress.policy-changed', 'egress.deny']);
      expect(log.at(-1)?.data).toMatchObject({ host: 'denied.example.test', verdict: 'deny' });
    } finally {
      await client.remove(eg).catch(() => undefined);
    }
  });

  it('plans and applies a manifest, refusing a stale plan hash', async () => {
    const planned = `api-plan-${run8}`;
    const file = join(scratch, 'berth.yaml');
    writeFileSync(file, `version: 1\nworkspaces:\n  ${planned}:\n    root: project\n    image: ${TEST_IMAGE}\n`);
    try {
      const plan = await client.plan(file);
      expect(plan).toMatchObject({ runtime: ENGINE, actions: [expect.objectContaining({ kind: 'create', workspace: planned })] });
      await expectCode(client.apply(file, { planHash: 'stale' }), 'E_CONFLICT');
      const noConfirm = await raw(`${base}/apply`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ file }) });
      expect(JSON.parse(noConfirm.body)).toMatchObject({ code: 'E_INVALID_INPUT', message: expect.stringContaining('needs planHash') as unknown });
      const applied = await client.apply(file, { planHash: plan.hash });
      expect(applied.outcomes).toEqual([expect.objectContaining({ ok: true })]);
      expect((await client.plan(file)).actions).toEqual([]);
      await expectCode(client.plan('berth.yaml'), 'E_INVALID_INPUT');
    } finally {
      await client.remove(planned).catch(() => undefined);
    }
  });

  it('serves the OpenAPI document that is checked in, with every route', async () => {
    const served = JSON.parse((await raw(`${base}/openapi.json`, { headers: { authorization: `Bearer ${token}` } })).body) as { paths: Record<string, Record<string, unknown>> };
    const checkedIn = JSON.parse(readFileSync(join(import.meta.dirname, '../../docs/openapi.json'), 'utf8')) as unknown;
    expect(served, 'docs/openapi.json is stale: run `npm run openapi`').toEqual(checkedIn);
    for (const route of ROUTES) expect(served.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    // Every reference points at a schema the document defines.
    const schemas = (served as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    const refs = [...JSON.stringify(served).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1] ?? '');
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) expect(schemas[ref], ref).toBeDefined();
  });

  it('stops cleanly on SIGTERM: listeners closed, socket gone, the workspace still running', async () => {
    const code = await daemon.stop();
    expect(code).toBe(0);
    expect(daemon.stderr()).toContain('stopped (workspaces keep running)');
    await expect(raw(`${base}/health`)).rejects.toThrow();
    expect(statSync(join(home, 'berth.sock'), { throwIfNoEntry: false })).toBeUndefined();
    const state = await run([ENGINE, 'inspect', '--format', '{{.State.Running}}', `berth-${ws}`], { env });
    expect(state.stdout.trim()).toBe('true');
    const status = await run([process.execPath, BERTH_BIN, 'daemon', 'status'], { env: { ...env, BERTH_HOME: home }, okExitCodes: 'any' });
    expect(status).toMatchObject({ exitCode: 1, stdout: expect.stringContaining('No daemon runs') as unknown });
  });
});
