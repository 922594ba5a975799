import type { ManifestPlan } from '../../orchestrator/apply.js';
import type { PlannedManifest } from '../../orchestrator/plan-manifest.js';
import type { Target } from '../../orchestrator/target.js';
import { defineCommand } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, printJson, UsageError } from '../output.js';

const PLAN_USAGE = 'Usage: berth plan [-f berth.yaml] [--json]\n';
const APPLY_USAGE = 'Usage: berth apply [-f berth.yaml] [--yes | --plan-hash HASH] [--concurrency N] [--json]\n       (--concurrency: workspaces worked on at once; 1 = one action at a time, in plan order; default from the cores and the memory budget)\n';

/** One Berth per runtime the manifest uses: its own choice, `sandbox: vm` (Apple), or the default. */
async function plans(file: string, runtime: string | undefined): Promise<PlannedManifest> {
  const { planManifest } = await import('../../orchestrator/plan-manifest.js');
  return planManifest(file, { open: (choice) => openBerth(choice), runtime, env: process.env });
}

async function print(groups: { target: Target; planned: ManifestPlan }[], hash: string, json: boolean): Promise<void> {
  if (json) {
    printJson({ hash, actions: groups.flatMap((g) => g.planned.plan.actions.map((a) => ({ runtime: g.target.runtime.kind, ...a }))) });
    return;
  }
  const { describe } = await import('../../orchestrator/apply.js');
  const lines = groups.flatMap((g) => g.planned.plan.actions.map((a) => `  ${describe(a)}  (${g.target.runtime.kind})`));
  process.stdout.write(lines.length === 0 ? 'Nothing to do: the workspaces are as declared.\n' : `Plan ${hash}:\n${lines.join('\n')}\n`);
}

export const planCommand = defineCommand({
  usage: PLAN_USAGE,
  options: { file: { type: 'string', short: 'f' } },
  async run({ values }) {
    const { groups, hash } = await plans(values.file ?? 'berth.yaml', values.runtime);
    await print(groups, hash, values.json ?? false);
    return EXIT.ok;
  },
});

export const applyCommand = defineCommand({
  usage: APPLY_USAGE,
  options: { file: { type: 'string', short: 'f' }, yes: { type: 'boolean', short: 'y' }, 'plan-hash': { type: 'string' }, concurrency: { type: 'string' } },
  async run({ values }) {
    const { holdReconciler } = await import('../reconciler-lock.js');
    const lock = await holdReconciler('apply', values.file ?? 'berth.yaml');
    try {
      return await apply(values);
    } finally {
      lock.release();
    }
  },
});

async function apply(values: { file?: string | undefined; runtime?: string | undefined; yes?: boolean | undefined; 'plan-hash'?: string | undefined; concurrency?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const { parseConcurrency } = await import('../../orchestrator/concurrency.js');
  const concurrency = values.concurrency === undefined ? undefined : parseConcurrency(values.concurrency, '--concurrency');
  const planned = await plans(values.file ?? 'berth.yaml', values.runtime);
  const expected = values['plan-hash'];
  if (expected === undefined && !values.yes) throw new UsageError('apply changes workspaces: review `berth plan`, then pass --yes (or --plan-hash HASH).', APPLY_USAGE);
  const { applyManifest, confirmPlan } = await import('../../orchestrator/plan-manifest.js');
  confirmPlan(planned, expected);
  const { hash } = planned;
  const { progressLine } = await import('../apply-progress.js');
  const progress = progressLine();
  const outcomes = await applyManifest(planned, { concurrency, env: process.env, onProgress: progress.onProgress }).finally(progress.end);
  if (values.json) printJson({ hash, outcomes });
  else process.stdout.write(outcomes.length === 0 ? 'Nothing to do: the workspaces are as declared.\n' : outcomes.map((o) => `${o.ok ? 'done  ' : 'FAILED'} ${o.message}`).join('\n') + '\n');
  return outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.user;
}
