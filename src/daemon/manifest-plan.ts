import type { Berth } from '../berth.js';
import { planManifest, type ManifestPlan } from '../orchestrator/apply.js';
import { loadManifest, type DeclaredState } from '../orchestrator/manifest.js';
import { planHash } from '../orchestrator/plan.js';

export interface RuntimePlan {
  state: DeclaredState;
  planned: ManifestPlan;
  hash: string;
  /** Declared workspaces that live on another runtime than this daemon's: not planned here. */
  elsewhere: string[];
}

/**
 * Plans a manifest's workspaces on the daemon's runtime, choosing each workspace's runtime as
 * `berth plan` does (its own choice, `sandbox: vm` → apple, else the default).
 */
export async function planOnRuntime(berth: Berth, file: string): Promise<RuntimePlan> {
  const state = loadManifest(file);
  const kind = berth.runtime.kind;
  const runtimeOf = (w: DeclaredState['workspaces'][number]): string => w.runtime ?? (w.sandbox === 'vm' ? 'apple' : kind);
  const mine = state.workspaces.filter((w) => runtimeOf(w) === kind);
  const planned = await planManifest(berth, state, mine);
  return { state, planned, hash: planHash(planned.plan.actions), elsewhere: state.workspaces.filter((w) => runtimeOf(w) !== kind).map((w) => w.id) };
}
