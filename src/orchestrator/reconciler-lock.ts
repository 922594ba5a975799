import { resolve } from 'node:path';
import { isBerthError, BerthError } from '../errors.js';
import { FileLock, describeHolder, lockPaths, type LockHolder } from '../state/file-lock.js';

export interface HoldReconcilerOptions {
  /** The $BERTH_HOME whose reconciler this is. */
  home: string;
  /** What runs: `apply`, `reconcile`, `api apply` (named to those who wait for it). */
  role: string;
  /** The manifest applied (named too). */
  manifest: string;
  /** How long to queue behind another one-shot apply or reconcile. */
  queueMs: number;
  /** Called once when this call starts to queue. */
  onWait?: ((holder: LockHolder | null) => void) | undefined;
}

/**
 * One reconciler at a time per $BERTH_HOME. A one-shot `apply` or `reconcile` (the CLI's, or the
 * daemon API's `POST /apply`) queues behind another one-shot run (it ends soon); behind a daemon
 * that reconciles a manifest it is refused at once, naming the daemon: that one holds the role for
 * its whole life.
 */
export async function holdReconciler(options: HoldReconcilerOptions): Promise<FileLock> {
  const file = lockPaths.reconciler(options.home);
  const lockOptions = { role: options.role, detail: resolve(options.manifest) };
  try {
    return await FileLock.acquire(file, { ...lockOptions, waitMs: 0 });
  } catch (error) {
    const holder = isBerthError(error, 'E_CONFLICT') ? ((error.details?.['holder'] as LockHolder | null | undefined) ?? null) : undefined;
    if (holder === undefined) throw error;
    if (holder?.role === 'daemon') {
      throw new BerthError('E_CONFLICT', `The Berth daemon reconciles this state folder (${describeHolder(holder)}); one reconciler at a time.`, {
        hint: 'It applies its manifest every cycle by itself. To run this one instead, stop it first: `berth daemon stop`.',
        details: { holder },
      });
    }
    options.onWait?.(holder);
    return FileLock.acquire(file, { ...lockOptions, waitMs: options.queueMs });
  }
}
