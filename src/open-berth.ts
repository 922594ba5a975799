import type { BerthApi } from './api.js';
import type { BerthOptions } from './berth.js';

/**
 * Berth for an app, whoever serves it: the daemon's client when a daemon answers on this home's
 * socket (and serves the runtime asked for, if one is), else Berth in this process. Both are the
 * same `BerthApi`; `via` says which. `BERTH_NO_DAEMON=1` (in `env`) always opens in process.
 */
export async function openBerth(options: BerthOptions = {}): Promise<BerthApi> {
  const env = options.env ?? process.env;
  if (!env['BERTH_NO_DAEMON']) {
    const { connectDaemon } = await import('./client/index.js');
    const client = await connectDaemon({ home: options.home, env });
    const health = await client?.health().catch(() => null);
    const wanted = options.runtime ?? (env['BERTH_RUNTIME'] || undefined);
    if (client && health && (wanted === undefined || wanted === 'auto' || wanted === health.runtime)) return client;
    await client?.close();
  }
  const { createBerth } = await import('./berth.js');
  return createBerth(options);
}
