/**
 * The API's shapes, as the client returns them. Type-only imports of Berth's own types: the client
 * loads none of Berth's runtime code (no SQLite, no engines), only node:http.
 */
import type { WorkspaceSummary } from '../workspace/inventory.js';
import type { DevServer } from '../devserver/types.js';
import type { EgressPolicy } from '../egress/policy.js';
import type { StoredEvent } from '../state/store.js';
import type { UpReport } from '../workspace/up-report.js';
import type { Action } from '../orchestrator/plan.js';
import type { DaemonInfo } from '../daemon/daemon.js';
import type { RuntimeKind } from '../runtime/kinds.js';
import type { RuntimeState } from '../runtime/registry.js';
import type { ListFilter } from '../api.js';

export type { WorkspaceSummary, DevServer, EgressPolicy, StoredEvent, Action };
export type { BerthApi, DevApi, DevStartOptions, EgressChange, EventFilter, EventsApi, ListFilter, ApiExecOptions, ApiExecResult, ApiPty, ApiPtyOptions, FilesApi, ApiProcess, ApiSpawnOptions } from '../api.js';
export type { BerthEvent, BerthEventType, StoredBerthEvent } from '../events.js';
export type { ForwardedPort, ForwardedPortView } from '../workspace/forwarded-ports.js';

export interface Health extends DaemonInfo {
  ok: true;
  /** Each runtime: the default, connected (a workspace on it was addressed), idle, or unavailable and why. */
  runtimeStates: RuntimeState[];
  egressListeners: string[];
}

export interface EgressView {
  policy: EgressPolicy;
  enforced: boolean;
  network: string | null;
  proxy: string;
}

/**
 * `GET /workspaces` with how fresh it is: the daemon may answer from its last observation while it
 * is young (LISTING_FRESH_MS, 1.5 s) and nothing was changed through Berth since, by any process.
 */
export interface ObservedListing {
  workspaces: WorkspaceSummary[];
  /** When the observation began (ISO time): every state in it is at least this fresh. */
  observedAt: string;
  /** Its age when the daemon answered (ms). */
  ageMs: number;
  /** `cached`: an earlier observation, reused; `live`: observed for this request (what a daemon without this cache always does). */
  source: 'cached' | 'live';
}

/** A listing's options over the API: a label filter, and `fresh: true` to have the engines observed now. */
export interface ClientListOptions extends ListFilter {
  fresh?: boolean | undefined;
}

export interface WorkspaceStatus extends WorkspaceSummary {
  isolated: boolean;
  egress: EgressView | null;
}

/**
 * A workspace spec over the API (the typed client makes relative paths absolute against its own
 * folder). Of an existing workspace it is a patch over what was last declared.
 */
export interface UpSpec {
  root?: string | undefined;
  image?: string | undefined;
  mounts?: readonly (string | { source: string; readOnly?: boolean | undefined })[] | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  cpus?: number | undefined;
  memory?: string | number | undefined;
  previewPorts?: number | undefined;
  /** null: no egress control any more. */
  egress?: { allow?: readonly string[] | undefined; deny?: readonly string[] | undefined } | null | undefined;
  allowSensitiveMounts?: boolean | undefined;
  hostSandbox?: 'auto' | 'on' | 'off' | undefined;
  /** Where a new workspace lives (default: the daemon's default runtime); an existing one stays where it is. */
  runtime?: RuntimeKind | undefined;
  /** App metadata, filterable in `list({ labels })`. */
  labels?: Readonly<Record<string, string>> | undefined;
}

/** What `up` answers: the same shape as `berth up --json`. */
export type UpResult = UpReport;

export interface DevStartSpec {
  /** A list, or one string run by `sh -c`. */
  command: string[] | string;
  cwd?: string;
  port?: number;
  env?: Record<string, string>;
}

export interface EventQuery {
  after?: number;
  since?: string;
  workspace?: string;
  type?: string;
  limit?: number;
}

export interface PlanResult {
  hash: string;
  runtime: string;
  actions: Action[];
}

export interface ApplyResult {
  hash: string;
  outcomes: { action: Action; ok: boolean; message: string }[];
}
