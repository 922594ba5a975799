import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE, engineEnv } from '../support/engines.js';
import { expectCode } from '../support/expect-code.js';
import { startDaemon, type RunningDaemon } from '../support/daemon.js';
import { berthCli } from './cli-suite.js';

const ENGINE = 'podman';
const BUDGET = '384m';

/**
 * The daemon plans a manifest through the same planner as `berth plan`: the same memory budget
 * (BERTH_MEMORY_BUDGET in the daemon's environment), the same refusal, the same `plan.made` event.
 * Nothing here creates a container: plans only.
 */
describe(`berthd POST /plan on ${ENGINE} plans as berth plan does`, () => {
  const run8 = randomUUID().slice(0, 8);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-daemon-plan-'));
  const home = join(scratch, 'home');
  const env = { ...engineEnv(), BERTH_MEMORY_BUDGET: BUDGET };
  const manifest = (name: string, ids: string[]): string => {
    const file = join(scratch, `${name}.yaml`);
    const workspaces = ids.map((id) => `  ${id}:\n    root: project\n    image: ${TEST_IMAGE}\n    memory: 256m\n`).join('');
    writeFileSync(file, `version: 1\nworkspaces:\n${workspaces}`);
    return file;
  };
  let daemon: RunningDaemon;

  beforeAll(async () => {
    mkdirSync(join(scratch, 'project'));
    daemon = await startDaemon(home, env, ['--runtime', ENGINE]);
  });

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses a manifest over the memory budget with the refusal berth plan gives', async () => {
    const file = manifest('over', [`plan-a-${run8}`, `plan-b-${run8}`]);
    const refused = await expectCode(daemon.client.plan(file), 'E_INVALID_INPUT');
    const cli = await berthCli({ ...env, BERTH_HOME: join(scratch, 'cli-home'), BERTH_NO_DAEMON: '1' })(['plan', '-f', file, '--runtime', ENGINE, '--json']);
    expect(cli.exitCode, cli.stderr).toBe(1);
    const { error } = JSON.parse(cli.stdout) as { error: { code: string; message: string; hint?: string; details?: Record<string, unknown> } };
    expect(error.message).toContain(`over the budget of ${BUDGET} (BERTH_MEMORY_BUDGET=${BUDGET})`);
    expect({ code: refused.code, message: refused.message, hint: refused.hint }).toEqual({ code: error.code, message: error.message, hint: error.hint });
    // The numbers as data, through the daemon's error body and the client as through --json: nothing parses the sentence.
    expect(error.details).toMatchObject({ totalBytes: 512 * 1024 ** 2, budgetBytes: 384 * 1024 ** 2 });
    expect(refused.details).toEqual(error.details);
    // A refused plan is no plan: nothing recorded.
    expect(await daemon.client.events({ type: 'plan.made' })).toEqual([]);
  });

  it('records plan.made for a plan within the budget, as berth plan does', async () => {
    const id = `plan-c-${run8}`;
    const file = manifest('within', [id]);
    const planned = await daemon.client.plan(file);
    expect(planned.actions).toEqual([{ kind: 'create', workspace: id }]);
    const made = await daemon.client.events({ type: 'plan.made' });
    expect(made).toHaveLength(1);
    expect(made[0]?.data).toMatchObject({ hash: planned.hash, manifest: file, actions: [{ kind: 'create', workspace: id }] });
  });

  it('says a workspace is new in the error details, which the client and CLI match on (not the message)', async () => {
    // The API itself (the client would retry with its own folder as the root).
    const answer = await new Promise<{ status: number; body: { code?: string; details?: Record<string, unknown> } }>((resolve, reject) => {
      const req = request({ socketPath: join(home, 'berth.sock'), method: 'POST', path: `/workspaces/plan-new-${run8}/up`, headers: { host: 'localhost', 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string; details?: Record<string, unknown> } }));
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'E_INVALID_INPUT', details: { workspace: `plan-new-${run8}`, recorded: false } });
  });
});
