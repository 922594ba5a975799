import type { Berth } from '../berth.js';
import { applyPlan } from '../orchestrator/apply.js';
import { planOnRuntime } from './manifest-plan.js';

/**
 * The daemon's only view of reconciliation. The daemon creates one from `--manifest FILE`, starts
 * it after its listeners are up and stops it before they close; nothing else in the daemon knows
 * how reconciling works, so the real reconciler (src/orchestrator/reconcile.ts) replaces the
 * interval loop below by changing `createReconciler` alone.
 */
export interface Reconciler {
  start(): void;
  stop(): Promise<void>;
}

export interface ReconcilerOptions {
  manifest: string;
  intervalMs: number;
}

export function createReconciler(berth: Berth, options: ReconcilerOptions): Reconciler {
  return new IntervalReconciler(berth, options);
}

/**
 * Stand-in until the real reconciler lands: on an interval, read the manifest and run the same
 * plan + apply as `berth apply --yes` for the workspaces on this daemon's runtime. An unreadable
 * manifest or a failed pass is an event (once per distinct failure); the next pass tries again.
 */
class IntervalReconciler implements Reconciler {
  private readonly berth: Berth;
  private readonly options: ReconcilerOptions;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  /** The last failure reported: the same one again (a manifest still broken) is not repeated every pass. */
  private lastFailure: string | undefined;

  constructor(berth: Berth, options: ReconcilerOptions) {
    this.berth = berth;
    this.options = options;
  }

  start(): void {
    const tick = (): void => {
      this.pass = this.pass.then(() => this.runOnce());
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  private async runOnce(): Promise<void> {
    try {
      const { state, planned } = await planOnRuntime(this.berth, this.options.manifest);
      if (planned.plan.actions.length > 0) await applyPlan(this.berth, state, planned);
      this.lastFailure = undefined;
    } catch (error) {
      const message = `Reconcile of ${this.options.manifest} failed: ${error instanceof Error ? error.message : String(error)}`;
      if (message === this.lastFailure) return;
      this.lastFailure = message;
      this.berth.record({ type: 'reconcile.failed', level: 'warn', message });
    }
  }
}
