import { BerthError } from '../errors.js';
import { isLive } from '../devserver/types.js';
import { shieldIntact } from '../egress/host-shield.js';
import type { ContainerInfo } from '../runtime/types.js';
import type { LedgerEntry } from '../state/store.js';
import { imageIds } from '../workspace/inventory.js';
import { LABELS, isOwnedBy } from '../workspace/labels.js';
import { normalizeSpec, type WorkspaceSpecInput } from '../workspace/spec.js';
import { containerNameFor } from '../workspace/workspace-id.js';
import type { DeclaredDevcontainer } from './manifest.js';
import type { DesiredWorkspace, ObservedWorkspace } from './plan.js';
import type { Target } from './target.js';

/** A declared workspace as the observer needs it: its id, spec and dev servers. */
export interface ToObserve {
  id: string;
  spec: WorkspaceSpecInput;
  /** Declared with `devcontainer:`: its spec is what the devcontainer.json gives, `spec` the base. */
  devcontainer?: DeclaredDevcontainer | undefined;
  devServers: readonly { name: string; command: readonly string[] }[];
}

export interface Observation {
  desired: DesiredWorkspace[];
  observed: ObservedWorkspace[];
  /** The containers seen, by workspace id (health probes and restart policy read them). */
  containers: Map<string, ContainerInfo>;
  /** Declared workspaces left out of the plan (a missing image, with `skipMissingImages`), and why. */
  unplannable: { id: string; reason: string }[];
}

/**
 * What the planner needs to know of the workspaces on one runtime, for one `list` call: every
 * container whose name starts with `berth-` (ours, and foreign ones that took a workspace's name),
 * plus one image lookup per distinct image, the ledger, egress records and the dev-server registry
 * (SQLite, no engine call). Desired hashes are computed exactly as ensure() does.
 */
export async function observe(
  target: Target,
  declared: readonly ToObserve[],
  removable: ReadonlySet<string>,
  options: { skipMissingImages?: boolean } = {},
): Promise<Observation> {
  const { runtime } = target;
  const listed = await runtime.list({ namePrefix: containerNameFor('') });
  const byName = new Map(listed.map((c) => [c.name, c]));
  const entries = target.ledger.activeEntries(runtime.kind);
  // Anything still on record (a container, or an egress network a cut-short removal left) counts.
  const ledgered = new Set(entries.map((e) => e.workspace));
  adoptConfirmed(target, entries, byName);
  const imageIdOf = imageIds(runtime);
  const desired: DesiredWorkspace[] = [];
  const observed: ObservedWorkspace[] = [];
  const containers = new Map<string, ContainerInfo>();
  // With skipMissingImages (the reconciler), a workspace whose image is missing is left out of the
  // plan and reported, instead of failing everyone's cycle: Berth never pulls, so it cannot fix it.
  const unplannable: { id: string; reason: string }[] = [];
  for (const item of declared) {
    let spec;
    try {
      // A devcontainer workspace's spec is the file's, as up --devcontainer would ensure it: an
      // edited config, Dockerfile or feature is then drift in the same hash and the same words.
      spec = normalizeSpec(item.devcontainer ? await target.workspaces.devcontainerSpec(item.id, item.devcontainer, item.spec) : item.spec);
    } catch (error) {
      if (!item.devcontainer || !options.skipMissingImages) throw error;
      unplannable.push({ id: item.id, reason: `The devcontainer.json of workspace ${item.id} cannot be brought up: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}` });
      continue;
    }
    const imageId = runtime.capabilities.images ? await imageIdOf(spec.image) : null;
    // A devcontainer's image is built by the apply (its tag is its content): missing is not a block.
    if (runtime.capabilities.images && imageId === null && !item.devcontainer) {
      const reason = `The image "${spec.image}" of workspace ${item.id} is not in ${runtime.kind}.`;
      if (options.skipMissingImages) {
        unplannable.push({ id: item.id, reason: `${reason} Build or pull it; Berth never pulls` });
        continue;
      }
      throw new BerthError('E_NOT_FOUND', reason, { hint: `Build or pull it, then plan again.` });
    }
    const hash = target.workspaces.desiredHash(item.id, spec, imageId);
    desired.push({ id: item.id, specHash: hash.hash, specParts: hash.parts, egress: spec.egress, devServers: item.devServers });
  }
  const skipped = new Set(unplannable.map((u) => u.id));
  for (const id of new Set([...declared.map((d) => d.id), ...removable])) {
    if (skipped.has(id)) continue;
    const container = byName.get(containerNameFor(id)) ?? null;
    if (container) containers.set(id, container);
    const egress = target.egress.egress(id)[0];
    observed.push({
      id,
      container:
        container === null
          ? null
          : { state: container.state, specHash: container.labels[LABELS.specHash] ?? null, specParts: container.labels[LABELS.specParts], ours: isOwnedBy(container.labels, target.owner) },
      ledgered: ledgered.has(id) && removable.has(id),
      egress: egress?.policy ?? null,
      ...shieldOf(egress),
      devServers: target.devServers.devServers(id).map((s) => ({ name: s.name, command: s.command, live: isLive(s) })),
    });
  }
  return { desired, observed, containers, unplannable };
}

/**
 * A create cut short after the engine made the container (Berth killed while `run` was in flight)
 * leaves a ledger intent without an engine id: the container, ours by its labels, confirms it.
 */
function adoptConfirmed(target: Target, entries: readonly LedgerEntry[], byName: ReadonlyMap<string, ContainerInfo>): void {
  for (const entry of entries) {
    const container = entry.kind === 'container' && entry.resourceId === null ? byName.get(entry.name) : undefined;
    if (container && isOwnedBy(container.labels, target.owner)) target.ledger.confirmCreated(entry.id, container.id);
  }
}

/** What the planner sees of a workspace's host shield: only where there is one (a bridge), a stat per rule. */
function shieldOf(record: { bridge: string | null } | undefined): { shield?: 'intact' | 'missing' } {
  if (record?.bridge == null) return {};
  return { shield: shieldIntact(record.bridge) ? 'intact' : 'missing' };
}
