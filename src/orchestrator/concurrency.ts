import { freemem } from 'node:os';
import { BerthError } from '../errors.js';
import { defaultFanOut } from '../process/bounded.js';

/**
 * How many workspaces an apply or reconcile works on at once. A create is mostly waiting on the
 * engine (a CLI process, the engine's own container setup), so a few per core overlap well
 * (`defaultFanOut`); each also costs the host memory while it runs (an engine CLI process, conmon or
 * containerd-shim, the container's first processes), so no more run at once than fit in the memory
 * budget and in what is free now.
 */

/** What one create or start in flight costs the host, besides the workspace's own limit (an estimate). */
export const IN_FLIGHT_BYTES = 256 * 1024 ** 2;

export interface ConcurrencyInputs {
  /** The memory budget's bytes (budget.ts: BERTH_MEMORY_BUDGET, the manifest, 75 % of the host). */
  budgetBytes: number;
  /** Free memory now. Default: the OS's. */
  freeBytes?: number | undefined;
  /** Default: defaultFanOut() (from the cores). */
  fanOut?: number | undefined;
}

/** The default `--concurrency`: from the cores, capped by memory; at least 1. */
export function defaultConcurrency(inputs: ConcurrencyInputs): number {
  const fanOut = inputs.fanOut ?? defaultFanOut();
  const memory = Math.floor(Math.min(inputs.budgetBytes, inputs.freeBytes ?? freemem()) / IN_FLIGHT_BYTES);
  return Math.max(1, Math.min(fanOut, memory));
}

/** `--concurrency N` / `"concurrency": N`: a whole number from 1 to 64. */
export function parseConcurrency(value: string | number, where: string): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new BerthError('E_INVALID_INPUT', `${where} must be a whole number from 1 to 64, got ${JSON.stringify(value)}.`, {
      hint: `${where} 1 applies one action at a time, in plan order; leave it out for the default (from the cores and the memory budget).`,
    });
  }
  return n;
}
