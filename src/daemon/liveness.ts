import type { DevServerManager } from '../devserver/manager.js';
import { isLive } from '../devserver/types.js';
import { isBerthError } from '../errors.js';
import { defaultFanOut, settleBounded } from '../process/bounded.js';
import type { BerthEventInput } from '../events.js';
import type { DevServerStore } from '../state/dev-servers.js';

export interface LivenessOptions {
  dev: Pick<DevServerManager, 'refresh' | 'confirm' | 'markGone'>;
  registry: Pick<DevServerStore, 'devServers'>;
  emit: (event: BerthEventInput) => void;
  intervalMs: number;
  /** Every how many passes a workspace is scanned even when all its servers answer (default 6). */
  fullScanEvery?: number | undefined;
}

const FULL_SCAN_EVERY = 6;

/**
 * Dev-server liveness without anyone asking: every interval, one scan per workspace that has a live
 * server, so a crash becomes a `devserver.crashed` event and the registry stays true for readers
 * that never scan (the dashboard, `GET /dev-servers`). A workspace whose container was stopped or
 * removed behind Berth's back took its servers with it: they are recorded stopped once, instead of
 * a failed scan every interval. Other failures (the engine is down) are reported once per cause.
 *
 * A scan is an exec in the workspace: cheap for one, but 20 workspaces every 10 s kept an engine
 * CLI busy about 17 % of a core. So passes use `DevServerManager.confirm` (no scan while every
 * server still answers at its own URL), and every `fullScanEvery`th pass scans everything.
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

  /** One check of every workspace with a live server. */
  async pass(): Promise<void> {
    const { dev, registry, emit } = this.options;
    this.passes += 1;
    const full = this.passes % (this.options.fullScanEvery ?? FULL_SCAN_EVERY) === 0;
    const workspaces = [...new Set(registry.devServers().filter(isLive).map((s) => s.workspace))];
    // Side by side (bounded): one slow workspace does not delay the others' crash reports.
    const outcomes = await settleBounded(workspaces, defaultFanOut(), (workspace) => (full ? dev.refresh(workspace) : dev.confirm(workspace)));
    outcomes.forEach((outcome, index) => {
      const workspace = workspaces[index] ?? '';
      if (outcome.status === 'fulfilled') {
        this.reported.delete(workspace);
        return;
      }
      const error: unknown = outcome.reason;
      if (isBerthError(error, 'E_NOT_RUNNING', 'E_NOT_FOUND')) {
        dev.markGone(workspace, 'its workspace is no longer running');
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      if (this.reported.get(workspace) === message) return;
      this.reported.set(workspace, message);
      emit({ type: 'devserver.scan-failed', workspace, level: 'warn', message: `Cannot check the dev servers of ${workspace}: ${message}` });
    });
  }
}
