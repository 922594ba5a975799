import { BerthError, isBerthError } from '../errors.js';
import { RUNTIME_KINDS, type RuntimeKind } from './kinds.js';

/** How one runtime stands in a registry: in use, never asked for yet, or asked for and not there. */
export interface RuntimeState {
  kind: RuntimeKind;
  /** The runtime new workspaces go to when they do not name one. */
  default: boolean;
  state: 'connected' | 'idle' | 'unavailable';
  /** Why it is unavailable (the probe's or the engine's words); null otherwise. */
  reason: string | null;
}

export interface RuntimeRegistryOptions<Lane> {
  /** The runtime of new workspaces that name none (Berth's usual selection). */
  defaultKind: RuntimeKind;
  /** Connects a runtime and builds what works on it; rejects when the runtime is not usable here. */
  open: (kind: RuntimeKind) => Promise<Lane>;
  /**
   * How long an unavailable runtime is taken at its word before it is asked again (an engine
   * started meanwhile is found). Default 5 s: a dashboard polling `list` does not probe each time.
   */
  retryMs?: number | undefined;
  now?: (() => number) | undefined;
}

/**
 * Every runtime one Berth serves, each opened on demand: a runtime is probed and connected only
 * when a workspace on it is addressed (or listed because the ledger has one there), and one that
 * is not available fails only what lives on it, with E_RUNTIME_UNAVAILABLE naming it.
 */
export class RuntimeRegistry<Lane> {
  readonly defaultKind: RuntimeKind;
  private readonly openLane: (kind: RuntimeKind) => Promise<Lane>;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly lanes = new Map<RuntimeKind, Promise<Lane>>();
  private readonly connected = new Set<RuntimeKind>();
  private readonly failed = new Map<RuntimeKind, { error: BerthError; at: number }>();

  constructor(options: RuntimeRegistryOptions<Lane>) {
    this.defaultKind = options.defaultKind;
    this.openLane = options.open;
    this.retryMs = options.retryMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** A lane made by the caller (the default runtime, already connected when Berth opens). */
  seed(kind: RuntimeKind, lane: Lane): void {
    this.lanes.set(kind, Promise.resolve(lane));
    this.connected.add(kind);
    this.failed.delete(kind);
  }

  /** The lane of a runtime, opening it on first use; E_RUNTIME_UNAVAILABLE when it cannot be used. */
  get(kind: RuntimeKind): Promise<Lane> {
    const known = this.lanes.get(kind);
    if (known) return known;
    const failure = this.failed.get(kind);
    if (failure && this.now() - failure.at < this.retryMs) return Promise.reject(failure.error);
    const opening = this.openLane(kind).then(
      (lane) => {
        this.connected.add(kind);
        this.failed.delete(kind);
        return lane;
      },
      (error: unknown) => {
        // Not kept: the next call after retryMs asks the runtime again.
        this.lanes.delete(kind);
        const unavailable = unavailableError(kind, error);
        this.failed.set(kind, { error: unavailable, at: this.now() });
        throw unavailable;
      },
    );
    this.lanes.set(kind, opening);
    return opening;
  }

  /** The lanes connected so far (for work over every runtime in use, such as closing). */
  async opened(): Promise<Lane[]> {
    const settled = await Promise.allSettled([...this.lanes.values()]);
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Every runtime kind and how it stands, for health and status. */
  states(): RuntimeState[] {
    return RUNTIME_KINDS.map((kind) => {
      const failure = this.failed.get(kind);
      const state = this.connected.has(kind) ? 'connected' : failure ? 'unavailable' : 'idle';
      return { kind, default: kind === this.defaultKind, state, reason: state === 'unavailable' && failure ? failure.error.message : null };
    });
  }
}

/** What a runtime that cannot be opened says: E_RUNTIME_UNAVAILABLE, naming it, keeping the cause. */
function unavailableError(kind: RuntimeKind, error: unknown): BerthError {
  if (isBerthError(error, 'E_RUNTIME_UNAVAILABLE') && error.message.includes(kind)) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new BerthError('E_RUNTIME_UNAVAILABLE', `The ${kind} runtime is not available: ${why}`, {
    hint: isBerthError(error) && error.hint ? error.hint : `Start ${kind} (\`berth doctor\` says what is missing); workspaces on other runtimes are not affected.`,
    cause: error,
    details: { runtime: kind },
  });
}
