import type { DeclaredState, DeclaredWorkspace } from './manifest.js';

/**
 * Which runtime each declared workspace lives on: its own `runtime`, `sandbox: vm` (Apple), or the
 * caller's choice (undefined: Berth's usual selection). One group per choice, in manifest order; an
 * empty manifest still yields the default group, so removals of what it dropped are planned.
 */
export function groupByRuntime(state: DeclaredState, fallback: string | undefined): Map<string | undefined, DeclaredWorkspace[]> {
  const groups = new Map<string | undefined, DeclaredWorkspace[]>();
  for (const ws of state.workspaces) {
    const choice = ws.runtime ?? (ws.sandbox === 'vm' ? 'apple' : fallback);
    groups.set(choice, [...(groups.get(choice) ?? []), ws]);
  }
  if (groups.size === 0) groups.set(fallback, []);
  return groups;
}
