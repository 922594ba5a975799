import { BerthError } from '../errors.js';
import { stampEvent } from '../events.js';
import type { EgressStore } from '../state/egress-records.js';
import type { EventLog } from '../state/event-log.js';
import type { EgressPolicy } from './policy.js';
import { EgressProxy } from './proxy.js';
import { ShieldKeeper } from './host-shield.js';
import { EventBatch } from './event-batch.js';

const DEFAULT_SYNC_INTERVAL_MS = 500;

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

  constructor(store: EgressServiceStore, options: { syncIntervalMs?: number } = {}) {
    this.store = store;
    this.decisions = new EventBatch(store.events);
    this.syncIntervalMs = options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  }

  async start(): Promise<void> {
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
    if (!this.proxies.has(address)) {
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
          const message = error instanceof Error ? error.message : String(error);
          if (this.failures.get(address) !== message) {
            this.failures.set(address, message);
            this.store.events.appendEvent(stampEvent({ type: 'egress.listen-failed', workspace: record.workspace, level: 'warn', message: `Cannot listen on ${address}: ${message}` }));
          }
          continue;
        }
      }
      proxy.trust(record.workspace, record.token);
    }
    // A firewall reload takes the host shields away: put them back within a sync (host-shield.ts).
    await this.shields.keep(records, (event) => void this.store.events.appendEvent(stampEvent(event)));
  }

  /** The addresses being served, for status output. */
  listening(): string[] {
    return [...this.proxies.keys()].sort();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.syncing;
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close(2000)));
    this.proxies.clear();
    this.decisions.flush();
  }
}
