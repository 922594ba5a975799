import type { DevServerManager } from '../devserver/manager.js';

/**
 * Dev-server liveness without anyone asking: every interval, one scan per workspace that has a live
 * server (DevServerManager.list skips the others), so a crash becomes a `devserver.crashed` event
 * and the registry stays true for readers that never scan (the dashboard, `GET /dev-servers`).
 */
export class LivenessLoop {
  private readonly dev: Pick<DevServerManager, 'list'>;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(dev: Pick<DevServerManager, 'list'>, intervalMs: number) {
    this.dev = dev;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.timer = setInterval(() => {
      // Never two scans at once: a slow engine delays the next tick instead of piling them up.
      this.running = this.running.then(() => this.dev.list()).catch(() => undefined);
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
