import { existsSync } from 'node:fs';
import { BerthError, isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import type { ContainerInfo, Runtime } from '../runtime/types.js';
import type { LedgerEntry, Store } from '../state/store.js';
import type { WorkspaceManager } from './ensure.js';
import { LABELS, isOwnedBy } from './labels.js';
import type { WorkspaceSpec } from './spec.js';
import { containerNameFor, validateWorkspaceId } from './workspace-id.js';

/**
 * running / stopped: ours, as the engine reports it. drifted: ours, but `berth up` with its recorded
 * spec would recreate it. missing: our ledger says we created it, the engine no longer has it.
 * foreign: a container holds the name and is not ours.
 */
export type WorkspaceState = 'running' | 'stopped' | 'missing' | 'drifted' | 'foreign';

export interface WorkspaceSummary {
  id: string;
  runtime: Runtime['kind'];
  state: WorkspaceState;
  container: string;
  image: string | null;
  ip: string | null;
  root: string | null;
  /** What confines it: a container, host mode's sandbox, or nothing (unconfined host mode). */
  isolation: 'container' | 'sandbox' | 'none';
}

/** What gc would do (dry run) or did (--yes). */
export interface GcReport {
  /** Containers with our labels and a ledger entry whose workspace folder is gone. */
  containers: { name: string; workspace: string | null; root: string | null; reason: string }[];
  /** Ledger entries whose container no longer exists; only Berth's own records change. */
  forgotten: { name: string; workspace: string | null }[];
  applied: boolean;
}

export interface InventoryOptions {
  runtime: Runtime;
  store: Store;
  owner: string;
  workspaces: WorkspaceManager;
  record: (input: BerthEventInput) => void;
}

/**
 * What this installation has on a runtime, as the engine and the ledger say together: listings and
 * status (including the states an engine alone cannot tell), and the conservative gc.
 */
export class Inventory {
  private readonly runtime: Runtime;
  private readonly store: Store;
  private readonly owner: string;
  private readonly workspaces: WorkspaceManager;
  private readonly record: (input: BerthEventInput) => void;

  constructor(options: InventoryOptions) {
    this.runtime = options.runtime;
    this.store = options.store;
    this.owner = options.owner;
    this.workspaces = options.workspaces;
    this.record = options.record;
  }

  /** The live ledger entries of this runtime's workspace containers. */
  containerEntries(): LedgerEntry[] {
    return this.store.activeEntries(this.runtime.kind).filter((e) => e.kind === 'container');
  }

  /** One workspace, including the states an engine alone cannot tell (missing, drifted, foreign). */
  async status(id: string): Promise<WorkspaceSummary> {
    validateWorkspaceId(id);
    const name = containerNameFor(id);
    const entry = this.containerEntries().find((e) => e.name === name);
    const container = await this.runtime.inspect(name).catch((error: unknown) => {
      if (isBerthError(error, 'E_NOT_FOUND')) return null;
      throw error;
    });
    if (container === null && entry === undefined) {
      throw new BerthError('E_NOT_FOUND', `No workspace "${id}" on ${this.runtime.kind}.`, {
        hint: `Create it with \`berth up ${id}\` (or check --runtime).`,
      });
    }
    return this.summarize(name, container, entry, imageIds(this.runtime));
  }

  /** This installation's workspaces on the selected runtime: one engine list, plus one image lookup per image. */
  async list(): Promise<WorkspaceSummary[]> {
    const containers = await this.runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } });
    const entries = this.containerEntries();
    const imageIdOf = imageIds(this.runtime);
    const summaries: WorkspaceSummary[] = [];
    for (const container of containers) {
      summaries.push(await this.summarize(container.name, container, entries.find((e) => e.name === container.name), imageIdOf));
    }
    for (const entry of entries.filter((e) => !containers.some((c) => c.name === e.name))) {
      // Not among ours: gone (missing), or someone else's container took the name (foreign).
      const container = await this.runtime.inspect(entry.name).catch(() => null);
      summaries.push(await this.summarize(entry.name, container, entry, imageIdOf));
    }
    return summaries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Conservative cleanup: removes only containers that carry our labels AND are in our ledger AND
   * are no longer declared. A workspace a manifest declared is declared while that manifest still
   * lists it (`declaredBy` answers; its folder does not matter: apply owns it); any other workspace
   * while its folder exists. A dry run unless `apply` is set; either way it says what.
   */
  async gc(options: { apply?: boolean; declaredBy?: (workspace: string) => { manifest: string; declared: boolean } | undefined } = {}): Promise<GcReport> {
    const containers = await this.runtime.list({ labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } });
    const entries = this.containerEntries();
    const report: GcReport = { containers: [], forgotten: [], applied: options.apply ?? false };
    for (const container of containers) {
      const entry = entries.find((e) => e.name === container.name && (e.resourceId === null || e.resourceId === container.id));
      if (!entry) continue;
      const root = recordedSpec(entry)?.root ?? null;
      const manifest = entry.workspace === null ? undefined : options.declaredBy?.(entry.workspace);
      if (manifest) {
        if (!manifest.declared) report.containers.push({ name: container.name, workspace: entry.workspace, root, reason: `no longer declared: ${manifest.manifest} does not list it any more` });
        continue;
      }
      if (root === null || existsSync(root)) continue;
      report.containers.push({ name: container.name, workspace: entry.workspace, root, reason: `its workspace folder ${root} is gone` });
    }
    for (const entry of entries.filter((e) => !containers.some((c) => c.name === e.name))) {
      const stillThere = await this.runtime.inspect(entry.name).then(
        (c) => isOwnedBy(c.labels, this.owner),
        () => false,
      );
      if (!stillThere) report.forgotten.push({ name: entry.name, workspace: entry.workspace });
    }
    if (!report.applied) return report;
    for (const { name, workspace, reason } of report.containers) {
      await this.runtime.remove(name, { force: true });
      this.store.markRemoved(this.runtime.kind, 'container', name);
      if (workspace !== null) this.store.undeclare(workspace);
      this.record({ type: 'gc.removed', workspace: workspace ?? undefined, message: `gc removed ${name}: ${reason}.` });
    }
    for (const { name, workspace } of report.forgotten) {
      this.store.markRemoved(this.runtime.kind, 'container', name);
      this.record({ type: 'gc.forgotten', workspace: workspace ?? undefined, message: `gc closed the ledger entry of ${name}: the container no longer exists.` });
    }
    return report;
  }

  private async summarize(
    name: string,
    container: ContainerInfo | null,
    entry: LedgerEntry | undefined,
    imageIdOf: (ref: string) => Promise<string | null>,
  ): Promise<WorkspaceSummary> {
    const spec = entry ? recordedSpec(entry) : null;
    const id = container?.labels[LABELS.workspace] ?? entry?.workspace ?? name.replace(/^berth-/, '');
    const summary = (state: WorkspaceState): WorkspaceSummary => ({
      id,
      runtime: this.runtime.kind,
      state,
      container: name,
      image: container?.image ?? spec?.image ?? null,
      ip: container?.ip ?? null,
      root: container?.labels[LABELS.root] ?? spec?.root ?? null,
      isolation: this.runtime.capabilities.isolation ? 'container' : container?.labels['berth.isolation'] === 'sandbox' ? 'sandbox' : 'none',
    });
    if (container === null) return summary('missing');
    if (!isOwnedBy(container.labels, this.owner)) return summary('foreign');
    if (spec !== null) {
      const imageId = this.runtime.capabilities.images ? await imageIdOf(spec.image) : null;
      if (this.workspaces.hasDrifted(id, container, spec, imageId)) return summary('drifted');
    }
    return summary(container.state === 'running' ? 'running' : 'stopped');
  }
}

/** Image ids by reference, each asked of the runtime once (a missing image is null). */
export function imageIds(runtime: Runtime): (ref: string) => Promise<string | null> {
  const cache = new Map<string, Promise<string | null>>();
  return (ref) => {
    let id = cache.get(ref);
    if (id === undefined) {
      id = runtime.imageInspect(ref).then(
        (image) => image.id,
        () => null,
      );
      cache.set(ref, id);
    }
    return id;
  };
}

/** The spec a ledger entry records, if it is one. */
export function recordedSpec(entry: LedgerEntry): WorkspaceSpec | null {
  const spec = entry.spec as Partial<WorkspaceSpec> | null;
  return spec && typeof spec.root === 'string' && typeof spec.image === 'string' ? (spec as WorkspaceSpec) : null;
}
