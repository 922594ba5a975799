import type { StartedDaemon } from '../daemon/start.js';

/** BERTH_NO_DAEMON=1: the CLI never talks to nor starts a daemon. */
export function daemonOptedOut(): boolean {
  return Boolean(process.env['BERTH_NO_DAEMON']);
}

/**
 * The daemon a command needs (it serves the egress proxy and owns long-lived dev servers), started
 * in the background when none runs, as docker's socket activation or gradle's daemon do; null when
 * the user opted out with BERTH_NO_DAEMON=1.
 */
export async function daemonOnDemand(runtime: string | undefined): Promise<StartedDaemon | null> {
  if (daemonOptedOut()) return null;
  const { startDaemon } = await import('../daemon/start.js');
  const daemon = await startDaemon({ runtime });
  if (daemon.started) process.stderr.write(`berth: started the daemon in the background (pid ${String(daemon.health.pid)}; log ${daemon.log}; \`berth daemon stop\` ends it)\n`);
  return daemon;
}

/**
 * After a change made in this process (no daemon answered): the proxy must serve it before the
 * command returns. Starts the daemon if needed and waits for its acknowledgement; says plainly
 * that egress is closed when the user opted out of the daemon.
 */
export async function serveEgressChange(workspace: string, runtime: string | undefined, what: 'up' | 'change'): Promise<void> {
  const daemon = await daemonOnDemand(runtime);
  if (daemon === null) {
    process.stderr.write(
      what === 'up'
        ? `egress: closed until the proxy is served: nothing from ${workspace} gets out until \`berth egress serve\` or \`berth daemon\` runs (BERTH_NO_DAEMON is set, so none was started).\n`
        : `egress: BERTH_NO_DAEMON is set: the change applies once a proxy serves it (\`berth egress serve\` re-reads rules every half second).\n`,
    );
    return;
  }
  await daemon.client.applyEgress(workspace);
}
