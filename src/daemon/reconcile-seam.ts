import { createBerth, type Berth } from '../berth.js';
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
 * another runtime (`sandbox: vm` → apple): those get a Berth of their own on the same home, opened
 * when first needed and closed with the loop.
 */
export function createReconciler(berth: Berth, options: ReconcilerOptions): Reconciler {
  const others = new Map<string, Promise<Berth>>();
  const loop = new ReconcileLoop({
    manifest: options.manifest,
    runtime: berth.runtime.kind,
    intervalMs: options.intervalMs,
    env: options.env,
    concurrency: options.concurrency,
    open: (choice) => {
      if (choice === undefined || choice === berth.runtime.kind) return Promise.resolve(berth);
      let other = others.get(choice);
      if (!other) {
        other = createBerth({ home: options.home, runtime: choice, env: options.env });
        others.set(choice, other);
      }
      return other;
    },
  });
  return {
    start: () => loop.start(),
    stop: async () => {
      await loop.stop();
      for (const other of others.values()) await (await other.catch(() => null))?.close();
    },
  };
}
