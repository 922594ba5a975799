import type { BerthEventInput } from '../events.js';
import type { EgressPolicy } from './policy.js';

/** One address the proxy serves, and the credentials it accepts there. */
export interface LoopListener {
  host: string;
  port: number;
  tokens: [workspace: string, token: string][];
}

/** Everything an accept loop needs to decide, sent whole: the loop keeps nothing else. */
export interface LoopState {
  seq: number;
  listeners: LoopListener[];
  policies: [workspace: string, policy: EgressPolicy][];
}

/** Primary → loop. `close`: stop accepting, give open tunnels `graceMs`, send the last decisions, exit. */
export type ToLoop = { kind: 'state'; state: LoopState } | { kind: 'close'; graceMs: number };

/** Loop → primary. */
export type FromLoop =
  | { kind: 'ready' }
  | { kind: 'applied'; seq: number; listening: string[]; failures: [address: string, message: string][] }
  | { kind: 'events'; events: BerthEventInput[] }
  | { kind: 'closed' };
