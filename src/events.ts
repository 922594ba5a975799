import type { RuntimeKind } from './runtime/kinds.js';

/** What happened, for people (message) and programs (type, data): what emitters pass in. */
export interface BerthEventInput {
  /** Dotted, stable: `workspace.created`, `workspace.mount-skipped`, ... (the compiler checks it is listed below). */
  type: BerthEventType;
  workspace?: string | undefined;
  level?: 'info' | 'warn' | 'error' | undefined;
  message: string;
  data?: Record<string, unknown> | undefined;
}

/** An event as recorded (stamped with its time and level), before the types below narrow it. */
export interface RecordedEvent extends Omit<BerthEventInput, 'type'> {
  /** A listed type when Berth wrote it; the log may hold others (a newer Berth on the same home). */
  type: string;
  time: string;
  level: 'info' | 'warn' | 'error';
}

/** Stamps any event (the log itself takes any type; Berth's emitters pass a BerthEventInput). */
export function stampEvent(input: Omit<BerthEventInput, 'type'> & { type: string }, now: Date = new Date()): RecordedEvent {
  return { ...input, level: input.level ?? 'info', time: now.toISOString() };
}

/**
 * One event type and its data. The data objects keep an index signature: events written by an
 * older or newer Berth into the same log may carry fields these types do not list.
 */
interface EventOf<T extends string, D = undefined> {
  type: T;
  time: string;
  level: 'info' | 'warn' | 'error';
  workspace?: string | undefined;
  message: string;
  data: D extends undefined ? Record<string, unknown> | undefined : D & Record<string, unknown>;
}

type RuntimeKindName = RuntimeKind;

/**
 * Every event Berth records, as a union discriminated by `type`: `if (e.type === 'egress.deny')`
 * gives `e.data.host`, typed. (The types are what the emitters in src/ write; a test keeps them
 * in step.)
 */
export type BerthEvent =
  | EventOf<'workspace.created' | 'workspace.recreated', { reasons: string[]; runtime: RuntimeKindName }>
  | EventOf<'workspace.started' | 'workspace.stopped' | 'workspace.removed'>
  | EventOf<'workspace.mount-skipped', { source: string; reason: string }>
  | EventOf<'workspace.isolation', { isolation: string; egress: boolean }>
  | EventOf<'runtime.system-started', { runtime: RuntimeKindName }>
  | EventOf<'devserver.starting', { name: string; pgid: number | null }>
  | EventOf<'devserver.running' | 'devserver.exited' | 'devserver.crashed', { name: string; url: string | null; exitCode: number | null }>
  | EventOf<'devserver.stopped', { name: string }>
  | EventOf<'devserver.scan-failed'>
  | EventOf<'egress.allow' | 'egress.deny', { host: string; port: number; verdict: 'allow' | 'deny'; rule: string | null; method: string; bytes: number }>
  | EventOf<'egress.policy-changed', { allow: string[]; deny: string[] }>
  | EventOf<'egress.unshielded' | 'egress.shield-restored', { bridge: string }>
  | EventOf<'egress.error', { what: string; error: string }>
  | EventOf<'egress.sync-failed' | 'egress.listen-failed'>
  | EventOf<'egress.requested', { request: string; target: string; reason: string }>
  | EventOf<'egress.request-approved' | 'egress.request-denied', { request: string; target: string; decision: 'approved' | 'denied' }>
  | EventOf<'devcontainer.build', { tag: string }>
  | EventOf<'devcontainer.hook', { hook: string; name: string | null; feature?: string; exitCode: number; output: string }>
  | EventOf<'devcontainer.privileges', { granted: string[] }>
  | EventOf<'devcontainer.ports'>
  | EventOf<'health.healthy' | 'health.unhealthy' | 'health.unknown', { server?: string; probe: string; detail: string; failures: number }>
  | EventOf<'reconcile.backoff', { server?: string; failures: number; delayMs: number; error?: string }>
  | EventOf<'reconcile.restarted', { server?: string; restarts: number; delayMs: number }>
  | EventOf<'reconcile.cycle', { fixed: number; failed: number; left: number; durationMs: number }>
  | EventOf<'reconcile.blocked' | 'reconcile.held', { drift: string }>
  | EventOf<'reconcile.error'>
  | EventOf<'apply.intent' | 'reconcile.intent', { kind: string; workspace: string }>
  | EventOf<'apply.done' | 'apply.failed' | 'reconcile.done' | 'reconcile.failed'>
  | EventOf<'plan.made', { hash: string; manifest: string; actions: Record<string, unknown>[] }>
  | EventOf<'gc.removed' | 'gc.forgotten'>
  | EventOf<'daemon.started', { pid: number; version: string; startedAt: string; socket: string; http: string | null }>
  | EventOf<'daemon.stopped'>;

/** The names of every event type, for filters and checks. */
export type BerthEventType = BerthEvent['type'];

/** An event as the log returns it: numbered by `seq`, the cursor `events({ after })` resumes from. */
export type StoredBerthEvent = BerthEvent & { seq: number };
