import { createHash } from 'node:crypto';
import type { EgressPolicy } from '../egress/policy.js';
import { decideEnsure, describeReason, type ObservedContainer } from '../workspace/ensure-decision.js';

/**
 * The planner: desired state and observed state in, plain data out. Pure and synchronous (no IO, no
 * clock), so `berth plan` can print exactly what `apply` will do, and tests can check it over
 * generated worlds. The observer computes spec hashes (they need the image id and the mount plan).
 */

export interface DesiredWorkspace {
  id: string;
  /** The hash ensure() would label the container with. */
  specHash: string;
  /** Its parts (`image:…,mounts:…`), so a recreate can say what changed. */
  specParts?: string | undefined;
  egress: EgressPolicy | null;
  devServers: readonly { name: string; command: readonly string[] }[];
}

export interface ObservedWorkspace {
  id: string;
  /** The container named for the workspace, if any. */
  container: ObservedContainer | null;
  /** Our ledger says we created it, or its network (and has not removed them): only then may it be removed. */
  ledgered: boolean;
  egress: EgressPolicy | null;
  /**
   * The host firewall rules that keep the workspace off the host (docker/podman egress): `missing`
   * after a firewall reload or a reboot took them. Absent where there is no such shield.
   */
  shield?: 'intact' | 'missing' | undefined;
  devServers: readonly { name: string; command: readonly string[]; live: boolean }[];
}

export type Action =
  | { kind: 'create'; workspace: string }
  | { kind: 'start'; workspace: string }
  | { kind: 'recreate'; workspace: string; reasons: string[] }
  | { kind: 'remove'; workspace: string }
  | { kind: 'set-egress'; workspace: string; policy: EgressPolicy }
  /** Put the host shield of the workspace's egress network back (it went behind Berth's back). */
  | { kind: 'restore-shield'; workspace: string }
  | { kind: 'dev-start'; workspace: string; name: string }
  | { kind: 'dev-stop'; workspace: string; name: string }
  /** Something Berth must not fix itself: a foreign container holds the name. */
  | { kind: 'blocked'; workspace: string; reason: string }
  /**
   * Stop and start a workspace (no `name`) or one of its dev servers that failed its health probe.
   * The planner never plans it (health is not state it can see); the reconciler adds it.
   */
  | { kind: 'restart'; workspace: string; name?: string | undefined; reason: string };

export interface Plan {
  actions: Action[];
  /** Identifies this exact plan: `apply --plan-hash` refuses when the world has changed since. */
  hash: string;
}

export function plan(desired: readonly DesiredWorkspace[], observed: readonly ObservedWorkspace[]): Plan {
  const seen = new Map(observed.map((o) => [o.id, o]));
  const wanted = new Set(desired.map((d) => d.id));
  const actions: Action[] = [];
  for (const want of [...desired].sort(byId)) actions.push(...planWorkspace(want, seen.get(want.id)));
  for (const have of [...observed].sort(byId)) {
    // Only what is in our ledger AND (when a container holds the name) carries our labels is ever
    // removed; a ledgered workspace without a container is a removal cut short, finished here.
    if (!wanted.has(have.id) && have.ledgered && (have.container === null || have.container.ours)) actions.push({ kind: 'remove', workspace: have.id });
  }
  return { actions, hash: planHash(actions) };
}

function planWorkspace(want: DesiredWorkspace, have: ObservedWorkspace | undefined): Action[] {
  // The same decision ensure() acts on, so the plan says what apply will do, in the same words.
  const decision = decideEnsure(have?.container ?? null, { hash: want.specHash, parts: want.specParts });
  if (decision.action === 'foreign') {
    return [{ kind: 'blocked', workspace: want.id, reason: 'a container that Berth did not create holds the name' }];
  }
  const actions: Action[] = [];
  let fresh = false;
  if (decision.action === 'create') {
    actions.push({ kind: 'create', workspace: want.id });
    fresh = true;
  } else if (decision.action === 'recreate' || decision.action === 'ghost') {
    actions.push({ kind: 'recreate', workspace: want.id, reasons: decision.reasons.map(describeReason) });
    fresh = true;
  }
  // Before a start too: the workspace's code must not run a moment without it.
  if (!fresh && have?.shield === 'missing') actions.push({ kind: 'restore-shield', workspace: want.id });
  if (decision.action === 'start') actions.push({ kind: 'start', workspace: want.id });
  // A created or recreated workspace gets its egress with the create; otherwise rules change live.
  if (!fresh && want.egress !== null && !samePolicy(want.egress, have?.egress ?? null)) {
    actions.push({ kind: 'set-egress', workspace: want.id, policy: want.egress });
  }
  const running = new Map((fresh ? [] : (have?.devServers ?? [])).map((d) => [d.name, d]));
  for (const server of [...want.devServers].sort(byName)) {
    const current = running.get(server.name);
    if (current?.live && sameCommand(current.command, server.command)) continue;
    if (current?.live) actions.push({ kind: 'dev-stop', workspace: want.id, name: server.name });
    actions.push({ kind: 'dev-start', workspace: want.id, name: server.name });
  }
  const declared = new Set(want.devServers.map((d) => d.name));
  for (const server of [...running.values()].sort(byName)) {
    if (server.live && !declared.has(server.name)) actions.push({ kind: 'dev-stop', workspace: want.id, name: server.name });
  }
  return actions;
}

export function planHash(actions: readonly Action[]): string {
  return createHash('sha256').update(JSON.stringify(actions)).digest('hex').slice(0, 16);
}

function samePolicy(a: EgressPolicy, b: EgressPolicy | null): boolean {
  return b !== null && JSON.stringify([[...a.allow].sort(), [...a.deny].sort()]) === JSON.stringify([[...b.allow].sort(), [...b.deny].sort()]);
}

function sameCommand(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
