import { statSync } from 'node:fs';
import { BerthError, isBerthError } from '../errors.js';
import type { ContainerBrief, Runtime } from '../runtime/types.js';
import type { Ledger, LedgerEntry } from '../state/ledger.js';
import type { WorkspaceManager } from './ensure.js';
import { LABELS, isOwnedBy } from './labels.js';
import { mountFacts } from './mounts.js';
import type { DevcontainerOrigin, WorkspaceSpec } from './spec.js';
import type { DevcontainerDrift } from './devcontainer-up.js';
import { containerNameFor, validateWorkspaceId } from './workspace-id.js';

/**
 * running / stopped: ours, as the engine reports it. drifted: ours, but `berth up` with its recorded
 * spec would recreate it. missing: our ledger says we created it, the engine no longer has it.
 * foreign: a container holds the name and is not ours. unavailable: its runtime cannot be reached
 * now (engine down, not installed), so nothing is known beyond what the ledger recorded.
 */
export type WorkspaceState = 'running' | 'stopped' | 'missing' | 'drifted' | 'foreign' | 'unavailable';

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
  /**
   * How fresh this summary is (ISO time): when its oldest fact was observed. The engine's state is
   * read for every listing; a drift verdict is reused for up to DRIFT_REUSE_MS while its inputs are
   * unchanged (the image id under it is asked every DRIFT_FRESH_MS), so a long-lived daemon does not
   * redo the same checks for every request.
   */
  observedAt: string;
  /** Why it is drifted, when Berth can say more than "the spec changed" (an edited devcontainer.json). */
  drift?: string[] | undefined;
  /**
   * Set when whether it drifted cannot be told without the network (an OCI feature of its
   * devcontainer.json that is not in the cache): why. The state is then as the engine says.
   */
  driftUnknown?: string | undefined;
}

/**
 * How long an image id stands before a listing asks the engine again (one call per image; a
 * rebuilt image changes the id, and with it every drift verdict made from it).
 */
export const DRIFT_FRESH_MS = 5_000;

/**
 * How long a drift verdict is reused while everything it was computed from is unchanged: the
 * container's spec-hash label, the recorded spec, the image id (asked every DRIFT_FRESH_MS) and the
 * filesystem facts the mount plan reads (real paths of the root and the mounts: `mountFacts`). Drift
 * is the mount plan and the spec hash, ~0.3 ms a workspace on a busy machine: at 200 workspaces, as
 * much as the engine's own list call. What is not in the key (the table of protected paths, a new
 * docker context socket) is seen within this time.
 */
export const DRIFT_REUSE_MS = 60_000;

export interface InventoryOptions {
  runtime: Runtime;
  /** What Berth created: listings read it (gc, which closes rows, is the orchestrator's). */
  ledger: Pick<Ledger, 'activeEntries'>;
  owner: string;
  workspaces: Pick<WorkspaceManager, 'hasDrifted'>;
  /** Where fetched devcontainer features are cached: a devcontainer's features are judged from it, offline. */
  featureCacheDir?: string | undefined;
  /** The clock (tests move it). */
  now?: () => number;
}

/** A drift verdict, with what it was computed from (a change to any of them recomputes it). */
interface DriftVerdict {
  key: string;
  at: number;
  drifted: boolean;
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
  private readonly workspaces: InventoryOptions['workspaces'];
  private readonly now: () => number;
  /** Drift verdicts by container name, reused while fresh and computed from the same inputs. */
  private readonly verdicts = new Map<string, DriftVerdict>();
  /** Image ids by reference, with when they were asked (one lookup per image per DRIFT_FRESH_MS). */
  private images: { at: number; idOf: (ref: string) => Promise<string | null> } | null = null;
  private readonly featureCacheDir: string | undefined;
  /** devcontainer.json verdicts of configs with features (their folders are hashed), by container name. */
  private readonly devcontainerVerdicts = new Map<string, { key: string; at: number; drift: DevcontainerDrift }>();

  constructor(options: InventoryOptions) {
    this.runtime = options.runtime;
    this.ledger = options.ledger;
    this.owner = options.owner;
    this.workspaces = options.workspaces;
    this.featureCacheDir = options.featureCacheDir;
    this.now = options.now ?? Date.now;
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
    return this.summarize(name, container, entry, imageIds(this.runtime), this.now(), false);
  }

  /**
   * This installation's workspaces on the selected runtime: one ledger query and one engine list
   * (one API call where the engine has a socket: `listBrief`). The image ids drift is judged against
   * are asked at the same time as the list, once per image and DRIFT_FRESH_MS; an inspect only for
   * a ledgered workspace the list did not show (missing, or a foreign container took its name).
   */
  async list(): Promise<WorkspaceSummary[]> {
    const filter = { labels: { [LABELS.managed]: 'true', [LABELS.owner]: this.owner } };
    const entries = new Map(this.containerEntries().map((e) => [e.name, e]));
    const imageIdOf = this.freshImageIds();
    // The images the recorded specs name, asked while the engine lists (not after it).
    if (this.runtime.capabilities.images) for (const entry of entries.values()) recordedSpecImage(entry, imageIdOf);
    const containers = this.runtime.listBrief ? await this.runtime.listBrief(filter) : await this.runtime.list(filter);
    const listedAt = this.now();
    const summaries = await Promise.all(containers.map((c) => this.summarize(c.name, c, entries.get(c.name), imageIdOf, listedAt, true)));
    const listed = new Set(containers.map((c) => c.name));
    for (const [name, entry] of entries) {
      if (listed.has(name)) continue;
      // Not among ours: gone (missing), or someone else's container took the name (foreign).
      const container = await this.runtime.inspect(name).catch(() => null);
      summaries.push(await this.summarize(name, container, entry, imageIdOf, this.now(), true));
    }
    for (const name of this.verdicts.keys()) if (!listed.has(name)) this.verdicts.delete(name);
    for (const name of this.devcontainerVerdicts.keys()) if (!listed.has(name)) this.devcontainerVerdicts.delete(name);
    return summaries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The image-id lookup of this listing: the last one's while it is fresh, else a new one. */
  private freshImageIds(): (ref: string) => Promise<string | null> {
    const now = this.now();
    if (this.images === null || now - this.images.at >= DRIFT_FRESH_MS) this.images = { at: now, idOf: imageIds(this.runtime) };
    return this.images.idOf;
  }

  /**
   * Would `berth up` recreate this container? Reuses the last verdict for DRIFT_REUSE_MS while it was
   * made from the same container label, recorded spec, image id and mount facts; returns the verdict
   * and its time.
   */
  private async drift(id: string, container: ContainerBrief, spec: WorkspaceSpec, imageIdOf: (ref: string) => Promise<string | null>, reuse: boolean): Promise<{ drifted: boolean; at: number }> {
    const imageId = this.runtime.capabilities.images ? await imageIdOf(spec.image) : null;
    const key = JSON.stringify([container.labels[LABELS.specHash] ?? null, imageId, spec, mountFacts(spec)]);
    const now = this.now();
    const last = this.verdicts.get(container.name);
    if (reuse && last !== undefined && last.key === key && now - last.at < DRIFT_REUSE_MS) return last;
    const verdict = { key, at: now, drifted: this.workspaces.hasDrifted(id, container, spec, imageId) };
    this.verdicts.set(container.name, verdict);
    return verdict;
  }

  /**
   * The devcontainer.json's drift. A config with features has its local feature folders hashed and
   * its OCI features read from the cache: that verdict is reused for DRIFT_FRESH_MS while the
   * config file itself is unchanged (an edited option shows at once, an edited feature file within
   * DRIFT_FRESH_MS). One without features is read on every listing, as it costs a file read.
   */
  private async devcontainerDrift(name: string, origin: DevcontainerOrigin, root: string, reuse: boolean): Promise<DevcontainerDrift> {
    const stamp = fileStamp(origin.file);
    const key = JSON.stringify([origin.hash, root, stamp]);
    const now = this.now();
    const last = this.devcontainerVerdicts.get(name);
    if (reuse && last !== undefined && last.key === key && now - last.at < DRIFT_FRESH_MS) return last.drift;
    const { devcontainerDrift } = await import('./devcontainer-up.js');
    const drift = await devcontainerDrift(origin, root, { featureCacheDir: this.featureCacheDir });
    if (origin.featuresHash !== undefined) this.devcontainerVerdicts.set(name, { key, at: now, drift });
    return drift;
  }

  private async summarize(
    name: string,
    container: ContainerBrief | null,
    entry: LedgerEntry | undefined,
    imageIdOf: (ref: string) => Promise<string | null>,
    observedAt: number,
    reuse: boolean,
  ): Promise<WorkspaceSummary> {
    const spec = entry ? recordedSpec(entry) : null;
    const id = container?.labels[LABELS.workspace] ?? entry?.workspace ?? name.replace(/^berth-/, '');
    let oldest = observedAt;
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
      observedAt: new Date(oldest).toISOString(),
    });
    if (container === null) return summary('missing');
    if (!isOwnedBy(container.labels, this.owner)) return summary('foreign');
    if (spec !== null) {
      const verdict = await this.drift(id, container, spec, imageIdOf, reuse);
      oldest = Math.min(oldest, verdict.at);
      if (verdict.drifted) return summary('drifted');
      // Brought up from a devcontainer.json: an edit to it since is drift too, with the reason (read
      // on every listing: the files are not part of the reused verdict's key).
      if (spec.devcontainer) {
        const drift = await this.devcontainerDrift(name, spec.devcontainer, spec.root, reuse);
        if (drift?.kind === 'drifted') return { ...summary('drifted'), drift: [drift.reason] };
        if (drift?.kind === 'unknown') return { ...summary(container.state === 'running' ? 'running' : 'stopped'), driftUnknown: drift.reason };
      }
    }
    return summary(container.state === 'running' ? 'running' : 'stopped');
  }
}

/** A file's change stamp (size, modification time), or null when it cannot be read. */
function fileStamp(file: string): string | null {
  try {
    const stat = statSync(file);
    return `${String(stat.size)}:${String(stat.mtimeMs)}:${String(stat.ino)}`;
  } catch {
    return null;
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

/** Starts the lookup of the image a ledger entry's spec names (the result lands in the lookup's cache). */
function recordedSpecImage(entry: LedgerEntry, imageIdOf: (ref: string) => Promise<string | null>): void {
  const spec = recordedSpec(entry);
  if (spec !== null) void imageIdOf(spec.image);
}

/** The spec a ledger entry records, if it is one. */
export function recordedSpec(entry: LedgerEntry): WorkspaceSpec | null {
  const spec = entry.spec as Partial<WorkspaceSpec> | null;
  return spec && typeof spec.root === 'string' && typeof spec.image === 'string' ? (spec as WorkspaceSpec) : null;
}
