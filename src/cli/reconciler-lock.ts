import { resolve } from 'node:path';
import { berthHome } from '../config.js';
import { isBerthError, BerthError } from '../errors.js';
import { FileLock, describeHolder, lockPaths, type LockHolder } from '../state/file-lock.js';

/** How long `berth apply`/`berth reconcile` queue behind another one-shot apply or reconcile. */
const QUEUE_MS = 10 * 60_000;

/**
 * One reconciler at a time per $BERTH_HOME. A one-shot `apply` or `reconcile` queues behind
 * another one-shot run (it ends soon); behind a daemon that reconciles a manifest it is refused
 * at once, naming the daemon: that one holds the role for its whole life.
 */
export async function holdReconciler(role: 'apply' | 'reconcile', manifest: string): Promise<FileLock> {
  const file = lockPaths.reconciler(berthHome());
  const options = { role, detail: resolve(manifest) };
  try {
    return await FileLock.acquire(file, { ...options, waitMs: 0 });
  } catch (error) {
    const holder = isBerthError(error, 'E_CONFLICT') ? ((error.details?.['holder'] as LockHolder | null | undefined) ?? null) : undefined;
    if (holder === undefined) throw error;
    if (holder?.role === 'daemon') {
      throw new BerthError('E_CONFLICT', `The Berth daemon reconciles this state folder (${describeHolder(holder)}); one reconciler at a time.`, {
        hint: 'It applies its manifest every cycle by itself. To run this one instead, stop it first: `berth daemon stop`.',
        details: { holder },
      });
    }
    process.stderr.write(`berth ${role}: waiting for the reconciler already running (${describeHolder(holder)})\n`);
    return FileLock.acquire(file, { ...options, waitMs: QUEUE_MS });
  }
}
