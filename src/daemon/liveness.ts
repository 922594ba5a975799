import type { DevServerManager } from '../devserver/manager.js';
import { isLive, type DevServer } from '../devserver/types.js';
import { tcpProbe } from '../orchestrator/probes.js';
import { isBerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import type { Store } from '../state/store.js';

export interface LivenessOptions {
  dev: Pick<DevServerManager, 'refresh' | 'markGone'>;
  store: Pick<Store, 'devServers'>;
  emit: (event: BerthEventInput) => void;
  intervalMs: number;
  /** Every how many passes a workspace is scanned even when all its servers answer (default 6). */
  fullScanEvery?: number | undefined;
}

const FULL_SCAN_EVERY = 6;
const CONNECT_TIMEOUT_MS = 1000;

/**
 * Dev-server liveness without anyone asking: every interval, one scan per workspace that has a live
 * server, so a crash becomes a `devserver.crashed` event and the registry stays true for readers
 * that never scan (the dashboard, `GET /dev-servers`). A workspace whose container was stopped or
 * removed behind Berth's back took its servers with it: they are recorded stopped once, instead of
 * a failed scan every interval. Other failures (the engine is down) are reported once per cause.
 *
 * A scan is an exec in the workspace: cheap for one, but 20 workspaces every 10 s kept an engine
 * CLI busy about 17 % of a core. So a workspace whose running servers all still accept a TCP
 * connection at their own URL is not scanned, except every `fullScanEvery` passes; a server that
 * crashed stops answering and is scanned (and recorded) in the same pass. Servers behind a bridge
 * (loopback-only ones, preview-pool slots) are always scanned: the bridge keeps listening after its
 * server dies.
 */
export class LivenessLoop {
  private readonly options: LivenessOptions;
  private readonly reported = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private passes = 0;

  constructor(options: LivenessOptions) {
    this.options = options;
  }

  start(): void {
    this.timer = setInterval(() => {
      // Never two passes at once: a slow engine delays the next one instead of piling them up.
      // A pass that fails as a whole (the store, not one workspace) must not end the loop.
      this.running = this.running
        .then(() => this.pass())
        .catch((error: unknown) => this.options.emit({ type: 'devserver.scan-failed', level: 'warn', message: `Liveness pass failed: ${error instanceof Error ? error.message : String(error)}` }));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One scan of every workspace with a live server. */
  async pass(): Promise<void> {
    const { dev, store, emit } = this.options;
    this.passes += 1;
    const full = this.passes % (this.options.fullScanEvery ?? FULL_SCAN_EVERY) === 0;
    const byWorkspace = new Map<string, DevServer[]>();
    for (const server of store.devServers().filter(isLive)) byWorkspace.set(server.workspace, [...(byWorkspace.get(server.workspace) ?? []), server]);
    for (const [workspace, servers] of byWorkspace) {
      if (!full && (await allAnswer(servers))) continue;
      try {
        await dev.refresh(workspace);
        this.reported.delete(workspace);
      } catch (error) {
        if (isBerthError(error, 'E_NOT_RUNNING', 'E_NOT_FOUND')) {
          dev.markGone(workspace, 'its workspace is no longer running');
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        if (this.reported.get(workspace) === message) continue;
        this.reported.set(workspace, message);
        emit({ type: 'devserver.scan-failed', workspace, level: 'warn', message: `Cannot check the dev servers of ${workspace}: ${message}` });
      }
    }
  }
}

/** Whether every server is running at a URL of its own and accepts a TCP connection there now. */
async function allAnswer(servers: readonly DevServer[]): Promise<boolean> {
  const addresses: { host: string; port: number }[] = [];
  for (const server of servers) {
    const address = directAddress(server);
    if (address === null) return false;
    addresses.push(address);
  }
  const results = await Promise.all(addresses.map((address) => tcpProbe(address.host, address.port, CONNECT_TIMEOUT_MS)));
  return results.every((result) => result.ok);
}

function directAddress(server: DevServer): { host: string; port: number } | null {
  if (server.state !== 'running' || server.url === null || server.bridgePgid !== null) return null;
  try {
    const url = new URL(server.url);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return null;
  }
}
