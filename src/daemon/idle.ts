/**
 * When a daemon started on demand has nothing left to do: no egress workspace to proxy, no live
 * dev server to watch, no manifest to reconcile, and no API call for the whole idle period. It then
 * exits by itself; the next command that needs it starts it again.
 */
export class IdleWatch {
  private readonly idleMs: number;
  private readonly busy: () => boolean;
  private readonly now: () => number;
  private idleSince: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private resolveIdle: () => void = () => undefined;
  /** Resolves once the daemon has been idle for the whole period. */
  readonly idle: Promise<void>;

  constructor(options: { idleMs: number; busy: () => boolean; now?: () => number }) {
    this.idleMs = options.idleMs;
    this.busy = options.busy;
    this.now = options.now ?? Date.now;
    this.idle = new Promise((resolve) => (this.resolveIdle = resolve));
  }

  start(): void {
    this.touch();
    this.timer = setInterval(() => this.check(), Math.max(50, Math.min(this.idleMs / 4, 5_000)));
    this.timer.unref();
  }

  /** Something happened (an API call): the idle period starts again. */
  touch(): void {
    this.idleSince = this.now();
  }

  /** Public for tests: one look at the clock and at what is being served. */
  check(): void {
    let busy: boolean;
    try {
      busy = this.busy();
    } catch {
      busy = true; // the store busy or gone: never exit on a doubt
    }
    if (busy) {
      this.idleSince = null;
      return;
    }
    this.idleSince ??= this.now();
    if (this.now() - this.idleSince >= this.idleMs) {
      this.stop();
      this.resolveIdle();
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
