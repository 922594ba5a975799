import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/orchestrator/plan.js';
import { backoffDelay, decide, type DevServerFacts, type WorkspaceFacts } from '../../src/orchestrator/restart-policy.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

const ws = (over: Partial<WorkspaceFacts> = {}, servers: Record<string, Partial<DevServerFacts>> = {}): WorkspaceFacts => ({
  restart: 'no',
  state: 'stopped',
  exitCode: 137,
  held: false,
  retryAt: null,
  devServers: new Map(Object.entries(servers).map(([name, s]) => [name, { restart: 'no', state: 'crashed', held: false, retryAt: null, ...s }])),
  ...over,
});

const verdicts = (actions: Action[], facts: WorkspaceFacts | undefined): string[] => decide(actions, () => facts, NOW).map((d) => `${d.drift}:${d.verdict}`);

describe('restart policy', () => {
  it('backs off exponentially from the base, capped', () => {
    const backoff = { baseMs: 1000, capMs: 10_000 };
    expect([0, 1, 2, 3, 4, 5, 60].map((n) => backoffDelay(n, backoff))).toEqual([0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('always creates a missing workspace and fixes spec and egress drift, whatever the restart policy', () => {
    const actions: Action[] = [
      { kind: 'create', workspace: 'a' },
      { kind: 'recreate', workspace: 'a', reasons: ['env changed'] },
      { kind: 'set-egress', workspace: 'a', policy: { allow: ['x.test'], deny: [] } },
    ];
    expect(verdicts(actions, ws({ restart: 'no' }))).toEqual(['missing:fix', 'changed:fix', 'egress:fix']);
  });

  it('restarts a stopped workspace as its policy says: no never, on-failure on a non-zero exit, always on any', () => {
    const start: Action[] = [{ kind: 'start', workspace: 'a' }];
    expect(verdicts(start, ws({ restart: 'no', exitCode: 137 }))).toEqual(['stopped:hold']);
    expect(verdicts(start, ws({ restart: 'on-failure', exitCode: 137 }))).toEqual(['stopped:fix']);
    expect(verdicts(start, ws({ restart: 'on-failure', exitCode: 0 }))).toEqual(['stopped:hold']);
    expect(verdicts(start, ws({ restart: 'always', exitCode: 0 }))).toEqual(['stopped:fix']);
    // Created and never started: a create that was cut short, finished whatever the policy.
    expect(verdicts(start, ws({ restart: 'no', state: 'created', exitCode: null }))).toEqual(['stopped:fix']);
  });

  it('leaves a workspace stopped on request alone, whatever the policy and drift', () => {
    const actions: Action[] = [{ kind: 'start', workspace: 'a' }, { kind: 'dev-start', workspace: 'a', name: 'web' }];
    const decisions = decide(actions, () => ws({ restart: 'always', held: true }), NOW);
    expect(decisions.map((d) => d.verdict)).toEqual(['hold', 'hold']);
    expect(decisions[0]?.why).toContain('berth stop');
  });

  it('waits out the backoff before trying the workspace again, then tries', () => {
    const start: Action[] = [{ kind: 'start', workspace: 'a' }];
    expect(verdicts(start, ws({ restart: 'always', retryAt: NOW + 1 }))).toEqual(['stopped:wait']);
    expect(verdicts(start, ws({ restart: 'always', retryAt: NOW }))).toEqual(['stopped:fix']);
  });

  it('restarts dev servers by their own policy, unless stopped on request or backing off', () => {
    const devStart: Action[] = [{ kind: 'dev-start', workspace: 'a', name: 'web' }];
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { restart: 'no', state: 'crashed' } }))).toEqual(['dev-server:hold']);
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { restart: 'on-failure', state: 'crashed' } }))).toEqual(['dev-server:fix']);
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { restart: 'on-failure', state: 'exited' } }))).toEqual(['dev-server:hold']);
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { restart: 'always', state: 'exited' } }))).toEqual(['dev-server:fix']);
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { restart: 'always', state: 'stopped', held: true } }))).toEqual(['dev-server:hold']);
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { restart: 'always', state: 'crashed', retryAt: NOW + 5 } }))).toEqual(['dev-server:wait']);
    // Never started, or stopped because its workspace stopped: declared, so started.
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { state: null } }))).toEqual(['dev-server:fix']);
    expect(verdicts(devStart, ws({ state: 'running' }, { web: { state: 'stopped' } }))).toEqual(['dev-server:fix']);
  });

  it('starts the dev servers of a workspace it re-creates or restarts in the same cycle, whatever their record says', () => {
    const actions: Action[] = [
      { kind: 'start', workspace: 'a' },
      { kind: 'dev-start', workspace: 'a', name: 'web' },
    ];
    expect(verdicts(actions, ws({ restart: 'always', exitCode: 1 }, { web: { restart: 'no', state: 'crashed' } }))).toEqual(['stopped:fix', 'dev-server:fix']);
  });

  it('restarts an unhealthy workspace or dev server by its own policy, unless held or backing off', () => {
    const workspace: Action[] = [{ kind: 'restart', workspace: 'a', reason: 'unhealthy' }];
    const server: Action[] = [{ kind: 'restart', workspace: 'a', name: 'web', reason: 'unhealthy' }];
    expect(verdicts(workspace, ws({ restart: 'no', state: 'running' }))).toEqual(['unhealthy:hold']);
    expect(verdicts(workspace, ws({ restart: 'on-failure', state: 'running' }))).toEqual(['unhealthy:fix']);
    expect(verdicts(workspace, ws({ restart: 'always', state: 'running', retryAt: NOW + 1 }))).toEqual(['unhealthy:wait']);
    expect(verdicts(server, ws({ restart: 'no', state: 'running' }, { web: { restart: 'always', state: 'running' } }))).toEqual(['unhealthy:fix']);
    expect(verdicts(server, ws({ state: 'running' }, { web: { restart: 'on-failure', state: 'running', held: true } }))).toEqual(['unhealthy:hold']);
    expect(verdicts(server, ws({ state: 'running' }, { web: { restart: 'always', state: 'running', retryAt: NOW + 1 } }))).toEqual(['unhealthy:wait']);
    // A workspace backing off does not stop its healthy-policy dev servers from being restarted.
    expect(verdicts(server, ws({ state: 'running', retryAt: NOW + 1 }, { web: { restart: 'always', state: 'running' } }))).toEqual(['unhealthy:fix']);
  });

  it('restores a host shield whatever the workspace: held, backing off, or with no restart policy', () => {
    const restore: Action[] = [{ kind: 'restore-shield', workspace: 'a' }];
    expect(verdicts(restore, ws({ held: true }))).toEqual(['egress-shield:fix']);
    expect(verdicts(restore, ws({ retryAt: NOW + 60_000 }))).toEqual(['egress-shield:fix']);
    expect(verdicts(restore, ws({ restart: 'no', state: 'running' }))).toEqual(['egress-shield:fix']);
  });

  it('never fixes a foreign name collision, and always removes what the manifest dropped', () => {
    const decisions = decide(
      [
        { kind: 'blocked', workspace: 'f', reason: 'a container that Berth did not create holds the name' },
        { kind: 'remove', workspace: 'gone' },
      ],
      () => undefined,
      NOW,
    );
    expect(decisions.map((d) => `${d.drift}:${d.verdict}`)).toEqual(['foreign:block', 'undeclared:fix']);
    expect(decisions[0]?.why).toContain('Berth never touches it');
  });

  it('says in data, not in its sentence, which decisions the restart policy made', () => {
    const policy = (action: Action, facts: WorkspaceFacts): string => {
      const [d] = decide([action], () => facts, NOW);
      return `${d?.verdict ?? '?'}:${d?.restartPolicy ?? '-'}`;
    };
    const start: Action = { kind: 'start', workspace: 'a' };
    const devStart: Action = { kind: 'dev-start', workspace: 'a', name: 'web' };
    const probe: Action = { kind: 'restart', workspace: 'a', reason: 'health probe failed 3 times' };
    const table: [Action, WorkspaceFacts, string][] = [
      // Policy restarts, and policy holds, name the policy.
      [start, ws({ restart: 'on-failure', exitCode: 1 }), 'fix:on-failure'],
      [start, ws({ restart: 'always', exitCode: 0 }), 'fix:always'],
      [start, ws({ restart: 'no', exitCode: 1 }), 'hold:no'],
      [start, ws({ restart: 'on-failure', exitCode: 0 }), 'hold:on-failure'],
      [devStart, ws({ state: 'running' }, { web: { restart: 'always', state: 'crashed' } }), 'fix:always'],
      [devStart, ws({ state: 'running' }, { web: { restart: 'on-failure', state: 'exited' } }), 'hold:on-failure'],
      [probe, ws({ restart: 'always', state: 'running' }), 'fix:always'],
      // Fixes that are not restarts carry none, whatever the policy, and so do holds and waits.
      [{ kind: 'create', workspace: 'a' }, ws({ restart: 'always' }), 'fix:-'],
      [{ kind: 'recreate', workspace: 'a', reasons: ['env changed'] }, ws({ restart: 'always' }), 'fix:-'],
      [start, ws({ restart: 'always', state: 'created', exitCode: null }), 'fix:-'],
      [devStart, ws({ state: 'running' }, { web: { restart: 'always', state: null } }), 'fix:-'],
      [devStart, ws({ state: 'running' }, { web: { restart: 'always', state: 'stopped' } }), 'fix:-'],
      [start, ws({ restart: 'always', held: true }), 'hold:-'],
      [start, ws({ restart: 'always', retryAt: NOW + 1 }), 'wait:-'],
    ];
    expect(table.map(([action, facts]) => policy(action, facts))).toEqual(table.map(([, , expected]) => expected));
  });
});
