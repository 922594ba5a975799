import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runStreaming } from '../../src/process/index.js';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { waitFor } from '../support/wait-for.js';

export const BERTH_BIN = join(import.meta.dirname, '../../dist/cli/main.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `berth` binary, the way a user (or an agent) does. */
export function berthCli(env: NodeJS.ProcessEnv): (args: string[], options?: { input?: string; cwd?: string }) => Promise<CliResult> {
  return async (args, options = {}) => {
    const result = await run([process.execPath, BERTH_BIN, ...args], {
      env,
      input: options.input,
      cwd: options.cwd,
      okExitCodes: 'any',
      timeoutMs: 120_000,
    });
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  };
}

export function json<T = unknown>(result: CliResult): T {
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** CLI end to end on a real engine: every command through the built binary, asserting on --json. */
export function cliSuite(engine: 'podman' | 'docker'): void {
  describe(`berth CLI on ${engine}`, () => {
    const run8 = randomUUID().slice(0, 8);
    const scratch = mkdtempSync(join(tmpdir(), 'berth-cli-'));
    const home = join(scratch, 'berth-home');
    const root = join(scratch, 'project');
    mkdirSync(root);
    writeFileSync(join(root, 'hello.txt'), 'hello from the host\n');
    const env = { ...engineEnv(), BERTH_HOME: home, BERTH_RUNTIME: engine };
    const berth = berthCli(env);
    const engineCli = (args: string[]) => run([engine, ...args], { env: engineEnv(), okExitCodes: 'any' });
    const ws = `cli-${run8}`;
    const up = (...extra: string[]) => berth(['up', ws, '--root', root, '--image', TEST_IMAGE, '--json', ...extra]);

    beforeAll(() => {
      if (!existsSync(BERTH_BIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (scripts/test.sh does).');
    });

    afterAll(async () => {
      const names = await engineCli(['ps', '-a', '--format', '{{.Names}}']);
      for (const name of names.stdout.split('\n').filter((n) => n.includes(run8))) await engineCli(['rm', '-f', name]);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('brings a workspace up and lists it', async () => {
      const missing = join(scratch, 'not-yet');
      const result = json<Record<string, unknown>>(await up('--env', 'GREETING=hi there', '--mount', missing));
      expect(result).toMatchObject({ id: ws, runtime: engine, action: 'created', state: 'running', container: `berth-${ws}`, isolated: true });
      expect(result['skippedMounts']).toEqual([{ source: missing, reason: 'does not exist (skipped, not created)' }]);
      const list = json<Record<string, unknown>[]>(await berth(['ls', '--json']));
      expect(list).toEqual([
        { id: ws, runtime: engine, state: 'running', container: `berth-${ws}`, image: expect.stringContaining('berth-workspace') as unknown, ip: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) as unknown, root, isolation: 'container', labels: {}, observedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown },
      ]);
      expect(json(await berth(['status', ws, '--json']))).toMatchObject({ id: ws, state: 'running', isolated: true });
    });

    it('passes the exit code and the workspace env through exec', async () => {
      const result = await berth(['exec', ws, '--', 'sh', '-c', 'echo "$GREETING in $(pwd)"; cat hello.txt; exit 5']);
      expect(result).toEqual({ exitCode: 5, stdout: 'hi there in /workspace\nhello from the host\n', stderr: '' });
      const verbatim = await berth(['exec', ws, '--', 'printf', '%s|', '; rm -rf /workspace', '$(id)']);
      expect(verbatim.stdout).toBe('; rm -rf /workspace|$(id)|');
      expect(existsSync(join(root, 'hello.txt'))).toBe(true);
    });

    it('execs through the ledger when the address card is missing, and writes none itself', async () => {
      const card = join(home, 'workspaces', ws, 'address.json');
      expect(JSON.parse(readFileSync(card, 'utf8'))).toMatchObject({ runtime: engine });
      rmSync(card);
      expect(await berth(['exec', ws, '--', 'sh', '-c', 'exit 6'])).toMatchObject({ exitCode: 6 });
      expect(existsSync(card)).toBe(false);
    });

    it('opens a shell with the workspace env and profile', async () => {
      const result = await berth(['shell', ws], { input: 'echo "[$GREETING] [$BERTH_WORKSPACE] $(pwd)"; exit 3\n' });
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toContain(`[hi there] [${ws}] /workspace`);
    });

    it('copies files in and out', async () => {
      writeFileSync(join(scratch, 'in.txt'), 'copied in\n');
      expect((await berth(['cp', join(scratch, 'in.txt'), `${ws}:/tmp/in.txt`])).exitCode).toBe(0);
      expect((await berth(['exec', ws, '--', 'cat', '/tmp/in.txt'])).stdout).toBe('copied in\n');
      expect((await berth(['cp', `${ws}:/tmp/in.txt`, join(scratch, 'out.txt')])).exitCode).toBe(0);
      expect(readFileSync(join(scratch, 'out.txt'), 'utf8')).toBe('copied in\n');
    });

    it('runs a dev server from the CLI: URL, list, logs, open, stop', async () => {
      const started = json<{ state: string; url: string }>(await berth(['dev', 'start', ws, 'web', '--json', '--', 'python3', '-m', 'http.server', '8080']));
      expect(started.state).toBe('running');
      const page = await fetch(started.url, { signal: AbortSignal.timeout(5000) });
      expect(page.status).toBe(200);
      expect(json<{ name: string; state: string; url: string }[]>(await berth(['dev', 'ls', ws, '--json']))).toEqual([expect.objectContaining({ name: 'web', state: 'running', url: started.url })]);
      expect((await berth(['dev', 'open', ws, 'web'])).stdout).toBe(`${started.url}\n`);
      expect((await berth(['dev', 'logs', ws, 'web'])).stdout).toContain('"GET / HTTP/1.1" 200');
      expect(json<{ state: string }>(await berth(['dev', 'stop', ws, 'web', '--json'])).state).toBe('stopped');
      const usage = await berth(['dev', 'start', ws, 'web']);
      expect(usage).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('Missing the command to run after --.') as unknown });
    });

    it('declares egress on up, changes it live, serves it, and cleans its network up', async () => {
      const eg = `eg-${run8}`;
      type Egress = { policy: { allow: string[]; deny: string[] }; enforced: boolean; network: string; proxy: string };
      const up = json<{ action: string; egress: Egress }>(await berth(['up', eg, '--root', root, '--image', TEST_IMAGE, '--allow', 'registry.example.test', '--deny', '*.bad.test', '--json']));
      expect(up.egress).toMatchObject({ enforced: true, network: `berth-net-${eg}`, policy: { allow: ['registry.example.test'], deny: ['*.bad.test'] } });
      expect(json<Egress>(await berth(['egress', 'allow', eg, '10.1.2.3:8080', '--json']))).toEqual({ allow: ['10.1.2.3:8080', 'registry.example.test'], deny: ['*.bad.test'] });
      expect(json<Egress>(await berth(['egress', 'revoke', eg, '*.bad.test', '--json']))).toEqual({ allow: ['10.1.2.3:8080', 'registry.example.test'], deny: [] });
      const bad = await berth(['egress', 'allow', eg, 'http://nope']);
      expect(bad).toMatchObject({ exitCode: 1, stderr: expect.stringContaining('Invalid egress pattern') as unknown });
      // `up` without options keeps everything as declared, the live change included: nothing recreated.
      expect(json<{ action: string; egress: Egress }>(await berth(['up', eg, '--json']))).toMatchObject({ action: 'reused', egress: { policy: { allow: ['10.1.2.3:8080', 'registry.example.test'] } } });
      expect(json<{ egress: Egress }>(await berth(['status', eg, '--json'])).egress).toMatchObject({ enforced: true, network: `berth-net-${eg}` });
      expect(json<{ type: string }[]>(await berth(['egress', 'log', eg, '--json'])).map((e) => e.type)).toEqual(['egress.policy-changed', 'egress.policy-changed']);

      // The proxy answers on the workspace network's gateway while `egress serve` runs.
      const [host, port] = (json<Egress>(await berth(['egress', 'show', eg, '--json'])).proxy).split(':');
      const controller = new AbortController();
      const serving = run([process.execPath, BERTH_BIN, 'egress', 'serve'], { env, signal: controller.signal, okExitCodes: 'any', timeoutMs: 60_000 }).catch((e: unknown) => e);
      // Not fetch(): the Fetch standard turns a 407 into a network error. The raw answer is the proof.
      const answered = await waitFor(
        () => run(['curl', '-s', '-m', '1', '-o', '/dev/null', '-w', '%{http_code}', `http://${host ?? ''}:${port ?? ''}/`], { okExitCodes: 'any' }).then((r) => r.stdout === '407'),
        { timeout: 20_000, interval: 100, message: 'the proxy to answer 407' },
      ).catch(() => false); // the assertion below names what `egress serve` said
      controller.abort();
      const served = await serving;
      expect(answered, String((served as { stderr?: string } | undefined)?.stderr ?? served)).toBe(true);

      expect((await berth(['rm', eg])).exitCode).toBe(0);
      expect((await engineCli(['network', 'inspect', `berth-net-${eg}`])).exitCode).not.toBe(0);
      expect(json(await berth(['egress', 'show', eg, '--json']))).toBeNull();
    });

    it('plans and applies a manifest: converges, refuses a stale plan, removes only what it declared, never a foreign container', async () => {
      const dir = join(scratch, 'declared');
      // Its own Berth home, so the workspaces made here never show up in the other tests' listings.
      const berth = berthCli({ ...env, BERTH_HOME: join(scratch, 'declared-home') });
      mkdirSync(join(dir, 'm1'), { recursive: true });
      mkdirSync(join(dir, 'm2'), { recursive: true });
      const [m1, m2, m3] = [`m1-${run8}`, `m2-${run8}`, `m3-${run8}`];
      const manifest = join(dir, 'berth.yaml');
      const write = (body: string): void => writeFileSync(manifest, `version: 1\nworkspaces:\n${body}`);
      const m1Block = (env: string) => `  ${m1}:\n    root: ./m1\n    image: ${TEST_IMAGE}\n    env: { MODE: ${env} }\n    devServers:\n      web:\n        command: [python3, -m, http.server, "8080"]\n`;
      const m2Block = `  ${m2}:\n    root: ./m2\n    image: ${TEST_IMAGE}\n    egress:\n      allow: [registry.example.test]\n`;
      write(m1Block('one') + m2Block);
      type PlanOut = { hash: string; actions: { kind: string; workspace: string; name?: string }[] };
      const first = json<PlanOut>(await berth(['plan', '-f', manifest, '--json']));
      expect(first.actions.map((a) => [a.kind, a.workspace, a.name ?? ''])).toEqual([
        ['create', m1, ''],
        ['dev-start', m1, 'web'],
        ['create', m2, ''],
      ]);
      expect((await berth(['apply', '-f', manifest])).exitCode).toBe(2);
      const stale = await berth(['apply', '-f', manifest, '--plan-hash', '0000000000000000', '--json']);
      expect(stale.exitCode).toBe(1);
      expect(JSON.parse(stale.stdout)).toMatchObject({ error: { code: 'E_CONFLICT' } });
      const applied = json<{ outcomes: { ok: boolean }[] }>(await berth(['apply', '-f', manifest, '--plan-hash', first.hash, '--json']));
      expect(applied.outcomes.map((o) => o.ok)).toEqual([true, true, true]);
      expect(json<PlanOut>(await berth(['plan', '-f', manifest, '--json'])).actions).toEqual([]);
      // Every plan is in the event log with its hash; every effect has its intent and outcome.
      const planEvents = json<{ data: { hash: string } }[]>(await berth(['events', '--json', '--type', 'plan']));
      expect(planEvents.map((e) => e.data.hash)).toContain(first.hash);
      expect(json<unknown[]>(await berth(['events', '--json', '--type', 'apply.intent'])).length).toBe(3);
      expect(json<unknown[]>(await berth(['events', '--json', '--type', 'apply.done'])).length).toBe(3);

      // An ad-hoc workspace beside the manifest's is never the manifest's to remove.
      json(await berth(['up', `adhoc-${run8}`, '--root', root, '--image', TEST_IMAGE, '--json']));
      write(m1Block('two'));
      const changed = json<PlanOut>(await berth(['plan', '-f', manifest, '--json']));
      expect(changed.actions.map((a) => [a.kind, a.workspace])).toEqual([
        ['recreate', m1],
        ['dev-start', m1],
        ['remove', m2],
      ]);
      expect(json<{ outcomes: { ok: boolean }[] }>(await berth(['apply', '-f', manifest, '--yes', '--json'])).outcomes.every((o) => o.ok)).toBe(true);
      expect((await engineCli(['inspect', `berth-${m2}`])).exitCode).not.toBe(0);
      expect((await engineCli(['inspect', `berth-adhoc-${run8}`])).exitCode).toBe(0);

      // A foreign container under a declared name is reported, never touched.
      await engineCli(['create', '--name', `berth-${m3}`, TEST_IMAGE, 'true']);
      write(m1Block('two') + `  ${m3}:\n    root: ./m1\n    image: ${TEST_IMAGE}\n`);
      const blocked = json<PlanOut>(await berth(['plan', '-f', manifest, '--json']));
      expect(blocked.actions).toEqual([expect.objectContaining({ kind: 'blocked', workspace: m3 })]);
      // One reconcile cycle reports it (exit 1: something it cannot fix) and leaves it alone.
      const reconciled = await berth(['reconcile', '-f', manifest, '--json']);
      expect(reconciled.exitCode).toBe(1);
      expect(JSON.parse(reconciled.stdout)).toMatchObject({ error: null, findings: [{ drift: 'foreign', verdict: 'block', action: { workspace: m3 } }] });
      const human = await berth(['reconcile', '-f', manifest]);
      expect(human.stdout).toContain(`BLOCKED  cannot manage ${m3}  (${engine}): a container that Berth did not create holds the name`);
      expect((await engineCli(['inspect', `berth-${m3}`])).exitCode).toBe(0);

      writeFileSync(manifest, 'version: 1\nworkspaces:\n  web:\n    cpu: 2\n');
      const broken = await berth(['plan', '-f', manifest]);
      expect(broken.exitCode).toBe(1);
      expect(broken.stderr).toContain('berth.yaml:4:5: workspaces.web.cpu: unknown key "cpu"');

      // Over the memory budget: refused before anything is planned, with the numbers and the way out.
      write(`  ${m1}:\n    root: ./m1\n    image: ${TEST_IMAGE}\n    memory: 2g\n`);
      const over = await berthCli({ ...env, BERTH_HOME: join(scratch, 'declared-home'), BERTH_MEMORY_BUDGET: '1g' })(['plan', '-f', manifest]);
      expect(over.exitCode).toBe(1);
      expect(over.stderr).toContain(`need 2g of memory, over the budget of 1g (BERTH_MEMORY_BUDGET=1g) by 1g:\n  ${m1}: 2g`);
    });

    it('starts a stopped workspace, and recreates on drift with the reason', async () => {
      expect((await berth(['stop', ws])).exitCode).toBe(0);
      expect(json<{ state: string }[]>(await berth(['ls', '--json']))[0]?.state).toBe('stopped');
      expect(json(await up('--env', 'GREETING=hi there', '--mount', join(scratch, 'not-yet')))).toMatchObject({ action: 'started' });
      expect(json(await up('--env', 'GREETING=changed'))).toMatchObject({ action: 'recreated', reasons: ['env changed'] });
    });

    it('shows drifted, missing and foreign states', async () => {
      const extra = join(scratch, 'appears-later');
      json(await up('--env', 'GREETING=changed', '--mount', extra));
      mkdirSync(extra);
      expect(json<{ state: string }[]>(await berth(['ls', '--json']))[0]?.state).toBe('drifted');
      await engineCli(['rm', '-f', `berth-${ws}`]);
      expect(json<{ state: string }[]>(await berth(['ls', '--json']))[0]?.state).toBe('missing');
      const exec = await berth(['exec', ws, '--', 'true']);
      expect(exec.exitCode).toBe(1);
      expect(exec.stderr).toContain(`The container of workspace "${ws}" no longer exists`);
      await engineCli(['create', '--name', `berth-${ws}`, TEST_IMAGE, 'tail', '-f', '/dev/null']);
      expect(json<{ state: string }[]>(await berth(['ls', '--json']))[0]?.state).toBe('foreign');
      const refused = await up();
      expect(refused.exitCode).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'E_CONFLICT' } });
      expect(refused.stderr).toContain('hint: Berth never reuses or deletes containers it does not own');
      expect((await berth(['rm', ws])).exitCode).toBe(1);
      expect((await engineCli(['inspect', `berth-${ws}`])).exitCode).toBe(0);
      await engineCli(['rm', '-f', `berth-${ws}`]);
    });

    it('records every change in the event log', async () => {
      const events = json<{ type: string; workspace?: string }[]>(await berth(['events', '--json', '--workspace', ws]));
      const types = events.map((e) => e.type);
      for (const type of ['workspace.created', 'workspace.mount-skipped', 'workspace.stopped', 'workspace.started', 'workspace.recreated']) {
        expect(types).toContain(type);
      }
      expect(json<unknown[]>(await berth(['events', '--json', '--type', 'workspace.stopped'])).length).toBeGreaterThan(0);
      // --since takes a duration back from now or a time; nothing is newer than the future.
      expect(json<unknown[]>(await berth(['events', '--json', '--since', '1h', '--workspace', ws])).length).toBe(events.length);
      expect(json<unknown[]>(await berth(['events', '--json', '--since', new Date(Date.now() + 3_600_000).toISOString()]))).toEqual([]);
      const badSince = await berth(['events', '--since', 'yesterday']);
      expect(badSince.exitCode).toBe(2);
      expect(badSince.stderr).toContain('--since takes a time (2026-11-23T10:00:00Z) or a duration (10m, 2h), got "yesterday".');

      // --follow prints each new event as one JSON line as it is recorded, filtered like the rest.
      const followed = `follow-${run8}`;
      const lines: string[] = [];
      const controller = new AbortController();
      const since = new Date().toISOString();
      const following = runStreaming([process.execPath, BERTH_BIN, 'events', '--follow', '--json', '--type', 'workspace.created', '--since', since], {
        env,
        signal: controller.signal,
        timeoutMs: 60_000,
        onStdout: (chunk) => lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== '')),
      }).catch(() => undefined);
      json(await berth(['up', followed, '--root', root, '--image', TEST_IMAGE, '--json']));
      // No throw here: the follower is stopped first, then the assertion shows what it printed.
      await waitFor(() => lines.some((line) => line.includes(followed)), { timeout: 20_000, message: 'the followed workspace' }).catch(() => undefined);
      controller.abort();
      await following;
      expect(lines.map((line) => JSON.parse(line) as { type: string; workspace: string })).toEqual([expect.objectContaining({ type: 'workspace.created', workspace: followed })]);
      expect((await berth(['rm', followed])).exitCode).toBe(0);
    });

    it('gc removes only labelled, ledgered containers no longer declared (folder gone, or dropped by their manifest); 10 look-alikes survive', async () => {
      const owner = readFileSync(join(home, 'installation-id'), 'utf8').trim();
      const ours = { 'dev.berth.managed': 'true', 'dev.berth.owner': owner };
      const labelArgs = (labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
      const goneRoot = join(scratch, 'gone-project');
      const spoofRoot = join(scratch, 'spoofed-project');
      mkdirSync(goneRoot);
      mkdirSync(spoofRoot);
      const gone = `gone-${run8}`;
      const spoofed = `spoof-${run8}`;
      json(await berth(['up', gone, '--root', goneRoot, '--image', TEST_IMAGE, '--json']));
      json(await berth(['up', spoofed, '--root', spoofRoot, '--image', TEST_IMAGE, '--json']));
      // The spoofed workspace's container is replaced by a foreign one wearing our labels: same name, other id.
      await engineCli(['rm', '-f', `berth-${spoofed}`]);
      const lookAlikes: [string, Record<string, string>][] = [
        [`berth-la1-${run8}`, {}],
        [`berth-la2-${run8}`, { 'dev.berth.managed': 'true' }],
        [`berth-la3-${run8}`, { 'dev.berth.managed': 'true', 'dev.berth.workspace': `la3-${run8}` }],
        [`berth-la4-${run8}`, { 'dev.berth.managed': 'true', 'dev.berth.owner': randomUUID() }],
        [`berth-la5-${run8}`, { 'dev.berth.owner': owner }],
        [`berth-la6-${run8}`, { ...ours, 'dev.berth.workspace': `la6-${run8}`, 'dev.berth.root': goneRoot }],
        [`berth-la7-${run8}`, { 'dev.berth.managed': 'false', 'dev.berth.owner': owner }],
        [`la8-${run8}`, { ...ours, 'dev.berth.workspace': `la8-${run8}` }],
        [`berth-la9-${run8}`, { 'dev.berth.workspace': gone }],
        [`berth-${spoofed}`, { ...ours, 'dev.berth.workspace': spoofed, 'dev.berth.root': spoofRoot }],
      ];
      for (const [name, labels] of lookAlikes) {
        const created = await engineCli(['create', '--name', name, ...labelArgs(labels), TEST_IMAGE, 'tail', '-f', '/dev/null']);
        expect(created.exitCode, created.stderr).toBe(0);
      }
      // Declared by a manifest: kept while the manifest lists it (its folder gone or not), collected once it does not.
      const declDir = join(scratch, 'gc-declared');
      mkdirSync(join(declDir, 'root'), { recursive: true });
      const decl = `decl-${run8}`;
      const declManifest = join(declDir, 'berth.yaml');
      writeFileSync(declManifest, `version: 1\nworkspaces:\n  ${decl}:\n    root: ./root\n    image: ${TEST_IMAGE}\n`);
      expect(json<{ outcomes: { ok: boolean }[] }>(await berth(['apply', '--yes', '-f', declManifest, '--json'])).outcomes.map((o) => o.ok)).toEqual([true]);
      rmSync(join(declDir, 'root'), { recursive: true });
      rmSync(goneRoot, { recursive: true });
      rmSync(spoofRoot, { recursive: true });

      const dryRun = json<{ containers: { name: string }[]; applied: boolean }>(await berth(['gc', '--json']));
      expect(dryRun.applied).toBe(false);
      expect(dryRun.containers.map((c) => c.name)).toEqual([`berth-${gone}`]);
      expect((await engineCli(['inspect', `berth-${gone}`])).exitCode).toBe(0);

      const applied = json<{ containers: { name: string }[]; applied: boolean }>(await berth(['gc', '--yes', '--json']));
      expect(applied).toMatchObject({ applied: true, containers: [{ name: `berth-${gone}` }] });
      expect((await engineCli(['inspect', `berth-${gone}`])).exitCode).not.toBe(0);
      for (const [name] of lookAlikes) expect((await engineCli(['inspect', name])).exitCode, `${name} must survive gc`).toBe(0);

      expect((await engineCli(['inspect', `berth-${decl}`])).exitCode, 'a declared workspace must survive gc').toBe(0);
      rmSync(declManifest);
      const undeclared = json<{ containers: unknown[] }>(await berth(['gc', '--json']));
      expect(undeclared.containers).toEqual([{ name: `berth-${decl}`, workspace: decl, root: join(declDir, 'root'), reason: `no longer declared: ${declManifest} does not list it any more` }]);
      expect(json<{ containers: unknown[] }>(await berth(['gc', '--yes', '--json'])).containers).toEqual(undeclared.containers);
      expect((await engineCli(['inspect', `berth-${decl}`])).exitCode).not.toBe(0);
      for (const [name] of lookAlikes) expect((await engineCli(['inspect', name])).exitCode, `${name} must survive gc`).toBe(0);
    });

    it('doctor says whether the hot path uses the engine API socket, and how to get it when it does not', async () => {
      type Report = { checks: { id: string; status: string; detail: string; fix?: string }[] };
      const check = (report: Report) => report.checks.find((c) => c.id === 'engine.api');
      const withSocket = check(JSON.parse((await berth(['doctor', '--json'])).stdout) as Report);
      expect(withSocket).toMatchObject({ status: 'ok', detail: expect.stringMatching(new RegExp(`^${engine} API socket /\\S+\\.sock answers`)) as unknown });
      const apiVar = engine === 'docker' ? 'BERTH_DOCKER_API' : 'BERTH_PODMAN_API';
      const dead = berthCli({ ...env, [apiVar]: join(scratch, 'no-such.sock') });
      const without = check(JSON.parse((await dead(['doctor', '--json'])).stdout) as Report);
      expect(without).toMatchObject({ status: 'warn', detail: expect.stringContaining(`through the ${engine} CLI`) as unknown, fix: expect.stringContaining(apiVar) as unknown });
    });

    it('answers bad input with a message, a hint and the right exit code', async () => {
      const badId = await berth(['up', 'Bad_ID', '--json']);
      expect(badId.exitCode).toBe(1);
      expect(JSON.parse(badId.stdout)).toEqual({ error: { code: 'E_INVALID_INPUT', message: 'Invalid workspace id "Bad_ID".', hint: expect.stringContaining('lower-case') as unknown } });
      const usage = await berth(['up']);
      expect(usage.exitCode).toBe(2);
      expect(usage.stderr).toContain('Missing <id>.');
      expect((await berth(['up', ws, '--bogus'])).exitCode).toBe(2);
      expect((await berth(['exec', ws])).stderr).toContain('Missing the command to run after --.');
      const sensitive = await berth(['up', `sens-${run8}`, '--root', root, '--image', TEST_IMAGE, '--mount', home]);
      expect(sensitive.exitCode).toBe(1);
      expect(sensitive.stderr).toContain("Refusing to mount");
      expect(sensitive.stderr).toContain("Berth's own state folder");
    });
  });
}
