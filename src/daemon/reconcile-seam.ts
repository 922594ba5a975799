import type { Berth } from '../berth.js';
import { Reconciler as ReconcileLoop } from '../orchestrator/reconcile.js';

/**
 * The daemon's only view of reconciliation. The daemon creates one from `--manifest FILE`, starts
 * it after its listeners are up and stops it before they close; how reconciling works is the
 * orchestrator's (src/orchestrator/reconcile.ts).
 */
export interface Reconciler {
  start(): void;
  stop(): Promise<void>;
}

export interface ReconcilerOptions {
  manifest: string;
  intervalMs: number;
  home: string;
  env?: NodeJS.ProcessEnv | undefined;
  concurrency?: number | undefined;
}

/**
 * The orchestrator's loop over the daemon's Berth. A manifest may also declare workspaces on
 * another runtime (`runtime:`, `sandbox: vm` → apple): the same Berth serves those, each runtime
 * connected when first needed (Berth.targetFor).
 */
export function createReconciler(berth: Berth, options: ReconcilerOptions): Reconciler {
  const loop = new ReconcileLoop({
    manifest: options.manifest,
    runtime: berth.runtime.kind,
    intervalMs: options.intervalMs,
    env: options.env,
    concurrency: options.concurrency,
    open: (choice) => berth.targetFor(choice),
  });
  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}
