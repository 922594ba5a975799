import type { DevServerState } from '../devserver/types.js';
import type { ContainerState } from '../runtime/types.js';
import type { Action } from './plan.js';

/**
 * What the reconciler may fix on its own, decided without IO: the plan says what differs from the
 * manifest; this says, per action, whether policy lets the reconciler act now. `berth apply` is a
 * person asking, so it does everything; the reconciler runs unattended, so it does not restart what
 * a person stopped, restarts what ended by itself only as the restart policy says, waits out its
 * backoff after failures, and never touches a foreign container.
 */

export type RestartPolicy = 'no' | 'on-failure' | 'always';

/** What differs from the manifest. */
export type Drift = 'missing' | 'stopped' | 'changed' | 'egress' | 'egress-shield' | 'dev-server' | 'undeclared' | 'foreign' | 'unhealthy';

/** fix: act now. hold: policy says leave it. wait: backing off after failures. block: Berth must not fix it. */
export type Verdict = 'fix' | 'hold' | 'wait' | 'block';

export interface Decision {
  action: Action;
  drift: Drift;
  verdict: Verdict;
  /** Why, in a sentence a person reads in `berth reconcile` and the event log. Never parsed. */
  why: string;
  /**
   * Set when the restart policy decided (something ended by itself, or failed its health probe):
   * the policy consulted. A `fix` with it is a policy restart, which counts against the target's
   * backoff; absent for every other kind of decision.
   */
  restartPolicy?: RestartPolicy | undefined;
}

/** What the reconciler knows of one declared workspace and its dev servers when it decides. */
export interface WorkspaceFacts {
  restart: RestartPolicy;
  /** The container's state and exit code as observed (null: no container). */
  state: ContainerState | null;
  exitCode: number | null;
  /** Stopped on request (`berth stop`). */
  held: boolean;
  /** Epoch ms before which no fix is tried (backoff), or null. */
  retryAt: number | null;
  devServers: ReadonlyMap<string, DevServerFacts>;
}

export interface DevServerFacts {
  restart: RestartPolicy;
  /** The registry's state (null: never started). */
  state: DevServerState | null;
  held: boolean;
  retryAt: number | null;
}

export interface Backoff {
  /** The wait after the first failure; it doubles with each failure in a row. */
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 2_000, capMs: 5 * 60_000 };

/** The wait after `failures` failures in a row: base, 2×base, 4×base, ... never more than the cap. */
export function backoffDelay(failures: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  return Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(failures - 1, 30));
}

/** Decides every action of a plan; `facts` is asked only for declared workspaces. */
export function decide(actions: readonly Action[], facts: (workspace: string) => WorkspaceFacts | undefined, now: number): Decision[] {
  const restarted = new Set<string>();
  return actions.map((action) => {
    const decision = decideOne(action, facts(action.workspace), now, restarted);
    if (decision.verdict === 'fix' && (action.kind === 'create' || action.kind === 'recreate' || action.kind === 'start')) restarted.add(action.workspace);
    if (decision.verdict === 'fix' && action.kind === 'dev-stop') restarted.add(`${action.workspace}/${action.name}`);
    return decision;
  });
}

function decideOne(action: Action, ws: WorkspaceFacts | undefined, now: number, restarted: ReadonlySet<string>): Decision {
  const d = (drift: Drift, verdict: Verdict, why: string): Decision => ({ action, drift, verdict, why });
  if (action.kind === 'blocked') return d('foreign', 'block', `${action.reason}; Berth never touches it. Remove or rename it, or pick another workspace id.`);
  if (action.kind === 'remove') return d('undeclared', 'fix', 'no longer declared in the manifest');
  if (ws === undefined) return d('undeclared', 'block', 'not declared');
  // A security fix, not a restart: neither a hold nor a backoff leaves the host open to the workspace.
  if (action.kind === 'restore-shield') return d('egress-shield', 'fix', 'the host firewall rules that keep the workspace off the host are gone');
  if (ws.held) return d(driftOf(action), 'hold', 'stopped on request (berth stop); `berth up` or `berth apply` resumes it');
  const onServer = action.kind === 'dev-start' || action.kind === 'dev-stop' || (action.kind === 'restart' && action.name !== undefined);
  if (ws.retryAt !== null && now < ws.retryAt && !onServer) {
    return d(driftOf(action), 'wait', `backing off after failures until ${new Date(ws.retryAt).toISOString()}`);
  }
  switch (action.kind) {
    case 'create':
      return d('missing', 'fix', 'declared, but no container exists');
    case 'recreate':
      return d('changed', 'fix', action.reasons.join('; '));
    case 'start':
      if (ws.state === 'created') return d('stopped', 'fix', 'created but never started (an interrupted create)');
      return restartByPolicy(d, 'stopped', ws.restart, ws.exitCode !== 0, `exited with ${ws.exitCode === null ? 'an unknown status' : String(ws.exitCode)}`);
    case 'set-egress':
      return d('egress', 'fix', 'the egress rules differ from the manifest');
    case 'dev-stop':
      return d('dev-server', 'fix', 'not declared, or its command changed');
    case 'restart': {
      if (action.name === undefined) return restartByPolicy(d, 'unhealthy', ws.restart, true, action.reason);
      const server = ws.devServers.get(action.name);
      if (server?.held) return d('unhealthy', 'hold', 'stopped on request (berth dev stop)');
      if (server !== undefined && server.retryAt !== null && now < server.retryAt) return d('unhealthy', 'wait', `backing off after failures until ${new Date(server.retryAt).toISOString()}`);
      return restartByPolicy(d, 'unhealthy', server?.restart ?? 'no', true, action.reason);
    }
    case 'dev-start': {
      const server = ws.devServers.get(action.name);
      // A fresh, restarted or replaced container took its servers with it: starting them is part of that fix.
      if (restarted.has(action.workspace) || restarted.has(`${action.workspace}/${action.name}`) || server === undefined) {
        return d('dev-server', 'fix', 'declared, not running');
      }
      if (server.held) return d('dev-server', 'hold', 'stopped on request (berth dev stop); `berth dev start` or `berth apply` resumes it');
      if (server.retryAt !== null && now < server.retryAt) return d('dev-server', 'wait', `backing off after failures until ${new Date(server.retryAt).toISOString()}`);
      if (server.state === null) return d('dev-server', 'fix', 'declared, never started');
      if (server.state === 'stopped') return d('dev-server', 'fix', 'stopped with its workspace');
      if (server.state === 'crashed') return restartByPolicy(d, 'dev-server', server.restart, true, 'crashed');
      if (server.state === 'exited') return restartByPolicy(d, 'dev-server', server.restart, false, 'exited with status 0');
      return d('dev-server', 'fix', 'declared, not running');
    }
  }
}

/** `no` never restarts; `on-failure` restarts failures; `always` restarts whatever ended. */
function restartByPolicy(d: (drift: Drift, verdict: Verdict, why: string) => Decision, drift: Drift, policy: RestartPolicy, failed: boolean, what: string): Decision {
  if (policy === 'always' || (policy === 'on-failure' && failed)) return { ...d(drift, 'fix', `${what}; restart: ${policy}`), restartPolicy: policy };
  return { ...d(drift, 'hold', `${what}; restart: ${policy} leaves it as it is`), restartPolicy: policy };
}

function driftOf(action: Action): Drift {
  switch (action.kind) {
    case 'create':
      return 'missing';
    case 'start':
      return 'stopped';
    case 'recreate':
      return 'changed';
    case 'set-egress':
      return 'egress';
    case 'restore-shield':
      return 'egress-shield';
    case 'dev-start':
    case 'dev-stop':
      return 'dev-server';
    case 'remove':
      return 'undeclared';
    case 'blocked':
      return 'foreign';
    case 'restart':
      return 'unhealthy';
  }
}
