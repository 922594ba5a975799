import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../../src/egress/policy.js';
import { plan, type Action, type DesiredWorkspace, type ObservedWorkspace } from '../../src/orchestrator/plan.js';

/*
 * The planner over generated worlds. A small model says what each action does to the world; the
 * properties are the ones the issue asks for: applying the plan converges, a converged world plans
 * nothing, the plan is deterministic, and nothing foreign or unledgered is ever touched.
 */

const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const hash = fc.constantFrom('h1', 'h2', 'h3');
const policy: fc.Arbitrary<EgressPolicy> = fc.record({ allow: fc.subarray(['x.test', '*.y.test', '10.0.0.1']), deny: fc.subarray(['bad.test']) });
const command = fc.constantFrom(['npm', 'run', 'dev'], ['python3', '-m', 'http.server'], ['vite']);
const serverNames = fc.uniqueArray(fc.constantFrom('web', 'api', 'docs'), { maxLength: 3 });

const desiredWorkspace = (id: string): fc.Arbitrary<DesiredWorkspace> =>
  fc.record({
    id: fc.constant(id),
    specHash: hash,
    egress: fc.option(policy, { nil: null }),
    devServers: serverNames.chain((names) => fc.tuple(...names.map((name) => command.map((c) => ({ name, command: c }))))),
  });

const observedWorkspace = (id: string): fc.Arbitrary<ObservedWorkspace> =>
  fc.record({
    id: fc.constant(id),
    container: fc.option(fc.record({ state: fc.constantFrom('created', 'running', 'stopped', 'paused', 'unknown'), specHash: fc.option(hash, { nil: null }), ours: fc.boolean() }), { nil: null }),
    ledgered: fc.boolean(),
    egress: fc.option(policy, { nil: null }),
    shield: fc.constantFrom(undefined, 'intact' as const, 'missing' as const),
    devServers: serverNames.chain((names) => fc.tuple(...names.map((name) => fc.record({ name: fc.constant(name), command, live: fc.boolean() })))),
  });

const world = fc
  .tuple(fc.uniqueArray(ids, { maxLength: 5 }), fc.uniqueArray(ids, { maxLength: 5 }))
  .chain(([wanted, present]) => fc.tuple(fc.tuple(...wanted.map(desiredWorkspace)), fc.tuple(...present.map(observedWorkspace))));

/** What each action does to the world, as far as the planner can observe it. */
function apply(observed: readonly ObservedWorkspace[], actions: readonly Action[], desired: readonly DesiredWorkspace[]): ObservedWorkspace[] {
  const state = new Map(observed.map((o) => [o.id, structuredClone<ObservedWorkspace>(o)]));
  const want = new Map(desired.map((d) => [d.id, d]));
  for (const action of actions) {
    const target = want.get(action.workspace);
    const current = state.get(action.workspace);
    switch (action.kind) {
      case 'create':
      case 'recreate':
        if (!target) throw new Error(`${action.kind} of an undeclared workspace`);
        state.set(action.workspace, { id: action.workspace, container: { state: 'running', specHash: target.specHash, ours: true }, ledgered: true, egress: target.egress, devServers: [] });
        break;
      case 'start':
        if (current?.container) current.container = { ...current.container, state: 'running' };
        break;
      case 'remove':
        state.delete(action.workspace);
        break;
      case 'set-egress':
        if (current) current.egress = action.policy;
        break;
      case 'restore-shield':
        if (current) current.shield = 'intact';
        break;
      case 'dev-start': {
        const server = target?.devServers.find((d) => d.name === action.name);
        if (current && server) current.devServers = [...current.devServers.filter((d) => d.name !== action.name), { name: action.name, command: server.command, live: true }];
        break;
      }
      case 'dev-stop':
        if (current) current.devServers = current.devServers.map((d) => (d.name === action.name ? { ...d, live: false } : d));
        break;
      case 'blocked':
        break;
    }
  }
  return [...state.values()];
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  return [...items].map((item, i) => ({ item, key: (i * 7919 + seed) % 101 })).sort((a, b) => a.key - b.key).map((x) => x.item);
}

describe('plan', () => {
  it('converges: after applying a plan, planning again leaves only what Berth must not fix', () => {
    fc.assert(
      fc.property(world, ([desired, observed]) => {
        const first = plan(desired, observed);
        const after = apply(observed, first.actions, desired);
        const second = plan(desired, after);
        expect(second.actions.every((a) => a.kind === 'blocked')).toBe(true);
        expect(second.actions).toEqual(first.actions.filter((a) => a.kind === 'blocked'));
      }),
      { numRuns: 500 },
    );
  });

  it('plans nothing for a converged world', () => {
    fc.assert(
      fc.property(fc.uniqueArray(ids, { maxLength: 5 }).chain((wanted) => fc.tuple(...wanted.map(desiredWorkspace))), (desired) => {
        const converged: ObservedWorkspace[] = desired.map((d) => ({
          id: d.id,
          container: { state: 'running', specHash: d.specHash, ours: true },
          ledgered: true,
          egress: d.egress,
          devServers: d.devServers.map((s) => ({ ...s, live: true })),
        }));
        expect(plan(desired, converged).actions).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same worlds in any order give the same plan and hash', () => {
    fc.assert(
      fc.property(world, fc.nat(), ([desired, observed], seed) => {
        expect(plan(shuffled(desired, seed), shuffled(observed, seed + 1))).toEqual(plan(desired, observed));
      }),
      { numRuns: 300 },
    );
  });

  it('never touches a container that is not ours, and removes only what is ledgered and not someone else\'s', () => {
    fc.assert(
      fc.property(world, ([desired, observed]) => {
        const byId = new Map(observed.map((o) => [o.id, o]));
        for (const action of plan(desired, observed).actions) {
          const seen = byId.get(action.workspace);
          if (seen?.container && !seen.container.ours) expect(action.kind).toBe('blocked');
          if (action.kind === 'remove') expect(seen?.ledgered && (seen.container === null || seen.container.ours)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('says what it will do, in order, with a hash that changes when the plan does', () => {
    const desired: DesiredWorkspace[] = [{ id: 'web', specHash: 'h2', egress: { allow: ['x.test'], deny: [] }, devServers: [{ name: 'app', command: ['vite'] }] }];
    const observed: ObservedWorkspace[] = [
      { id: 'web', container: { state: 'running', specHash: 'h1', ours: true }, ledgered: true, egress: null, devServers: [] },
      { id: 'old', container: { state: 'stopped', specHash: 'h1', ours: true }, ledgered: true, egress: null, devServers: [] },
      { id: 'theirs', container: { state: 'running', specHash: null, ours: false }, ledgered: false, egress: null, devServers: [] },
    ];
    const result = plan(desired, observed);
    expect(result.actions).toEqual([
      { kind: 'recreate', workspace: 'web', reasons: ['spec changed'] },
      { kind: 'dev-start', workspace: 'web', name: 'app' },
      { kind: 'remove', workspace: 'old' },
    ]);
    expect(result.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(plan(desired, observed.slice(0, 1)).hash).not.toBe(result.hash);
  });

  it('restores a missing host shield before starting the workspace, and not for one it creates afresh', () => {
    const desired: DesiredWorkspace[] = [
      { id: 'a', specHash: 'h', egress: { allow: ['x.test'], deny: [] }, devServers: [] },
      { id: 'b', specHash: 'h2', egress: { allow: ['x.test'], deny: [] }, devServers: [] },
    ];
    const observed: ObservedWorkspace[] = [
      { id: 'a', container: { state: 'stopped', specHash: 'h', ours: true }, ledgered: true, egress: { allow: ['x.test'], deny: [] }, shield: 'missing', devServers: [] },
      { id: 'b', container: { state: 'running', specHash: 'h1', ours: true }, ledgered: true, egress: { allow: ['x.test'], deny: [] }, shield: 'missing', devServers: [] },
    ];
    expect(plan(desired, observed).actions).toEqual([
      { kind: 'restore-shield', workspace: 'a' },
      { kind: 'start', workspace: 'a' },
      { kind: 'recreate', workspace: 'b', reasons: ['spec changed'] },
    ]);
  });

  it('names the drifted parts of a recreate when both sides carry them', () => {
    const parts = (image: string, mounts: string, env: string, resources: string): string => `image:${image},mounts:${mounts},env:${env},resources:${resources},ports:p,network:n`;
    const desired: DesiredWorkspace[] = [{ id: 'web', specHash: 'h2', specParts: parts('i2', 'm', 'e2', 'r2'), egress: null, devServers: [] }];
    const observed: ObservedWorkspace[] = [{ id: 'web', container: { state: 'running', specHash: 'h1', specParts: parts('i1', 'm', 'e1', 'r1'), ours: true }, ledgered: true, egress: null, devServers: [] }];
    expect(plan(desired, observed).actions).toEqual([{ kind: 'recreate', workspace: 'web', reasons: ['image changed', 'env changed', 'resources changed'] }]);
  });

  it('plans 1000 workspaces quickly (the target is under 50 ms; measured in bench/, bounded loosely here)', () => {
    const desired = Array.from({ length: 1000 }, (_, i): DesiredWorkspace => ({ id: `w${String(i)}`, specHash: 'h', egress: null, devServers: [{ name: 'web', command: ['vite'] }] }));
    const observed = desired.map((d): ObservedWorkspace => ({ id: d.id, container: { state: 'stopped', specHash: 'h', ours: true }, ledgered: true, egress: null, devServers: [] }));
    expect(plan(desired, observed).actions).toHaveLength(2000);
  });
});
