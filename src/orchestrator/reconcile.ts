import { isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import { isLive } from '../devserver/types.js';
import type { ContainerInfo, RuntimeKind } from '../runtime/types.js';
import { applyPlan, describe, removableOf, type ManifestPlan } from './apply.js';
import type { DeclaredState, DeclaredWorkspace } from './manifest.js';
import { observe } from './observe.js';
import { plan, planHash } from './plan.js';
import { planManifest, type PlannedManifest } from './plan-manifest.js';
import { backoffDelay, decide, DEFAULT_BACKOFF, type Backoff, type Decision, type WorkspaceFacts } from './restart-policy.js';
import { checkHealth } from './health.js';
import { memoryBudget } from './budget.js';
import { defaultConcurrency } from './concurrency.js';
import { toTarget, type Target, type TargetSource } from './target.js';

export interface ReconcilerOptions {
  /** The manifest; read again every cycle, so an edit takes effect at the next one. */
  manifest: string;
  /**
   * Opens Berth (or a target) on a runtime choice (`undefined`: the usual selection). Called once
   * per choice; the reconciler keeps what it returns and never closes it (the caller owns it).
   */
  open: (runtime: string | undefined) => Promise<Target | TargetSource>;
  /** The runtime of workspaces that name none. */
  runtime?: string | undefined;
  /** Between the end of one cycle and the start of the next (start()). Default 10 s. */
  intervalMs?: number | undefined;
  /** Per workspace and per dev server, after failed fixes. Default 2 s doubling to 5 min. */
  backoff?: Backoff | undefined;
  /** For the memory budget (BERTH_MEMORY_BUDGET). Default: this process's. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The clock, in epoch ms (tests move it). */
  now?: (() => number) | undefined;
  /** Workspaces fixed at once (apply.ts); default from the cores and the memory budget (concurrency.ts). */
  concurrency?: number | undefined;
  /** Called after every cycle of start(), with its report. */
  onCycle?: ((report: CycleReport) => void) | undefined;
}

/** One thing that differs from the manifest, what policy decided, and what came of it. */
export interface Finding extends Decision {
  runtime: RuntimeKind;
  /** What the action would do, in words (`recreate web (env changed)`). */
  summary: string;
  /** For `fix`: whether it worked; absent for hold, wait and block. */
  outcome?: 'fixed' | 'failed' | undefined;
  error?: string | undefined;
}

export interface CycleReport {
  startedAt: string;
  durationMs: number;
  findings: Finding[];
  /** Why the cycle could not run at all (a broken manifest, over budget, an engine down), else null. */
  error: { code: string; message: string; hint?: string | undefined } | null;
}

const DEFAULT_INTERVAL_MS = 10_000;

/** One runtime's share of a cycle, planned: what the decisions need beyond the actions. */
interface CyclePlan extends ManifestPlan {
  containers: Map<string, ContainerInfo>;
  /** Declared workspaces it could not plan (a missing image): reported as blocked. */
  unplannable: { id: string; reason: string }[];
  /** The clock when this share was observed: health and policy decide at the same instant. */
  now: number;
  /** Why this runtime could not be observed or planned at all (null: it was). */
  failure: { error: unknown } | null;
}

/**
 * The reconcile loop: observe every runtime the manifest uses with one `list` each, plan, decide
 * what policy lets it fix (restart-policy.ts), fix that through the same effects as `apply`, and
 * report the rest. Events go to each target's event log: `reconcile.intent/done/failed` around every
 * fix, `reconcile.restarted` for a policy restart, `reconcile.backoff` after a failure,
 * `reconcile.blocked` / `reconcile.held` when such a finding first appears, `reconcile.cycle` when
 * a cycle found anything new.
 *
 * `runOnce()` runs one cycle (concurrent calls share it); `start()` runs cycles until `stop()`,
 * never two at once.
 */
export class Reconciler {
  private readonly options: ReconcilerOptions;
  private readonly targets = new Map<string | undefined, Promise<Target>>();
  private readonly backoff: Backoff;
  private readonly now: () => number;
  /** Findings reported as events already, so one that persists is logged once, not every cycle. */
  private reported = new Set<string>();
  private inFlight: Promise<CycleReport> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.now = options.now ?? Date.now;
  }

  /** One cycle: observe, plan, decide, fix, report. Never throws: a cycle that cannot run says why in `error`. */
  runOnce(): Promise<CycleReport> {
    this.inFlight ??= this.cycle().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  /** Runs a cycle now, then one every `intervalMs` after the previous one ends. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async (): Promise<void> => {
      if (!this.running) return;
      try {
        // Not `onCycle?.(await this.runOnce())`: without a listener that would skip the cycle itself.
        const report = await this.runOnce();
        this.options.onCycle?.(report);
      } catch (error) {
        // A cycle reports its own failures; this is a listener or the event log failing. The loop goes on.
        process.emitWarning(`berth reconcile loop: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        if (this.running) this.timer = setTimeout(() => void loop(), this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
      }
    };
    void loop();
  }

  /** Stops the loop and waits for a cycle in progress to finish. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private async cycle(): Promise<CycleReport> {
    const started = this.now();
    const startedAt = new Date(started).toISOString();
    const findings: Finding[] = [];
    let planned: PlannedManifest<CyclePlan>;
    let first: Target | undefined;
    try {
      planned = await planManifest(this.options.manifest, {
        runtime: this.options.runtime,
        env: this.options.env ?? process.env,
        record: false,
        open: async (choice) => {
          const target = await this.targetFor(choice);
          first ??= target;
          return target;
        },
        planGroup: (target, state, declared) => this.planIsolated(target, state, declared),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const target = first ?? (await this.targetFor(this.options.runtime).catch(() => undefined));
      this.reportOnce(target, `error:${message}`, { type: 'reconcile.error', level: 'error', message: `Reconcile of ${this.options.manifest} cannot run: ${message}` });
      const known = isBerthError(error) ? { code: error.code, message, hint: error.hint } : { code: 'E_INTERNAL', message };
      return { startedAt, durationMs: this.now() - started, findings, error: known };
    }
    const { state, groups } = planned;
    for (const group of groups) findings.push(...(await this.reconcileIsolated(group.target, state, group.planned)));
    const report: CycleReport = { startedAt, durationMs: this.now() - started, findings, error: null };
    const acted = findings.filter((f) => f.outcome !== undefined);
    if (acted.length > 0) {
      const failed = acted.filter((f) => f.outcome === 'failed').length;
      groups[0]?.target.record({
        type: 'reconcile.cycle',
        level: failed > 0 ? 'warn' : 'info',
        message: `Reconcile of ${state.file}: ${String(acted.length - failed)} fixed, ${String(failed)} failed, ${String(findings.length - acted.length)} left as they are.`,
        data: { fixed: acted.length - failed, failed, left: findings.length - acted.length, durationMs: report.durationMs },
      });
    }
    // A condition that went away may be reported again if it comes back.
    this.reported = new Set([...this.reported].filter((key) => key.startsWith('error:') ? false : findings.some((f) => keyOf(f) === key)));
    return report;
  }

  private targetFor(choice: string | undefined): Promise<Target> {
    let target = this.targets.get(choice);
    if (!target) {
      target = this.options.open(choice).then(toTarget);
      target.catch(() => this.targets.delete(choice));
      this.targets.set(choice, target);
    }
    return target;
  }

  /**
   * One runtime's share of the cycle, planned: observe (a missing image is reported, not fatal),
   * check dev-server liveness, plan, probe health. A runtime that fails here (its engine down,
   * Apple's `container` on a machine without it) blocks only its own workspaces, reported, while
   * the others are reconciled.
   */
  private async planIsolated(target: Target, state: DeclaredState, declared: readonly DeclaredWorkspace[]): Promise<CyclePlan> {
    const now = this.now();
    try {
      const { desired, observed, containers, unplannable } = await observe(target, declared, removableOf(target.desired, state), { skipMissingImages: true });
      // Liveness of dev servers: a scan per running workspace with live ones on record, unless they all still answer.
      for (const seen of observed) {
        const container = containers.get(seen.id);
        if (!container || container.state !== 'running' || !seen.container?.ours || !seen.devServers.some((d) => d.live)) continue;
        const servers = await target.dev.confirm(seen.id).catch(() => null);
        if (servers) seen.devServers = servers.map((s) => ({ name: s.name, command: s.command, live: isLive(s) }));
      }
      const plannable = declared.filter((d) => !unplannable.some((u) => u.id === d.id));
      const actions = [...plan(desired, observed).actions, ...(await checkHealth(target, plannable, containers, now))];
      return { plan: { actions, hash: planHash(actions) }, declared: [...declared], containers, unplannable, now, failure: null };
    } catch (error) {
      return { plan: { actions: [], hash: planHash([]) }, declared: [...declared], containers: new Map(), unplannable: [], now, failure: { error } };
    }
  }

  /** Decides and fixes one runtime's share; a failure blocks only its workspaces (see planIsolated). */
  private async reconcileIsolated(target: Target, state: DeclaredState, planned: CyclePlan): Promise<Finding[]> {
    if (planned.failure !== null) return this.blockAll(target, planned.declared, planned.failure.error);
    try {
      return await this.reconcileGroup(target, state, planned);
    } catch (error) {
      return this.blockAll(target, planned.declared, error);
    }
  }

  private blockAll(target: Target, declared: readonly DeclaredWorkspace[], error: unknown): Finding[] {
    const why = `${target.runtime.kind} failed: ${error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error)}`;
    return declared.map((ws) => {
      const finding: Finding = { action: { kind: 'blocked', workspace: ws.id, reason: why }, drift: 'missing', verdict: 'block', why, runtime: target.runtime.kind, summary: `cannot manage ${ws.id}` };
      this.reportOnce(target, keyOf(finding), { type: 'reconcile.blocked', workspace: ws.id, level: 'warn', message: `Reconcile leaves ${ws.id}: ${why}.`, data: { drift: 'missing' } });
      return finding;
    });
  }

  private async reconcileGroup(target: Target, state: DeclaredState, planned: CyclePlan): Promise<Finding[]> {
    const { declared, containers, unplannable, now } = planned;
    const byId = new Map(declared.map((d) => [d.id, d]));
    const decisions = [
      ...decide(planned.plan.actions, (id) => factsOf(target, byId.get(id), containers.get(id), now), now),
      // What it cannot even plan: a missing image (Berth never pulls).
      ...unplannable.map((u): Decision => ({ action: { kind: 'blocked', workspace: u.id, reason: u.reason }, drift: 'missing', verdict: 'block', why: u.reason })),
    ];
    const fixes = decisions.filter((d) => d.verdict === 'fix').map((d) => d.action);
    const outcomes = await applyPlan(target, state, { plan: { actions: fixes, hash: '' }, declared: [...declared] }, { events: 'reconcile', concurrency: this.concurrency(state) });
    const findings: Finding[] = [];
    let next = 0;
    for (const decision of decisions) {
      const finding: Finding = { ...decision, runtime: target.runtime.kind, summary: describe(decision.action) };
      if (decision.verdict === 'fix') {
        const outcome = outcomes[next++];
        finding.outcome = outcome?.ok ? 'fixed' : 'failed';
        if (!outcome?.ok) finding.error = outcome?.message;
      } else if (decision.verdict !== 'wait') {
        this.reportOnce(target, keyOf(finding), {
          type: decision.verdict === 'block' ? 'reconcile.blocked' : 'reconcile.held',
          workspace: decision.action.workspace,
          level: decision.verdict === 'block' ? 'warn' : 'info',
          message: `Reconcile leaves ${decision.action.workspace}: ${finding.summary}: ${decision.why}.`,
          data: { drift: decision.drift },
        });
      }
      findings.push(finding);
    }
    this.recordOutcomes(target, findings);
    this.forgiveSettled(target, declared, findings);
    return findings;
  }

  private concurrency(state: DeclaredState): number {
    return this.options.concurrency ?? defaultConcurrency({ budgetBytes: memoryBudget(this.options.env ?? process.env, state.memoryBudget).bytes });
  }

  /** Backoff and restart counts, per workspace and per dev server, kept in the store. */
  private recordOutcomes(target: Target, findings: readonly Finding[]): void {
    const byKey = new Map<string, Finding[]>();
    for (const f of findings.filter((x) => x.outcome !== undefined)) {
      const server = f.action.kind === 'dev-start' || f.action.kind === 'dev-stop' || f.action.kind === 'restart' ? (f.action.name ?? '') : '';
      const key = `${f.action.workspace}\u0000${server}`;
      byKey.set(key, [...(byKey.get(key) ?? []), f]);
    }
    for (const [key, group] of byKey) {
      const [workspace = '', server = ''] = key.split('\u0000');
      const record = target.supervision.supervision(workspace, server);
      const failed = group.find((f) => f.outcome === 'failed');
      if (failed) {
        const failures = record.failures + 1;
        const delay = backoffDelay(failures, this.backoff);
        target.supervision.putSupervision({ ...record, failures, nextAttemptAt: new Date(this.now() + delay).toISOString(), lastError: failed.error ?? null });
        target.record({
          type: 'reconcile.backoff',
          workspace,
          level: 'warn',
          message: `${server ? `Dev server ${workspace}/${server}` : `Workspace ${workspace}`}: fix failed ${String(failures)} time${failures === 1 ? '' : 's'} in a row; next try in ${String(Math.round(delay / 1000))} s.`,
          data: { server: server || undefined, failures, delayMs: delay, error: failed.error },
        });
        continue;
      }
      const restarts = group.filter((f) => f.verdict === 'fix' && f.restartPolicy !== undefined).length;
      if (restarts > 0) {
        // A policy restart counts against the target like a failure: one that keeps ending (a crash
        // loop) is restarted ever more slowly, up to the cap, until it stays up for a while.
        const failures = record.failures + 1;
        const delay = backoffDelay(failures, this.backoff);
        // A restart for failed probes starts its health afresh: the next probe is an interval away.
        const probeReset = group.some((f) => f.action.kind === 'restart') ? { health: 'unknown' as const, probeFailures: 0, lastProbeAt: new Date(this.now()).toISOString() } : {};
        target.supervision.putSupervision({ ...record, failures, nextAttemptAt: new Date(this.now() + delay).toISOString(), lastError: null, restarts: record.restarts + restarts, ...probeReset });
        target.record({
          type: 'reconcile.restarted',
          workspace,
          message: `Restarted ${server ? `dev server ${workspace}/${server}` : `workspace ${workspace}`}: ${group.map((f) => f.why).join('; ')}. Another restart waits ${String(Math.round(delay / 1000))} s.`,
          data: { server: server || undefined, restarts: record.restarts + restarts, delayMs: delay },
        });
        continue;
      }
      if (record.failures > 0) target.supervision.putSupervision({ ...record, failures: 0, nextAttemptAt: null, lastError: null });
    }
  }

  /** Targets that needed nothing this cycle, with their backoff over, start again from a clean slate. */
  private forgiveSettled(target: Target, declared: readonly DeclaredWorkspace[], findings: readonly Finding[]): void {
    const busy = new Set(findings.map((f) => `${f.action.workspace}\u0000${'name' in f.action && f.action.name !== undefined ? f.action.name : ''}`));
    const now = this.now();
    for (const ws of declared) {
      for (const server of ['', ...ws.devServers.map((d) => d.name)]) {
        if (busy.has(`${ws.id}\u0000${server}`)) continue;
        const record = target.supervision.supervision(ws.id, server);
        if (record.failures > 0 && (record.nextAttemptAt === null || Date.parse(record.nextAttemptAt) <= now)) {
          target.supervision.putSupervision({ ...record, failures: 0, nextAttemptAt: null, lastError: null });
        }
      }
    }
  }

  /** Records an event for a finding the first time it is seen (and again once it went away and came back). */
  private reportOnce(target: Target | undefined, key: string, event: BerthEventInput): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    target?.record(event);
  }
}

function keyOf(finding: Finding): string {
  return `${finding.runtime}:${finding.verdict}:${finding.summary}:${finding.why}`;
}

/** What the policy needs of one declared workspace: its container, its records, its dev servers. */
function factsOf(target: Target, declared: DeclaredWorkspace | undefined, container: { state: WorkspaceFacts['state']; exitCode: number | null } | undefined, now: number): WorkspaceFacts | undefined {
  if (!declared) return undefined;
  const retryAt = (at: string | null, failures: number): number | null => (failures > 0 && at !== null && Date.parse(at) > now ? Date.parse(at) : null);
  const own = target.supervision.supervision(declared.id);
  const registry = new Map(target.devServers.devServers(declared.id).map((s) => [s.name, s]));
  return {
    restart: declared.restart,
    state: container?.state ?? null,
    exitCode: container?.exitCode ?? null,
    held: own.held,
    retryAt: retryAt(own.nextAttemptAt, own.failures),
    devServers: new Map(
      declared.devServers.map((d) => {
        const record = target.supervision.supervision(declared.id, d.name);
        return [d.name, { restart: d.restart, state: registry.get(d.name)?.state ?? null, held: record.held, retryAt: retryAt(record.nextAttemptAt, record.failures) }];
      }),
    ),
  };
}
