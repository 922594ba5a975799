import type { DevServerManager } from '../devserver/manager.js';
import type { DevServer } from '../devserver/types.js';
import type { EgressPolicy } from '../egress/policy.js';
import type { BerthEventInput } from '../events.js';
import type { Runtime, RuntimeKind } from '../runtime/types.js';
import type { EgressRecord, LedgerEntry, Supervision } from '../state/store.js';
import type { SpecHash } from '../workspace/spec-hash.js';
import type { DeclaredDevcontainer } from './manifest.js';
import type { WorkspaceSpec, WorkspaceSpecInput } from '../workspace/spec.js';

/**
 * What the orchestrator needs of the store, one interface per table, each with the methods (and
 * signatures) the store has. Declared here, by their user, so the orchestrator depends on these
 * few methods and not on the facade or the whole store; `berth.ts` passes the store in.
 */

/** The ownership ledger, read to observe (and a create cut short, confirmed). */
export interface LedgerRecords {
  activeEntries(runtime?: RuntimeKind): LedgerEntry[];
  confirmCreated(entryId: number, resourceId: string): void;
}

/** Egress records: each workspace's policy and the bridge its host shield guards. */
export interface EgressRecords {
  egress(workspace?: string): EgressRecord[];
}

/** The dev-server registry. */
export interface DevServerRecords {
  devServers(workspace?: string): DevServer[];
}

/** Which workspaces a manifest declared: an apply keeps it; plans remove only what a manifest dropped. */
export interface DesiredStateStore {
  declaredBy(manifest: string): string[];
  setDeclared(manifest: string, workspaces: readonly string[]): void;
}

/** Backoff, restart counts, holds and probe results, per workspace and per dev server. */
export interface SupervisionStore {
  supervision(workspace: string, server?: string): Supervision;
  putSupervision(record: Supervision): void;
}

/** The workspace effects a plan carries out, with Berth's meaning (an `up` clears a hold, and so on). */
export interface WorkspaceEffects {
  /** With `devcontainer`: as `berth up --devcontainer` (build, features, compose, hooks), `spec` the base over the file. */
  up(id: string, spec: WorkspaceSpecInput, devcontainer?: DeclaredDevcontainer): Promise<unknown>;
  /** Stops and starts the container (a failed health probe, a restart policy). */
  restart(id: string, spec: WorkspaceSpecInput, devcontainer?: DeclaredDevcontainer): Promise<unknown>;
  /**
   * The spec `up` would ensure for a workspace declared with `devcontainer:`: the file read, its
   * features resolved (from the lockfile and cache where they are), the image tags it would build;
   * nothing built or started, no file written. What the planner hashes.
   */
  devcontainerSpec(id: string, devcontainer: DeclaredDevcontainer, base: WorkspaceSpecInput): Promise<WorkspaceSpecInput>;
  remove(id: string): Promise<void>;
  setEgress(id: string, policy: EgressPolicy): Promise<void>;
  restoreShield(id: string): Promise<unknown>;
  /** The spec hash (and its parts) `ensure` would give this workspace now: what the planner compares. */
  desiredHash(id: string, spec: WorkspaceSpec, imageId: string | null): SpecHash;
}

/**
 * One runtime's workspaces as the orchestrator observes, plans and changes them: the narrow pieces
 * of a Berth it needs, wired by `berth.ts` (`berth.orchestratorTarget()`). The orchestrator never
 * imports the facade: it sits below it.
 */
export interface Target {
  /** Listing and image lookups to observe, exec for health probes. */
  readonly runtime: Pick<Runtime, 'kind' | 'capabilities' | 'list' | 'imageInspect' | 'exec'>;
  /** The installation id: what makes a container ours. */
  readonly owner: string;
  readonly workspaces: WorkspaceEffects;
  readonly dev: Pick<DevServerManager, 'start' | 'stop' | 'restart' | 'confirm'>;
  readonly ledger: LedgerRecords;
  readonly egress: EgressRecords;
  readonly devServers: DevServerRecords;
  readonly desired: DesiredStateStore;
  readonly supervision: SupervisionStore;
  /** Records an event in this runtime's event log (and to the facade's listeners). */
  record(event: BerthEventInput): void;
}

/**
 * What gives a target: a Berth. The openers of `planManifest` and `Reconciler` may return one, so
 * callers (the library's users too) pass a Berth as they always did.
 */
export interface TargetSource {
  orchestratorTarget(): Target;
}

export function toTarget(opened: Target | TargetSource): Target {
  return 'orchestratorTarget' in opened ? opened.orchestratorTarget() : opened;
}
