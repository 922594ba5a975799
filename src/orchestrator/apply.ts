import { BerthError } from '../errors.js';
import { settleBounded } from '../process/bounded.js';
import type { DeclaredState, DeclaredWorkspace } from './manifest.js';
import { observe } from './observe.js';
import { plan, type Action, type Plan } from './plan.js';
import type { DesiredStateStore, Target } from './target.js';

export interface ManifestPlan {
  plan: Plan;
  /** The workspaces this plan covers on this target's runtime. */
  declared: DeclaredWorkspace[];
}

/**
 * Observes one runtime and plans the manifest's workspaces on it (plus removals of ones it dropped):
 * one group of `planManifest` (plan-manifest.ts), which is what callers use.
 */
export async function planOnTarget(target: Target, state: DeclaredState, declared: readonly DeclaredWorkspace[]): Promise<ManifestPlan> {
  const { desired, observed } = await observe(target, declared, removableOf(target.desired, state));
  return { plan: plan(desired, observed), declared: [...declared] };
}

/** What this manifest declared before and no longer does: the only workspaces its plans may remove. */
export function removableOf(desired: DesiredStateStore, state: DeclaredState): Set<string> {
  // All of the manifest's ids, not just this runtime's: a workspace declared on another runtime stays.
  const ids = new Set(state.workspaces.map((d) => d.id));
  return new Set(desired.declaredBy(state.file).filter((id) => !ids.has(id)));
}

export interface ApplyOutcome {
  action: Action;
  ok: boolean;
  message: string;
}

export interface ApplyOptions {
  events?: 'apply' | 'reconcile' | undefined;
  /**
   * At most this many workspaces worked on at once (default 1). A workspace's own actions always
   * run one after another, in plan order; 1 runs the whole plan in plan order, as before.
   */
  concurrency?: number | undefined;
  /** Told when an action starts or ends: how far the apply is, and what is running (for a progress line). */
  onProgress?: ((progress: ApplyProgress) => void) | undefined;
}

export interface ApplyProgress {
  done: number;
  total: number;
  /** The actions in flight, oldest first, with when each started (epoch ms). */
  running: { label: string; startedAt: number }[];
}

/**
 * Carries a plan out: an event before each effect (intent) and one after (outcome). Independent
 * workspaces run side by side, up to `concurrency` at once; one workspace's actions stay in order
 * (dev servers after their workspace's create). Every effect is itself idempotent (ensure, stop,
 * remove) and holds the workspace's file lock, so a run killed at any point is finished by the
 * next apply, which plans from what it then observes. Outcomes come back in plan order.
 */
export async function applyPlan(target: Target, state: DeclaredState, planned: ManifestPlan, options: ApplyOptions = {}): Promise<ApplyOutcome[]> {
  const events = options.events ?? 'apply';
  const byId = new Map(planned.declared.map((d) => [d.id, d]));
  const actions = planned.plan.actions;
  const outcomes = new Array<ApplyOutcome>(actions.length);
  const kept = new Set(target.desired.declaredBy(state.file));
  for (const id of byId.keys()) kept.add(id);
  // Declared first: a workspace created below is already this manifest's if the run is cut short.
  target.desired.setDeclared(state.file, [...kept]);
  const removed = new Set<string>();
  const running = new Map<number, { label: string; startedAt: number }>();
  let done = 0;
  const progress = (): void => options.onProgress?.({ done, total: actions.length, running: [...running.values()] });

  const step = async (index: number, action: Action): Promise<void> => {
    const label = describe(action);
    target.record({ type: `${events}.intent`, workspace: action.workspace, message: `${events === 'apply' ? 'Apply' : 'Reconcile'}: ${label}.`, data: { ...action } });
    running.set(index, { label, startedAt: Date.now() });
    progress();
    let outcome: ApplyOutcome;
    try {
      await carryOut(target, action, byId.get(action.workspace));
      if (action.kind === 'remove') removed.add(action.workspace);
      outcome = { action, ok: action.kind !== 'blocked', message: action.kind === 'blocked' ? `${label}: ${action.reason}` : label };
    } catch (error) {
      outcome = { action, ok: false, message: `${label}: ${error instanceof Error ? error.message : String(error)}` };
    }
    outcomes[index] = outcome;
    running.delete(index);
    done += 1;
    target.record({ type: outcome.ok ? `${events}.done` : `${events}.failed`, workspace: action.workspace, level: outcome.ok ? 'info' : 'warn', message: outcome.message });
    progress();
  };
  // 1: the whole plan as one lane, in plan order, exactly as before parallel apply.
  const concurrency = options.concurrency ?? 1;
  const lanes = concurrency <= 1 ? [actions.map((_, index) => index)] : lanesOf(actions);
  // step() never throws (an effect's failure is its outcome); an event log that fails is rethrown.
  const settled = await settleBounded(lanes, concurrency, async (lane) => {
    for (const index of lane) await step(index, actions[index] as Action);
  });
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  // Read again (another runtime's apply may have written meanwhile); what no longer has anything on
  // record on any runtime is no longer this manifest's to remove, whoever finished removing it.
  const declaredIds = new Set(state.workspaces.map((w) => w.id));
  const onRecord = new Set(target.ledger.activeEntries().map((e) => e.workspace));
  target.desired.setDeclared(state.file, target.desired.declaredBy(state.file).filter((id) => declaredIds.has(id) || (!removed.has(id) && onRecord.has(id))));
  return outcomes;
}

/** The plan's action indexes, one lane per workspace, lanes in the order their first action appears. */
export function lanesOf(actions: readonly Action[]): number[][] {
  const lanes = new Map<string, number[]>();
  actions.forEach((action, index) => {
    const lane = lanes.get(action.workspace);
    if (lane) lane.push(index);
    else lanes.set(action.workspace, [index]);
  });
  return [...lanes.values()];
}

async function carryOut(target: Target, action: Action, declared: DeclaredWorkspace | undefined): Promise<void> {
  const need = (): DeclaredWorkspace => {
    if (!declared) throw new BerthError('E_INVALID_INPUT', `Workspace ${action.workspace} is not declared.`);
    return declared;
  };
  switch (action.kind) {
    case 'create':
    case 'recreate':
    case 'start':
      await target.workspaces.up(action.workspace, need().spec, need().devcontainer);
      return;
    case 'remove':
      await target.workspaces.remove(action.workspace);
      return;
    case 'set-egress':
      await target.workspaces.setEgress(action.workspace, action.policy);
      return;
    case 'restore-shield':
      await target.workspaces.restoreShield(action.workspace);
      return;
    case 'dev-start': {
      const server = need().devServers.find((d) => d.name === action.name);
      if (!server) throw new BerthError('E_INVALID_INPUT', `Dev server ${action.name} is not declared.`);
      await target.dev.start(action.workspace, action.name, { command: server.command, cwd: server.cwd, env: server.env, port: server.port });
      return;
    }
    case 'dev-stop':
      await target.dev.stop(action.workspace, action.name);
      return;
    case 'blocked':
      return;
    case 'restart':
      if (action.name === undefined) await target.workspaces.restart(action.workspace, need().spec, need().devcontainer);
      else await target.dev.restart(action.workspace, action.name);
      return;
  }
}

export function describe(action: Action): string {
  switch (action.kind) {
    case 'recreate':
      return `recreate ${action.workspace} (${action.reasons.join('; ')})`;
    case 'set-egress':
      return `set egress of ${action.workspace}: allow ${action.policy.allow.join(', ') || 'nothing'}`;
    case 'dev-start':
    case 'dev-stop':
      return `${action.kind === 'dev-start' ? 'start' : 'stop'} dev server ${action.workspace}/${action.name}`;
    case 'restore-shield':
      return `restore the host shield of ${action.workspace}`;
    case 'blocked':
      return `cannot manage ${action.workspace}`;
    case 'restart':
      return `restart ${action.name === undefined ? `workspace ${action.workspace}` : `dev server ${action.workspace}/${action.name}`} (${action.reason})`;
    default:
      return `${action.kind} ${action.workspace}`;
  }
}
