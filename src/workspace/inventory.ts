import { BerthError, isBerthError } from '../errors.js';
import type { ContainerBrief, Runtime } from '../runtime/types.js';
import type { Ledger, LedgerEntry } from '../state/ledger.js';
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
  /** The app's metadata, as last declared (`{}` when none, or when Berth has no record of it). */
  labels: Record<string, string>;
  /** Why it is drifted, when Berth can say more than "the spec changed" (an edited devcontainer.json). */
  drift?: string[] | undefined;
}

export interface InventoryOptions {
  runtime: Runtime;
  /** What Berth created: listings read it (gc, which closes rows, is the orchestrator's). */
  ledger: Pick<Ledger, 'activeEntries'>;
  owner: string;
  workspaces: WorkspaceManager;
}

/**
 * What this installation has on a runtime, as the engine and the ledger say together: listings and
 * status, including the states an engine alone cannot tell. (gc, which removes, is the
 * orchestrator's: `orchestrator/gc.ts`.)
 */
export class Inventory {
  private readonly runtime: Runtime;
  private readonly ledger: InventoryOptions['ledger'];
  private readonly owner: string;
  private readonly workspaces: WorkspaceManager;

  constructor(options: InventoryOptions) {
    this.runtime = options.runtime;
    this.ledger = options.ledger;
    this.owner = options.owner;
    this.workspaces = options.workspaces;
  }

  /** The live ledger entries of this runtime's workspace containers. */
  containerEntries(): LedgerEntry[] {
    return this.ledger.activeEntries(this.runtime.kind).filter((e) => e.kind === 'container');
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

  /**
   * This installation's workspaces on the selected runtime: one engine list (one API call where the
   * engine has a socket: `listBrief`), plus one image lookup per image; an inspect only for a
   * ledgered workspace the list did not show (missing, or a foreign container took its name).
   */
  async list(): Promise<WorkspaceSummary[]> {
    const filter = { labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } };
    const containers = this.runtime.listBrief ? await this.runtime.listBrief(filter) : await this.runtime.list(filter);
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

  private async summarize(
    name: string,
    container: ContainerBrief | null,
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
      isolation: this.runtime.capabilities.isolation === 'container' ? 'container' : container?.labels['berth.isolation'] === 'sandbox' ? 'sandbox' : 'none',
      labels: { ...spec?.labels },
    });
    if (container === null) return summary('missing');
    if (!isOwnedBy(container.labels, this.owner)) return summary('foreign');
    if (spec !== null) {
      const imageId = this.runtime.capabilities.images ? await imageIdOf(spec.image) : null;
      if (this.workspaces.hasDrifted(id, container, spec, imageId)) return summary('drifted');
      // Brought up from a devcontainer.json: an edit to it since is drift too, with the reason.
      if (spec.devcontainer) {
        const { devcontainerDrift } = await import('./devcontainer-up.js');
        const reason = await devcontainerDrift(spec.devcontainer, spec.root);
        if (reason !== null) return { ...summary('drifted'), drift: [reason] };
      }
    }
    return summary(container.state === 'running' ? 'running' : 'stopped');
  }
}

/** Image ids by reference, each asked of the runtime once (a missing image is null). */
export function imageIds(runtime: Pick<Runtime, 'imageInspect'>): (ref: string) => Promise<string | null> {
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
