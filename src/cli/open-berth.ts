import type { Berth } from '../berth.js';

/** Opens Berth for a command; loaded lazily so `--version` and `--help` never pay for it. */
export async function openBerth(runtime: string | undefined): Promise<Berth> {
  const { createBerth } = await import('../berth.js');
  return createBerth({ runtime });
}
