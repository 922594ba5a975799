import type { Berth } from '../berth.js';

/**
 * Opens Berth for a command; loaded lazily so `--version` and `--help` never pay for it. A command
 * about one workspace names it, so Berth can use the runtime it lives on without probing engines.
 */
export async function openBerth(runtime: string | undefined, workspace?: string): Promise<Berth> {
  const { createBerth } = await import('../berth.js');
  return createBerth({ runtime, workspace });
}
