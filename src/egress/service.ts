import { availableParallelism } from 'node:os';
import { BerthError } from '../errors.js';
import { stampEvent } from '../events.js';
import type { EgressRecord, EgressStore } from '../state/egress-records.js';
import type { EventLog } from '../state/event-log.js';
import type { EgressPolicy } from './policy.js';
import { EgressProxy } from './proxy.js';
import { ShieldKeeper } from './host-shield.js';
import { EventBatch } from './event-batch.js';
import type { LoopListener } from './loop-messages.js';
import { ProxyLoops } from './proxy-loops.js';

const DEFAULT_SYNC_INTERVAL_MS = 500;
/** The daemon's accept loops at most: past the cores there is nothing to gain, and each costs a process. */
const MAX_DAEMON_LOOPS = 4;

/**
 * How many accept loops the daemon's proxy runs: `BERTH_EGRESS_LOOPS`, else one per core up to 4.
 * 1 is a single loop in the daemon's own process, as before loops existed.
 */
export function egressLoops(env: NodeJS.ProcessEnv): number {
  const text = env['BERTH_EGRESS_LOOPS'];
  if (text === undefined || text === '') return Math.min(availableParallelism(), MAX_DAEMON_LOOPS);
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new BerthError('E_INVALID_INPUT', `BERTH_EGRESS_LOOPS must be a whole number from 1 to 64, got ${JSON.stringify(text)}.`, { hint: 'Unset it (one loop per core, up to 4), or 1 for a single loop in the daemon.' });
  }
  return count;
}

/** What the service reads (the `egress` table) and where it reports (the event log); a `Store` is one. */
export interface EgressServiceStore {
  readonly egress: Pick<EgressStore, 'egress'>;
  readonly events: Pick<EventLog, 'appendEvent' | 'appendEvents'>;
}

/**
 * Serves every egress-enabled workspace of a Berth installation: one proxy listener per address
 * (each workspace network's gateway; loopback for host mode), credentials and policies read from the
 * store and re-read every half second, so `berth egress allow ...` applies on the next connection
 * without touching the workspace. Run by `berth egress serve` (and later the daemon).
 */
export class EgressService {
  private readonly store: EgressServiceStore;
  private readonly proxies = new Map<string, EgressProxy>();
  private readonly policies = new Map<string, EgressPolicy>();
  private readonly failures = new Map<string, string>();
  private readonly shields = new ShieldKeeper();
  /** Every proxy's decisions, written a turn at a time (event-batch.ts). */
  private readonly decisions: EventBatch;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private lastSyncFailure: string | undefined;
  private readonly syncIntervalMs: number;
  private closed = false;
  /** With more than one accept loop: the cluster workers that serve instead of `proxies` (proxy-loops.ts). */
  private readonly loops: ProxyLoops | null;
  /** What the loops serve, as they last reported it. */
  private served = new Set<string>();

  constructor(store: EgressServiceStore, options: { syncIntervalMs?: number; loops?: number } = {}) {
    this.store = store;
    this.decisions = new EventBatch(store.events);
    this.syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    const count = options.loops ?? 1;
    this.loops =
      count > 1
        ? new ProxyLoops({
            count,
            emit: (event) => this.decisions.add(event),
            onExit: ({ pid, code, signal, restarted }) =>
              this.store.events.appendEvent(
                stampEvent({
                  type: 'egress.loop-exited',
                  level: 'warn',
                  message: `An egress proxy loop (pid ${String(pid)}) exited (${signal ?? `code ${String(code)}`}); ${restarted ? 'another one started' : 'it kept exiting, so it was not restarted'}.`,
                  data: { pid, code, signal, restarted },
                }),
              ),
          })
        : null;
  }

  async start(): Promise<void> {
    await this.loops?.start();
    await this.queueSync();
    this.timer = setInterval(() => {
      // A sync that fails (the store busy or gone) must not end the process nor stop later syncs:
      // the proxies keep serving the last policies read, and the next sync tries again.
      this.queueSync().then(
        () => (this.lastSyncFailure = undefined),
        (error: unknown) => this.syncFailed(error),
      );
    }, this.syncIntervalMs);
  }

  /**
   * Applies what the store says now, and resolves once the proxies serve it: the acknowledgement
   * behind "a change is in force when the call returns" (`up`, `egress allow|deny`), with no
   * polling window. With a workspace named, fails when its listener could not be opened.
   */
  async apply(workspace?: string): Promise<void> {
    await this.queueSync();
    if (workspace === undefined) return;
    const record = this.store.egress.egress(workspace)[0];
    if (record === undefined) return;
    const address = `${record.proxyHost}:${String(record.proxyPort)}`;
    if (!(this.loops ? this.served.has(address) : this.proxies.has(address))) {
      throw new BerthError('E_RUNTIME_FAILED', `The egress proxy of ${workspace} cannot listen on ${address}: ${this.failures.get(address) ?? 'unknown reason'}.`, {
        hint: `Until it does, ${workspace} reaches nothing outside. Check the network exists (\`berth doctor --egress ${workspace}\`), then run \`berth up ${workspace}\` again.`,
      });
    }
  }

  /** Syncs one at a time, in call order: the timer's and apply()'s never interleave. */
  private queueSync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const next = this.syncing.then(() => this.sync());
    this.syncing = next.catch(() => undefined);
    return next;
  }

  /** Said once per cause: as an event when the store takes it, else as a process warning. */
  private syncFailed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message === this.lastSyncFailure) return;
    this.lastSyncFailure = message;
    try {
      this.store.events.appendEvent(stampEvent({ type: 'egress.sync-failed', level: 'warn', message: `Egress rules could not be re-read (the last ones stay in force): ${message}` }));
    } catch {
      process.emitWarning(`berth egress: rules could not be re-read: ${message}`);
    }
  }

  /** Reads the store: new workspaces get listeners, changed policies apply, removed ones stop. */
  async sync(): Promise<void> {
    const records = this.store.egress.egress();
    this.policies.clear();
    for (const record of records) this.policies.set(record.workspace, record.policy);
    if (this.loops) await this.syncLoops(this.loops, records);
    else await this.syncProxies(records);
    // A firewall reload takes the host shields away: put them back within a sync (host-shield.ts).
    await this.shields.keep(records, (event) => void this.store.events.appendEvent(stampEvent(event)));
  }

  /** Every loop gets the whole state and has it in force when this resolves (proxy-loops.ts). */
  private async syncLoops(loops: ProxyLoops, records: readonly EgressRecord[]): Promise<void> {
    const listeners = new Map<string, LoopListener>();
    for (const record of records) {
      const address = `${record.proxyHost}:${String(record.proxyPort)}`;
      const listener = listeners.get(address) ?? { host: record.proxyHost, port: record.proxyPort, tokens: [] };
      listener.tokens.push([record.workspace, record.token]);
      listeners.set(address, listener);
    }
    const applied = await loops.apply([...listeners.values()], [...this.policies]);
    this.served = new Set(applied.listening);
    for (const [address, message] of applied.failures) this.listenFailed(address, records.find((r) => `${r.proxyHost}:${String(r.proxyPort)}` === address)?.workspace, message);
    for (const address of this.served) this.failures.delete(address);
  }

  private async syncProxies(records: readonly EgressRecord[]): Promise<void> {
    const wanted = new Map(records.map((r) => [`${r.proxyHost}:${String(r.proxyPort)}`, r]));
    for (const [address, proxy] of this.proxies) {
      if (!wanted.has(address)) {
        await proxy.close(1000);
        this.proxies.delete(address);
      }
    }
    for (const record of records) {
      const address = `${record.proxyHost}:${String(record.proxyPort)}`;
      let proxy = this.proxies.get(address);
      if (!proxy) {
        proxy = new EgressProxy({
          host: record.proxyHost,
          port: record.proxyPort,
          policyFor: (workspace) => this.policies.get(workspace),
          emit: (event) => this.decisions.add(event),
        });
        try {
          await proxy.listen();
          this.proxies.set(address, proxy);
          this.failures.delete(address);
        } catch (error) {
          // The network may not exist yet (workspace being created): tried again at the next sync.
          this.listenFailed(address, record.workspace, error instanceof Error ? error.message : String(error));
          continue;
        }
      }
      proxy.trust(record.workspace, record.token);
    }
  }

  /** Said once per address and cause. */
  private listenFailed(address: string, workspace: string | undefined, message: string): void {
    if (this.failures.get(address) === message) return;
    this.failures.set(address, message);
    this.store.events.appendEvent(stampEvent({ type: 'egress.listen-failed', workspace, level: 'warn', message: `Cannot listen on ${address}: ${message}` }));
  }

  /** The addresses being served, for status output. */
  listening(): string[] {
    return this.loops ? [...this.served].sort() : [...this.proxies.keys()].sort();
  }

  /** The accept loops' process ids (empty when the proxy runs in this process). */
  loopPids(): number[] {
    return this.loops?.pids() ?? [];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.syncing;
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close(2000)));
    this.proxies.clear();
    await this.loops?.close(2000);
    this.decisions.flush();
  }
}
