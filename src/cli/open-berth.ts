import type { Berth } from '../berth.js';
import type { BerthClient, Health } from '../client/index.js';
import type { CliCore, EventSource } from './core.js';

/**
 * Opens Berth for a command; loaded lazily so `--version` and `--help` never pay for it. A command
 * about one workspace names it, so Berth can use the runtime it lives on without probing engines.
 */
export async function openBerth(runtime: string | undefined, workspace?: string): Promise<Berth> {
  const { createBerth } = await import('../berth.js');
  return createBerth({ runtime, workspace });
}

/**
 * The one place the CLI decides between the daemon and Berth in-process, for the core commands
 * (ls, status, up, stop, rm, dev, egress; events through openEvents below). The daemon is used when its socket answers (a
 * file check and one connect) and it serves the runtime asked for; BERTH_NO_DAEMON=1 opts out.
 * `berth exec` never comes here: its hot path must not load the client.
 */
export async function openCore(runtime: string | undefined, workspace?: string): Promise<CliCore> {
  const daemon = await findDaemon(runtime);
  if (daemon) {
    const { daemonCore } = await import('./core-daemon.js');
    return daemonCore(daemon.client, daemon.health);
  }
  const { localCore } = await import('./core-local.js');
  return localCore(await openBerth(runtime, workspace));
}

/** The event log for `berth events`: the daemon's, or SQLite's without choosing a runtime. */
export async function openEvents(): Promise<EventSource> {
  const daemon = await findDaemon(undefined);
  if (daemon) {
    const { daemonEvents } = await import('./core-daemon.js');
    return daemonEvents(daemon.client);
  }
  const [{ storeEvents }, { Store }, { berthHome }] = await Promise.all([import('./core-local.js'), import('../state/store.js'), import('../config.js')]);
  return storeEvents(Store.open(berthHome()).events);
}

/**
 * The daemon of this $BERTH_HOME, when its socket answers and it serves the runtime this command
 * would choose by the explicit rules (--runtime > BERTH_RUNTIME > config.json); left to detection,
 * the daemon's runtime is the answer.
 */
async function findDaemon(flag: string | undefined): Promise<{ client: BerthClient; health: Health } | null> {
  if (process.env['BERTH_NO_DAEMON']) return null;
  const [{ connectDaemon }, { berthHome, loadConfig }] = await Promise.all([import('../client/index.js'), import('../config.js')]);
  const client = await connectDaemon();
  if (!client) return null;
  const health = await client.health().catch(() => null);
  if (!health) return null;
  const wanted = flag ?? (process.env['BERTH_RUNTIME'] || undefined) ?? loadConfig(berthHome()).runtime;
  return wanted === undefined || wanted === 'auto' || wanted === health.runtime ? { client, health } : null;
}
