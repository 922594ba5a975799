import { readDevcontainer } from '../devcontainer/read.js';
import { BerthError } from '../errors.js';
import { applyPlan, planOnTarget, type ApplyOutcome, type ApplyProgress, type ManifestPlan } from './apply.js';
import { defaultConcurrency } from './concurrency.js';
import { checkMemoryBudget, claimsOn, memoryBudget } from './budget.js';
import { loadManifest, type DeclaredState, type DeclaredWorkspace } from './manifest.js';
import { planHash, type Action } from './plan.js';
import { groupByRuntime } from './runtimes.js';
import { toTarget, type Target, type TargetSource } from './target.js';

/**
 * The one way a manifest becomes a plan, for `berth plan`/`apply`, the daemon's `POST /plan` and
 * `/apply`, and every reconcile cycle: read the manifest, give each workspace its runtime, open a
 * target (`target.ts`: a Berth's pieces) per runtime, check the memory budget before any engine is
 * asked, then plan each runtime's share. A plan a person can see (CLI, API) is recorded as a
 * `plan.made` event.
 */

export interface PlanManifestOptions<P extends ManifestPlan = ManifestPlan> {
  /**
   * The Berth (or target) for a runtime choice (undefined: the usual selection), given the
   * workspaces that would live on it; it may refuse (the daemon serves one runtime only).
   */
  open: (choice: string | undefined, declared: readonly DeclaredWorkspace[]) => Promise<Target | TargetSource>;
  /** The runtime of workspaces that name none (undefined: Berth's usual selection). */
  runtime?: string | undefined;
  /** Where BERTH_MEMORY_BUDGET is read. */
  env: NodeJS.ProcessEnv;
  /**
   * How one runtime's share is observed and planned. Default: `planOnTarget` (what `apply` does). The
   * reconciler passes its own (missing images reported, dev-server liveness, health probes).
   */
  planGroup?: ((target: Target, state: DeclaredState, declared: readonly DeclaredWorkspace[]) => Promise<P>) | undefined;
  /** Record `plan.made` (a plan shown to a person); the reconciler's cycles are not. Default true. */
  record?: boolean | undefined;
}

export interface PlannedManifest<P extends ManifestPlan = ManifestPlan> {
  state: DeclaredState;
  /** One per runtime the manifest uses, in manifest order. */
  groups: { target: Target; planned: P }[];
  /** Every group's actions, in group order. */
  actions: Action[];
  /** What `apply --plan-hash` / `POST /apply {planHash}` must name. */
  hash: string;
}

export async function planManifest<P extends ManifestPlan = ManifestPlan>(file: string, options: PlanManifestOptions<P>): Promise<PlannedManifest<P>> {
  const state = loadManifest(file);
  const opened: { target: Target; declared: DeclaredWorkspace[] }[] = [];
  for (const [choice, declared] of groupByRuntime(state, options.runtime)) opened.push({ target: toTarget(await options.open(choice, declared)), declared });
  // The guardrail comes before any engine is asked: a manifest over budget has no plan.
  const devcontainerMemory = (declared: DeclaredWorkspace): number | null => hostRequirementsMemory(declared, options.env);
  checkMemoryBudget(
    opened.flatMap((g) => claimsOn(g.target.runtime.kind, g.declared, devcontainerMemory)),
    memoryBudget(options.env, state.memoryBudget),
  );
  const planGroup = options.planGroup ?? ((target, state, declared) => planOnTarget(target, state, declared) as Promise<P>);
  const groups: { target: Target; planned: P }[] = [];
  for (const { target, declared } of opened) groups.push({ target, planned: await planGroup(target, state, declared) });
  const actions = groups.flatMap((g) => g.planned.plan.actions);
  const hash = planHash(actions);
  if (options.record ?? true) {
    // Every plan shown or applied is in the event log, so a later apply (or an audit) can find it.
    groups[0]?.target.record({
      type: 'plan.made',
      message: `Plan ${hash} of ${state.file}: ${actions.length === 0 ? 'nothing to do' : `${String(actions.length)} action${actions.length === 1 ? '' : 's'}`}.`,
      data: { hash, manifest: state.file, actions: actions.map((a) => ({ ...a })) },
    });
  }
  return { state, groups, actions, hash };
}

/**
 * An apply names the plan it was shown (`expected`); when the world has moved on since, the plan is
 * another and nothing is done. Undefined: the caller confirmed without a hash (`--yes`).
 */
export function confirmPlan(planned: PlannedManifest, expected: string | undefined): void {
  if (expected === undefined || expected === planned.hash) return;
  throw new BerthError('E_CONFLICT', `The world changed since plan ${expected}: the plan is now ${planned.hash}.`, {
    hint: 'Plan again (`berth plan`, or POST /plan through the daemon), review it, and apply that hash.',
    details: { expected, actual: planned.hash },
  });
}

export interface ApplyManifestOptions {
  /** Workspaces worked on at once, per runtime; default `defaultConcurrency` (cores, memory budget). */
  concurrency?: number | undefined;
  /** Where BERTH_MEMORY_BUDGET is read, for the default concurrency. */
  env?: NodeJS.ProcessEnv | undefined;
  onProgress?: ((progress: ApplyProgress) => void) | undefined;
}

/** Carries out every runtime's share of a plan (runtimes side by side); the outcomes in group order. */
export async function applyManifest(planned: PlannedManifest, options: ApplyManifestOptions = {}): Promise<ApplyOutcome[]> {
  const concurrency = options.concurrency ?? defaultConcurrency({ budgetBytes: memoryBudget(options.env ?? process.env, planned.state.memoryBudget).bytes });
  const total = planned.actions.length;
  const shares = new Map<number, ApplyProgress>();
  // One progress for the whole manifest, however many runtimes it spans.
  const report = (group: number, progress: ApplyProgress): void => {
    shares.set(group, progress);
    const all = [...shares.values()];
    options.onProgress?.({ done: all.reduce((n, p) => n + p.done, 0), total, running: all.flatMap((p) => p.running).sort((a, b) => a.startedAt - b.startedAt) });
  };
  const outcomes = await Promise.all(planned.groups.map((g, i) => applyPlan(g.target, planned.state, g.planned, { concurrency, onProgress: (p) => report(i, p) })));
  return outcomes.flat();
}

/**
 * The memory a declared devcontainer workspace that names none gets at up: its devcontainer.json's
 * hostRequirements.memory. A file that cannot be read claims nothing here; planning it says why.
 */
function hostRequirementsMemory(declared: DeclaredWorkspace, env: NodeJS.ProcessEnv): number | null {
  if (declared.devcontainer === undefined || declared.spec.root === undefined) return null;
  try {
    return readDevcontainer({ workspaceFolder: declared.spec.root, config: declared.devcontainer.config, env }).config.hostRequirements.memoryBytes;
  } catch {
    return null;
  }
}
