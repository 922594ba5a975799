import type { ManifestPlan } from '../../orchestrator/apply.js';
import type { DeclaredState } from '../../orchestrator/manifest.js';
import { defineCommand } from '../args.js';
import { openBerth } from '../open-berth.js';
import { EXIT, printJson, UsageError } from '../output.js';
import type { Berth } from '../../berth.js';

const PLAN_USAGE = 'Usage: berth plan [-f berth.yaml] [--json]\n';
const APPLY_USAGE = 'Usage: berth apply [-f berth.yaml] [--yes | --plan-hash HASH] [--json]\n';

/** One Berth per runtime the manifest uses: its own choice, `sandbox: vm` (Apple), or the default. */
async function plans(file: string, runtime: string | undefined): Promise<{ state: DeclaredState; groups: { berth: Berth; planned: ManifestPlan }[]; hash: string }> {
  const [{ loadManifest }, { planManifest }, { planHash }, { groupByRuntime }, budget] = await Promise.all([
    import('../../orchestrator/manifest.js'),
    import('../../orchestrator/apply.js'),
    import('../../orchestrator/plan.js'),
    import('../../orchestrator/runtimes.js'),
    import('../../orchestrator/budget.js'),
  ]);
  const state = loadManifest(file);
  const opened: { berth: Berth; declared: DeclaredState['workspaces'] }[] = [];
  for (const [choice, declared] of groupByRuntime(state, runtime)) opened.push({ berth: await openBerth(choice), declared });
  // The guardrail comes before any engine is asked: a manifest over budget has no plan.
  budget.checkMemoryBudget(
    opened.flatMap((g) => budget.claimsOn(g.berth.runtime.kind, g.declared)),
    budget.memoryBudget(process.env, state.memoryBudget),
  );
  const groups = [];
  for (const { berth, declared } of opened) groups.push({ berth, planned: await planManifest(berth, state, declared) });
  const actions = groups.flatMap((g) => g.planned.plan.actions);
  const hash = planHash(actions);
  // Every plan shown or applied is in the event log, so a later apply (or an audit) can find it.
  groups[0]?.berth.record({
    type: 'plan.made',
    message: `Plan ${hash} of ${state.file}: ${actions.length === 0 ? 'nothing to do' : `${String(actions.length)} action${actions.length === 1 ? '' : 's'}`}.`,
    data: { hash, manifest: state.file, actions: actions.map((a) => ({ ...a })) },
  });
  return { state, groups, hash };
}

async function print(groups: { berth: Berth; planned: ManifestPlan }[], hash: string, json: boolean): Promise<void> {
  if (json) {
    printJson({ hash, actions: groups.flatMap((g) => g.planned.plan.actions.map((a) => ({ runtime: g.berth.runtime.kind, ...a }))) });
    return;
  }
  const { describe } = await import('../../orchestrator/apply.js');
  const lines = groups.flatMap((g) => g.planned.plan.actions.map((a) => `  ${describe(a)}  (${g.berth.runtime.kind})`));
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
  options: { file: { type: 'string', short: 'f' }, yes: { type: 'boolean', short: 'y' }, 'plan-hash': { type: 'string' } },
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

async function apply(values: { file?: string | undefined; runtime?: string | undefined; yes?: boolean | undefined; 'plan-hash'?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const { state, groups, hash } = await plans(values.file ?? 'berth.yaml', values.runtime);
  const expected = values['plan-hash'];
  if (expected !== undefined && expected !== hash) {
    const { BerthError } = await import('../../errors.js');
    throw new BerthError('E_CONFLICT', `The world changed since plan ${expected}: the plan is now ${hash}.`, { hint: 'Run `berth plan` again, review it, and apply that hash.' });
  }
  if (expected === undefined && !values.yes) throw new UsageError('apply changes workspaces: review `berth plan`, then pass --yes (or --plan-hash HASH).', APPLY_USAGE);
  const { applyPlan } = await import('../../orchestrator/apply.js');
  const outcomes = (await Promise.all(groups.map((g) => applyPlan(g.berth, state, g.planned)))).flat();
  if (values.json) printJson({ hash, outcomes });
  else process.stdout.write(outcomes.length === 0 ? 'Nothing to do: the workspaces are as declared.\n' : outcomes.map((o) => `${o.ok ? 'done  ' : 'FAILED'} ${o.message}`).join('\n') + '\n');
  return outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.user;
}
