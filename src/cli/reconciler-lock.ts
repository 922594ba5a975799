import { berthHome } from '../config.js';
import { describeHolder } from '../state/file-lock.js';
import type { FileLock } from '../state/file-lock.js';
import { holdReconciler as hold } from '../orchestrator/reconciler-lock.js';

/** How long `berth apply`/`berth reconcile` queue behind another one-shot apply or reconcile. */
const QUEUE_MS = 10 * 60_000;

/** The reconciler lock for a CLI `apply`/`reconcile`: queues (saying so on stderr) or is refused behind a manifest daemon. */
export function holdReconciler(role: 'apply' | 'reconcile', manifest: string): Promise<FileLock> {
  return hold({
    home: berthHome(),
    role,
    manifest,
    queueMs: QUEUE_MS,
    onWait: (holder) => process.stderr.write(`berth ${role}: waiting for the reconciler already running (${describeHolder(holder)})\n`),
  });
}
