import cluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../errors.js';
import type { BerthEventInput } from '../events.js';
import type { FromLoop, LoopListener, LoopState, ToLoop } from './loop-messages.js';

/** How long a loop may take to put a state in force before it is killed (it then serves nothing). */
const ACK_TIMEOUT_MS = 10_000;
/** A loop that keeps dying is not restarted forever: after this many exits within the window, none. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export interface ProxyLoopsOptions {
  /** How many accept loops (cluster workers): at least 1. */
  count: number;
  /** Every loop's decisions, in the order each loop made them. */
  emit: (event: BerthEventInput) => void;
  /** A loop that exited unexpectedly: restarted, or (too many exits) not, which closes its port. */
  onExit?: ((detail: { pid: number | undefined; code: number | null; signal: string | null; restarted: boolean }) => void) | undefined;
  ackTimeoutMs?: number | undefined;
}

/** What the loops serve after a state, as they reported it. */
export interface LoopsApplied {
  listening: string[];
  failures: Map<string, string>;
}

interface Loop {
  worker: Worker;
  /** The last state this loop said is in force (-1: none yet, it listens on nothing). */
  acked: number;
  last: LoopsApplied | undefined;
}

/**
 * The egress proxy on several event loops: `count` cluster workers (proxy-loop.ts) accept on the
 * same listening sockets, which the primary binds and hands them (SCHED_NONE: the kernel gives each
 * connection to whichever loop accepts first; the primary never accepts). One loop saturates one
 * core on a burst of tunnels, most of it node's per-socket work, not Berth's checks
 * (docs/benchmarks.md), so more loops is what brings a burst down.
 *
 * The checks are the same EgressProxy in each loop, and the state they decide on is the primary's:
 * `apply()` sends it to every loop and resolves only when each has it in force (or is gone), so a
 * change is in force in all of them when it returns. A loop that does not answer in time is killed.
 * A loop that dies takes its connections with it; the primary forks another, which listens only
 * once it has the current state. If loops keep dying, none is forked: the last one's exit closes
 * the shared socket (the primary holds no copy once no worker listens), so the port refuses
 * connections rather than pass them unchecked.
 */
export class ProxyLoops {
  private readonly options: ProxyLoopsOptions;
  private readonly loops = new Map<number, Loop>();
  private state: LoopState = { seq: 0, listeners: [], policies: [] };
  private readonly waiters = new Set<() => void>();
  private readonly exits: number[] = [];
  private closing = false;

  constructor(options: ProxyLoopsOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new BerthError('E_INVALID_INPUT', `The egress proxy needs at least one loop, got ${String(options.count)}.`);
    this.options = options;
  }

  /** Forks the loops and waits until each has the (empty) first state. */
  async start(): Promise<void> {
    setupCluster();
    for (let i = 0; i < this.options.count; i++) this.fork();
    await this.settled(this.state.seq);
  }

  /** The pids of the loops (for tests and status). */
  pids(): number[] {
    return [...this.loops.values()].map((l) => l.worker.process.pid).filter((pid): pid is number => pid !== undefined);
  }

  /**
   * Sends a new state to every loop and resolves once all that are alive have it in force; what
   * they listen on comes back. With no loop alive (all failed), every listener is reported failed.
   */
  async apply(listeners: LoopListener[], policies: LoopState['policies']): Promise<LoopsApplied> {
    this.state = { seq: this.state.seq + 1, listeners, policies };
    const message: ToLoop = { kind: 'state', state: this.state };
    for (const loop of this.loops.values()) loop.worker.send(message);
    await this.settled(this.state.seq);
    const reports = [...this.loops.values()].flatMap((l) => (l.last ? [l.last] : []));
    if (reports.length === 0) {
      const failures = new Map(listeners.map((l) => [`${l.host}:${String(l.port)}`, 'no egress proxy loop is running (they kept exiting; see the daemon log)']));
      return { listening: [], failures };
    }
    // An address counts as served only when every loop serves it.
    const listening = reports.map((r) => new Set(r.listening)).reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
    const failures = new Map<string, string>();
    for (const report of reports) for (const [address, why] of report.failures) failures.set(address, why);
    return { listening: [...listening].sort(), failures };
  }

  /**
   * Stops every loop: each stops accepting, gives open tunnels `graceMs`, sends its last decisions
   * and exits; one still there a second after that is killed.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    const gone = [...this.loops.values()].map(
      (loop) =>
        new Promise<void>((resolve) => {
          if (loop.worker.isDead()) return resolve();
          const kill = setTimeout(() => loop.worker.process.kill('SIGKILL'), graceMs + 1_000);
          loop.worker.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          loop.worker.send({ kind: 'close', graceMs } satisfies ToLoop);
        }),
    );
    await Promise.all(gone);
  }

  private fork(): void {
    const worker = cluster.fork();
    const loop: Loop = { worker, acked: -1, last: undefined };
    this.loops.set(worker.id, loop);
    worker.on('message', (message: FromLoop) => {
      switch (message.kind) {
        case 'ready':
          worker.send({ kind: 'state', state: this.state } satisfies ToLoop);
          break;
        case 'applied':
          loop.acked = Math.max(loop.acked, message.seq);
          loop.last = { listening: message.listening, failures: new Map(message.failures) };
          this.wake();
          break;
        case 'events':
          for (const event of message.events) this.options.emit(event);
          break;
        case 'closed':
          break;
      }
    });
    // An IPC error (the loop gone mid-send) is followed by its exit, handled below.
    worker.on('error', () => undefined);
    worker.once('exit', (code, signal) => {
      this.loops.delete(worker.id);
      this.wake();
      if (this.closing) return;
      const now = Date.now();
      this.exits.push(now);
      while (this.exits.length > 0 && (this.exits[0] ?? now) < now - RESTART_WINDOW_MS) this.exits.shift();
      const restarted = this.exits.length <= MAX_RESTARTS;
      if (restarted) this.fork();
      this.options.onExit?.({ pid: worker.process.pid, code, signal, restarted });
    });
  }

  /** Resolves when every loop alive has acknowledged `seq`; a loop slower than the timeout is killed. */
  private settled(seq: number): Promise<void> {
    const timeoutMs = this.options.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    return new Promise((resolve) => {
      const check = (): void => {
        if ([...this.loops.values()].every((l) => l.acked >= seq)) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        // It may still serve the state before: it must not serve at all.
        for (const loop of this.loops.values()) if (loop.acked < seq) loop.worker.process.kill('SIGKILL');
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * The cluster settings are the process's: set once, here, before the first fork. SCHED_NONE: the
 * workers accept on the shared socket themselves (round-robin would make the primary accept every
 * connection and pass it on, the one-loop cost again).
 */
function setupCluster(): void {
  if (!cluster.isPrimary) throw new BerthError('E_RUNTIME_FAILED', 'The egress proxy loops are forked by the primary process only.');
  const { exec, execArgv } = loopEntry();
  if (cluster.settings.exec === exec) return;
  if (cluster.settings.exec !== undefined) throw new BerthError('E_RUNTIME_FAILED', `node:cluster in this process already runs ${cluster.settings.exec}; the egress proxy loops cannot share it.`);
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec, execArgv, args: [] });
  if (cluster.schedulingPolicy !== cluster.SCHED_NONE) throw new BerthError('E_RUNTIME_FAILED', 'node:cluster was set up before the egress proxy (its scheduling policy is not SCHED_NONE).');
}

/** The loop's module: compiled (dist/) beside this one; from source (tests, tsx), through tsx. */
function loopEntry(): { exec: string; execArgv: string[] } {
  const compiled = fileURLToPath(new URL('./proxy-loop.js', import.meta.url));
  if (existsSync(compiled)) return { exec: compiled, execArgv: [] };
  return { exec: fileURLToPath(new URL('./proxy-loop.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}
