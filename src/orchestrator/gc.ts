import { existsSync } from 'node:fs';
import type { BerthEventInput } from '../events.js';
import type { ContainerInfo, Runtime, RuntimeKind } from '../runtime/types.js';
import type { LedgerEntry, ResourceKind } from '../state/store.js';
import { recordedSpec } from '../workspace/inventory.js';
import { COMPOSE_LABELS, LABELS, isOwnedBy } from '../workspace/labels.js';
import { stillDeclares } from './manifest.js';

/** What gc would do (dry run) or did (--yes). */
export interface GcReport {
  /** Containers with our labels and a ledger entry whose workspace folder is gone. */
  containers: { name: string; workspace: string | null; root: string | null; reason: string }[];
  /** Ledger entries whose container no longer exists; only Berth's own records change. */
  forgotten: { name: string; workspace: string | null }[];
  /**
   * Named volumes Berth made for a devcontainer's mounts (this installation's owner label and the
   * workspace's) whose workspace is no longer in the ledger, nor declared, nor has a container.
   * `error`: the engine refused to remove it (applied runs only); the others were still removed.
   */
  volumes: { name: string; workspace: string; reason: string; error?: string | undefined }[];
  /**
   * A devcontainer's other compose services (this installation's compose labels) whose workspace
   * is gone as a volume's is (`rm` takes them with it; these were left by a crash or kill).
   */
  services: { name: string; workspace: string; reason: string }[];
  applied: boolean;
}

/**
 * What gc leaves alone however orphaned it looks: a workspace's first `up` makes its volumes and
 * compose services before the ledger names the workspace, and a gc in that moment must not take them.
 */
export const GC_GRACE_MS = 10 * 60_000;

export interface GcOptions {
  apply?: boolean | undefined;
  /** Volumes and compose services younger than this are kept (default GC_GRACE_MS). */
  graceMs?: number | undefined;
}

/** What gc needs: one runtime, its installation's ledger and manifests' declarations, the event log. */
export interface GcTarget {
  runtime: Pick<Runtime, 'kind' | 'list' | 'inspect' | 'remove' | 'listVolumes' | 'removeVolume'>;
  owner: string;
  ledger: {
    activeEntries(runtime?: RuntimeKind): LedgerEntry[];
    markRemoved(runtime: RuntimeKind, kind: ResourceKind, name: string): void;
  };
  desired: {
    declaringManifest(workspace: string): string | undefined;
    undeclare(workspace: string): void;
  };
  record(event: BerthEventInput): void;
}

/**
 * Conservative cleanup: removes only containers that carry our labels AND are in our ledger AND
 * are no longer declared. A workspace a manifest declared is declared while that manifest still
 * lists it (its folder does not matter: apply owns it); any other workspace while its folder
 * exists. A dry run unless `apply` is set; either way it says what.
 */
export async function collectGarbage(target: GcTarget, options: GcOptions = {}): Promise<GcReport> {
  const { runtime, owner } = target;
  const containers = await runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: owner } });
  const entries = target.ledger.activeEntries(runtime.kind).filter((e) => e.kind === 'container');
  const report: GcReport = { containers: [], forgotten: [], volumes: [], services: [], applied: options.apply ?? false };
  for (const container of containers) {
    const entry = entries.find((e) => e.name === container.name && (e.resourceId === null || e.resourceId === container.id));
    if (!entry) continue;
    const root = recordedSpec(entry)?.root ?? null;
    const workspace = entry.workspace;
    const manifest = workspace === null ? undefined : target.desired.declaringManifest(workspace);
    if (workspace !== null && manifest !== undefined) {
      if (!stillDeclares(manifest, workspace)) report.containers.push({ name: container.name, workspace: entry.workspace, root, reason: `no longer declared: ${manifest} does not list it any more` });
      continue;
    }
    if (root === null || existsSync(root)) continue;
    report.containers.push({ name: container.name, workspace: entry.workspace, root, reason: `its workspace folder ${root} is gone` });
  }
  for (const entry of entries.filter((e) => !containers.some((c) => c.name === e.name))) {
    const stillThere = await runtime.inspect(entry.name).then(
      (c) => isOwnedBy(c.labels, owner),
      () => false,
    );
    if (!stillThere) report.forgotten.push({ name: entry.name, workspace: entry.workspace });
  }
  const gone = goneWorkspaces(target, containers, options.graceMs ?? GC_GRACE_MS);
  report.volumes = await orphanVolumes(target, gone);
  report.services = await orphanServices(target, gone);
  if (!report.applied) return report;
  for (const { name, workspace, reason } of report.containers) {
    await runtime.remove(name, { force: true });
    target.ledger.markRemoved(runtime.kind, 'container', name);
    if (workspace !== null) target.desired.undeclare(workspace);
    target.record({ type: 'gc.removed', workspace: workspace ?? undefined, message: `gc removed ${name}: ${reason}.` });
  }
  for (const { name, workspace } of report.forgotten) {
    target.ledger.markRemoved(runtime.kind, 'container', name);
    target.record({ type: 'gc.forgotten', workspace: workspace ?? undefined, message: `gc closed the ledger entry of ${name}: the container no longer exists.` });
  }
  for (const { name, workspace, reason } of report.services) {
    await runtime.remove(name, { force: true });
    target.record({ type: 'gc.removed', workspace, message: `gc removed the compose service ${name}: ${reason}.` });
  }
  for (const volume of report.volumes) {
    try {
      await target.runtime.removeVolume?.(volume.name);
      target.record({ type: 'gc.removed', workspace: volume.workspace, message: `gc removed the volume ${volume.name}: ${volume.reason}.` });
    } catch (error) {
      // In use by a container Berth does not know, say: kept, and said; the others still go.
      volume.error = error instanceof Error ? error.message : String(error);
    }
  }
  return report;
}

/**
 * Whether a resource labelled as this workspace's belongs to a workspace that is gone: no live
 * ledger entry of any kind on this runtime, no container of ours (the window of a recreate), not
 * declared by a manifest that still lists it; and made longer ago than the grace (or undated).
 */
type GoneTest = (workspace: string, createdAt: string | null) => boolean;

function goneWorkspaces(target: GcTarget, containers: readonly ContainerInfo[], graceMs: number): GoneTest {
  const live = new Set(target.ledger.activeEntries(target.runtime.kind).flatMap((e) => (e.workspace === null ? [] : [e.workspace])));
  for (const c of containers) {
    const workspace = c.labels[LABELS.workspace];
    if (workspace !== undefined) live.add(workspace);
  }
  const now = Date.now();
  return (workspace, createdAt) => {
    if (live.has(workspace)) return false;
    const manifest = target.desired.declaringManifest(workspace);
    if (manifest !== undefined && stillDeclares(manifest, workspace)) return false;
    const made = createdAt === null ? Number.NaN : Date.parse(createdAt);
    return Number.isNaN(made) || now - made >= graceMs;
  };
}

/**
 * The volumes Berth made for workspaces that are gone: this installation's owner label AND a
 * workspace label (container-spec.ts volumeLabels). `rm` keeps them, as the reference does; gc is
 * where they go. A volume without Berth's labels, or another installation's, is never looked at.
 */
async function orphanVolumes(target: GcTarget, gone: GoneTest): Promise<GcReport['volumes']> {
  const { runtime, owner } = target;
  if (!runtime.listVolumes) return [];
  return orphans(await runtime.listVolumes({ [LABELS.owner]: owner }), { workspace: LABELS.volumeWorkspace, owner: LABELS.owner }, owner, gone);
}

/** A devcontainer's other compose services (labels.ts COMPOSE_LABELS) of gone workspaces. */
async function orphanServices(target: GcTarget, gone: GoneTest): Promise<GcReport['services']> {
  const { runtime, owner } = target;
  return orphans(await runtime.list({ labels: { [COMPOSE_LABELS.owner]: owner } }), COMPOSE_LABELS, owner, gone);
}

/** Of these, by name, the ones whose labels name this owner and a workspace that is gone. */
function orphans(
  items: readonly { name: string; labels: Readonly<Record<string, string>>; createdAt: string | null }[],
  labels: { workspace: string; owner: string },
  owner: string,
  gone: GoneTest,
): { name: string; workspace: string; reason: string }[] {
  const out: { name: string; workspace: string; reason: string }[] = [];
  for (const item of items) {
    const workspace = item.labels[labels.workspace];
    if (workspace === undefined || item.labels[labels.owner] !== owner || !gone(workspace, item.createdAt)) continue;
    out.push({ name: item.name, workspace, reason: `its workspace ${workspace} no longer exists` });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
