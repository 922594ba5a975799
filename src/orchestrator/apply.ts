import type { Berth } from '../berth.js';
import { BerthError } from '../errors.js';
import type { DeclaredState, DeclaredWorkspace } from './manifest.js';
import { plan, type Action, type Plan } from './plan.js';

export interface ManifestPlan {
  plan: Plan;
  /** The workspaces this plan covers on this Berth's runtime. */
  declared: DeclaredWorkspace[];
}

/**
 * Observes one runtime and plans the manifest's workspaces on it (plus removals of ones it dropped):
 * one group of `planManifest` (plan-manifest.ts), which is what callers use.
 */
export async function planOnBerth(berth: Berth, state: DeclaredState, declared: readonly DeclaredWorkspace[]): Promise<ManifestPlan> {
  const { desired, observed } = await berth.observeFor(declared, removableOf(berth, state));
  return { plan: plan(desired, observed), declared: [...declared] };
}

/** What this manifest declared before and no longer does: the only workspaces its plans may remove. */
export function removableOf(berth: Berth, state: DeclaredState): Set<string> {
  // All of the manifest's ids, not just this runtime's: a workspace declared on another runtime stays.
  const ids = new Set(state.workspaces.map((d) => d.id));
  return new Set(berth.store.declared.declaredBy(state.file).filter((id) => !ids.has(id)));
}

export interface ApplyOutcome {
  action: Action;
  ok: boolean;
  message: string;
}

/**
 * Carries a plan out, one action at a time: an event before each effect (intent) and one after
 * (outcome). Every effect is itself idempotent (ensure, stop, remove), so a run killed at any point
 * is finished by the next apply, which plans from what it then observes.
 */
export async function applyPlan(berth: Berth, state: DeclaredState, planned: ManifestPlan, options: { events?: 'apply' | 'reconcile' } = {}): Promise<ApplyOutcome[]> {
  const events = options.events ?? 'apply';
  const byId = new Map(planned.declared.map((d) => [d.id, d]));
  const outcomes: ApplyOutcome[] = [];
  const kept = new Set(berth.store.declared.declaredBy(state.file));
  for (const id of byId.keys()) kept.add(id);
  // Declared first: a workspace created below is already this manifest's if the run is cut short.
  berth.store.declared.setDeclared(state.file, [...kept]);
  const removed = new Set<string>();
  for (const action of planned.plan.actions) {
    const label = describe(action);
    berth.record({ type: `${events}.intent`, workspace: action.workspace, message: `${events === 'apply' ? 'Apply' : 'Reconcile'}: ${label}.`, data: { ...action } });
    try {
      await carryOut(berth, action, byId.get(action.workspace));
      if (action.kind === 'remove') removed.add(action.workspace);
      outcomes.push({ action, ok: action.kind !== 'blocked', message: action.kind === 'blocked' ? `${label}: ${action.reason}` : label });
    } catch (error) {
      outcomes.push({ action, ok: false, message: `${label}: ${error instanceof Error ? error.message : String(error)}` });
    }
    const outcome = outcomes[outcomes.length - 1];
    if (outcome) berth.record({ type: outcome.ok ? `${events}.done` : `${events}.failed`, workspace: action.workspace, level: outcome.ok ? 'info' : 'warn', message: outcome.message });
  }
  // Read again (another runtime's apply may have written meanwhile); what no longer has anything on
  // record on any runtime is no longer this manifest's to remove, whoever finished removing it.
  const declaredIds = new Set(state.workspaces.map((w) => w.id));
  const onRecord = new Set(berth.store.ledger.activeEntries().map((e) => e.workspace));
  berth.store.declared.setDeclared(state.file, berth.store.declared.declaredBy(state.file).filter((id) => declaredIds.has(id) || (!removed.has(id) && onRecord.has(id))));
  return outcomes;
}

async function carryOut(berth: Berth, action: Action, declared: DeclaredWorkspace | undefined): Promise<void> {
  const need = (): DeclaredWorkspace => {
    if (!declared) throw new BerthError('E_INVALID_INPUT', `Workspace ${action.workspace} is not declared.`);
    return declared;
  };
  switch (action.kind) {
    case 'create':
    case 'recreate':
    case 'start':
      await berth.up(action.workspace, need().spec);
      return;
    case 'remove':
      await berth.remove(action.workspace);
      return;
    case 'set-egress':
      await berth.setEgress(action.workspace, action.policy);
      return;
    case 'restore-shield':
      await berth.restoreShield(action.workspace);
      return;
    case 'dev-start': {
      const server = need().devServers.find((d) => d.name === action.name);
      if (!server) throw new BerthError('E_INVALID_INPUT', `Dev server ${action.name} is not declared.`);
      await berth.dev.start(action.workspace, action.name, { command: server.command, cwd: server.cwd, env: server.env, port: server.port });
      return;
    }
    case 'dev-stop':
      await berth.dev.stop(action.workspace, action.name);
      return;
    case 'blocked':
      return;
    case 'restart':
      if (action.name === undefined) await berth.restart(action.workspace, need().spec);
      else await berth.dev.restart(action.workspace, action.name);
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
