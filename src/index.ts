/** Berth as a library: `import { createBerth } from 'berth'`. */
export { createBerth, Berth, serveEgress } from './berth.js';
export type { BerthOptions, WorkspaceSummary, EgressServer } from './berth.js';
export { startDaemon, berthdPath } from './daemon/start.js';
export type { StartDaemonOptions, StartedDaemon } from './daemon/start.js';
export { BerthError, isBerthError } from './errors.js';
export type { BerthErrorCode } from './errors.js';
export type { BerthEvent } from './events.js';
export type { EnsureResult, EnsureAction } from './workspace/ensure.js';
export type { WorkspaceSpecInput } from './workspace/spec.js';
export type { ProcessHandle, ProcessExit, SpawnOptions } from './workspace/processes.js';
export type { DevServer, DevServerState } from './devserver/types.js';
export { selectRuntime, detectRuntimes, createRuntime } from './runtime/select.js';
export type { RuntimeSelection, DetectionReport } from './runtime/select.js';
export type * from './runtime/types.js';
export { Reconciler } from './orchestrator/reconcile.js';
export type { ReconcilerOptions, CycleReport, Finding } from './orchestrator/reconcile.js';
export type { Decision, Drift, Verdict, Backoff, RestartPolicy } from './orchestrator/restart-policy.js';
