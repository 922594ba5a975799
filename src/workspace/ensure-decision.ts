import type { ContainerState } from '../runtime/types.js';
import { LABELS, isOwnedBy } from './labels.js';
import { driftedParts, type SpecPart } from './spec-hash.js';

/**
 * The ensure decision: what to do with the container found under a workspace's name, given the
 * spec hash it should carry. Pure (no IO, no clock), so `ensure()` (which then acts) and the
 * planner (which only says what apply will do) decide the same way and word it the same way.
 */

/** The container under the workspace's name, as far as the decision needs it. */
export interface ObservedContainer {
  state: ContainerState;
  /** Its spec-hash label (null when it has none). */
  specHash: string | null;
  /** Its spec-parts label (`image:…,mounts:…`), so drift can say which part changed. */
  specParts?: string | undefined;
  /** Carries this installation's ownership labels. */
  ours: boolean;
}

/** The hash (and its parts) the workspace's container should be labelled with. */
export interface DesiredContainer {
  hash: string;
  /** Without them a drift is only "spec changed". */
  parts?: string | undefined;
}

/** Why a container is replaced: data, worded once by `describeReason`. */
export type RecreateReason =
  /** One part of the spec hash differs from the container's label. */
  | { kind: 'drift'; part: SpecPart }
  /** The hash differs, but no part can be named (no parts to compare). */
  | { kind: 'spec' }
  /** A container in a state it cannot be started from (a ghost). */
  | { kind: 'state'; state: ContainerState };

export type EnsureDecision =
  /** No container: make one. */
  | { action: 'create' }
  /** A container holds the name but is not ours: never reused, never removed. */
  | { action: 'foreign' }
  /** Ours, but made from another spec: replace it. */
  | { action: 'recreate'; reasons: RecreateReason[] }
  /** Ours and current, but neither running nor startable (paused, unknown): replace it. */
  | { action: 'ghost'; reasons: RecreateReason[] }
  /** Ours, current, created or stopped: start it. */
  | { action: 'start' }
  /** Ours, current and running: nothing to do. */
  | { action: 'reuse' };

/** What can be decided about a container that is there (everything but `create`). */
export type ExistingDecision = Exclude<EnsureDecision, { action: 'create' }>;

export function decideEnsure(container: ObservedContainer, desired: DesiredContainer): ExistingDecision;
export function decideEnsure(container: ObservedContainer | null, desired: DesiredContainer): EnsureDecision;
export function decideEnsure(container: ObservedContainer | null, desired: DesiredContainer): EnsureDecision {
  if (container === null) return { action: 'create' };
  if (!container.ours) return { action: 'foreign' };
  if (container.specHash !== desired.hash) {
    const parts = desired.parts === undefined ? [] : driftedParts(container.specParts, desired.parts);
    return { action: 'recreate', reasons: parts.length > 0 ? parts.map((part) => ({ kind: 'drift', part })) : [{ kind: 'spec' }] };
  }
  switch (container.state) {
    case 'running':
      return { action: 'reuse' };
    case 'created':
    case 'stopped':
      return { action: 'start' };
    case 'paused':
    case 'unknown':
      return { action: 'ghost', reasons: [{ kind: 'state', state: container.state }] };
  }
}

/** The words for a reason, as events, `up --json` and `berth plan` show them. */
export function describeReason(reason: RecreateReason): string {
  switch (reason.kind) {
    case 'drift':
      return reason.part === 'devcontainer' ? 'devcontainer.json or its Dockerfile changed' : `${reason.part} changed`;
    case 'spec':
      return 'spec changed';
    case 'state':
      return `the container is ${reason.state}`;
  }
}

/** What the decision needs of an engine's container: its state, its spec labels, whether they say it is ours. */
export function observedContainer(container: { state: ContainerState; labels: Readonly<Record<string, string>> }, owner: string): ObservedContainer {
  return { state: container.state, specHash: container.labels[LABELS.specHash] ?? null, specParts: container.labels[LABELS.specParts], ours: isOwnedBy(container.labels, owner) };
}
