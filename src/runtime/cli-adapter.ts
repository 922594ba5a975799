import { isBerthError } from '../errors.js';
import { notFound } from './errors.js';
import type { NetworkInfo, RuntimeKind } from './types.js';

/** Flows the CLI-driven adapters (docker/podman and Apple) share; only argv and parsers differ. */

/**
 * Returns the network, creating it when absent. A create that loses a race to another caller is
 * fine: theirs is as good as ours, so a conflict is adopted, not reported.
 */
export async function ensureNetwork(inspect: () => Promise<NetworkInfo>, create: () => Promise<unknown>): Promise<NetworkInfo> {
  try {
    return await inspect();
  } catch (error) {
    if (!isBerthError(error, 'E_NOT_FOUND')) throw error;
  }
  try {
    await create();
  } catch (error) {
    if (!isBerthError(error, 'E_CONFLICT')) throw error;
  }
  return inspect();
}

/** The one record an inspect of a single name returned, or a typed not-found (some versions print `[]`). */
export function onlyRecord<T>(records: readonly T[], runtime: RuntimeKind, what: 'container' | 'image' | 'network', name: string): T {
  const [record] = records;
  if (record === undefined) throw notFound(runtime, what, name);
  return record;
}

/** The engine CLI's environment plus the values its `-e NAME` flags read. */
export function envWith(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  return Object.keys(extra).length === 0 ? base : { ...base, ...extra };
}
