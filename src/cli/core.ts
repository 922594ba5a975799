import type { DevServer } from '../devserver/types.js';
import type { EgressPolicy } from '../egress/policy.js';
import type { EventQuery, StoredEvent } from '../state/store.js';
import type { WorkspaceSummary } from '../workspace/inventory.js';
import type { WorkspaceSpecInput } from '../workspace/spec.js';
import type { UpReport } from '../workspace/up-report.js';
import type { StartOptions } from '../devserver/manager.js';

export interface EgressView {
  policy: EgressPolicy;
  enforced: boolean;
  network: string | null;
  proxy: string;
}

/**
 * What the core commands (ls, status, up, stop, rm, dev, egress) need, whoever does it:
 * Berth in this process, or the daemon over its socket. `openCore` (open-berth.ts) picks one.
 */
export interface CliCore {
  readonly via: 'daemon' | 'in-process';
  /** The runtime the workspaces are on. */
  readonly runtime: string;
  readonly isolated: boolean;
  list(): Promise<WorkspaceSummary[]>;
  status(id: string): Promise<WorkspaceSummary>;
  /** Without a spec, an existing workspace comes up as last declared (a new one in this folder). */
  up(id: string, spec: WorkspaceSpecInput | undefined): Promise<UpReport>;
  stop(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  egress(id: string): Promise<EgressView | null>;
  changeEgress(id: string, change: { allow: string } | { deny: string } | { revoke: string }): Promise<EgressPolicy>;
  devStart(workspace: string, name: string, options: StartOptions, wait: boolean): Promise<DevServer>;
  /** Restarts and waits until it listens (or ends). */
  devRestart(workspace: string, name: string): Promise<DevServer>;
  devStop(workspace: string, name: string): Promise<DevServer>;
  /** Reconciled against the real processes. */
  devList(workspace?: string): Promise<DevServer[]>;
}

/** The event log, from the daemon or straight from SQLite (no runtime chosen, no engine asked). */
export interface EventSource {
  events(query: EventQuery): Promise<StoredEvent[]>;
  /** Every event after `afterSeq` matching the query, as it is written, until `signal` aborts. */
  follow(query: EventQuery, afterSeq: number, signal: AbortSignal): AsyncIterable<StoredEvent>;
}
