import { BerthError } from '../errors.js';
import type { WorkspaceSummary } from '../workspace/inventory.js';

/**
 * How long `GET /workspaces` answers from the daemon's last observation: 1.5 s. A dashboard, a
 * script polling, or many agents asking at once then cost one engine list per period. Docker lists
 * 20 containers in ~5 ms, and Berth's share on top of that (ledger read, summaries, the HTTP round
 * trip) is about as large again, so a reused answer is what brings the listing under twice the
 * engine's own call. The bound is short because what it can miss is only what changes behind
 * Berth's back (`docker stop`, an OOM kill, a reboot of the engine): that shows once the next
 * request comes after it, about as soon as a person looks again. What Berth does itself, from any
 * process on this home, ends the reuse at once (`changeStamp`).
 */
export const LISTING_FRESH_MS = 1_500;

/**
 * `BERTH_LISTING_FRESH_MS`: another bound, in ms (0: every request observes the engines). For an
 * installation whose engine lists are slow, and for tests that must tell a change seen through the
 * change stamp from an answer that merely expired.
 */
export function listingFreshMsFromEnv(env: NodeJS.ProcessEnv): number {
  const value = env['BERTH_LISTING_FRESH_MS'];
  if (value === undefined || value === '') return LISTING_FRESH_MS;
  const ms = Number(value);
  if (!(Number.isInteger(ms) && ms >= 0)) {
    throw new BerthError('E_INVALID_INPUT', `BERTH_LISTING_FRESH_MS takes a whole number of milliseconds, got ${JSON.stringify(value)}.`, {
      hint: `Unset it for the default (${String(LISTING_FRESH_MS)}), or 0 to observe the engines for every GET /workspaces.`,
    });
  }
  return ms;
}

/** One listing as the daemon answers it, and how fresh it is. */
export interface Listing {
  workspaces: WorkspaceSummary[];
  /** When the observation began (ms since the epoch): every fact in it is at least this fresh. */
  observedAt: number;
  /** Its age when answered (ms): now − observedAt. */
  ageMs: number;
  /** `cached`: an earlier request's observation, reused; `live`: observed for this request (alone or shared with requests that came with it). */
  source: 'cached' | 'live';
}

export interface ListingCacheOptions {
  /** A live listing of every workspace (one engine list per runtime: `Berth.list`). */
  observe: () => Promise<WorkspaceSummary[]>;
  /** Differs whenever the state changed since the last read, by any process (`Store.changeStamp`). */
  changeStamp: () => string;
  /** Default LISTING_FRESH_MS. */
  freshMs?: number | undefined;
  /** The clock (tests move it). */
  now?: () => number;
}

interface Observation {
  workspaces: WorkspaceSummary[];
  observedAt: number;
  /** The state's change stamp read before the observation began. */
  stamp: string;
}

interface Flight {
  stamp: string;
  startedAt: number;
  done: Promise<Observation>;
}

/**
 * The daemon's last observation of the workspaces, reused while it is fresh: younger than
 * `freshMs` and nothing committed to the state since it began. Requests that find it stale share
 * one observation (single flight): a hundred GETs at once are one engine list. `fresh` forces an
 * observation that begins after the request came.
 *
 * The change stamp is read before an observation begins, so a change committed while it runs makes
 * the result stale at once; and a request never joins an observation that began before a change
 * it can see.
 */
export class ListingCache {
  private readonly observe: () => Promise<WorkspaceSummary[]>;
  private readonly changeStamp: () => string;
  private readonly freshMs: number;
  private readonly now: () => number;
  private last: Observation | null = null;
  private flight: Flight | null = null;

  constructor(options: ListingCacheOptions) {
    this.observe = options.observe;
    this.changeStamp = options.changeStamp;
    this.freshMs = options.freshMs ?? LISTING_FRESH_MS;
    this.now = options.now ?? Date.now;
  }

  async list(options: { fresh?: boolean } = {}): Promise<Listing> {
    const stamp = this.changeStamp();
    const arrived = this.now();
    const last = this.last;
    if (!options.fresh && last !== null && last.stamp === stamp && arrived - last.observedAt < this.freshMs) {
      return { workspaces: last.workspaces, observedAt: last.observedAt, ageMs: Math.max(0, this.now() - last.observedAt), source: 'cached' };
    }
    const flight = this.flight;
    // A forced observation may share one only if it began no earlier than this request came.
    const joinable = flight !== null && flight.stamp === stamp && (!options.fresh || flight.startedAt >= arrived);
    const observation = await (joinable ? flight.done : this.begin(stamp, arrived));
    return { workspaces: observation.workspaces, observedAt: observation.observedAt, ageMs: Math.max(0, this.now() - observation.observedAt), source: 'live' };
  }

  private begin(stamp: string, startedAt: number): Promise<Observation> {
    const done = this.observe().then((workspaces) => {
      const observation = { workspaces, observedAt: startedAt, stamp };
      // A slower, older observation never replaces a newer one.
      if (this.last === null || this.last.observedAt <= startedAt) this.last = observation;
      return observation;
    });
    const flight: Flight = { stamp, startedAt, done };
    this.flight = flight;
    // Failures are not kept: the next request observes again.
    const clear = (): void => {
      if (this.flight === flight) this.flight = null;
    };
    done.then(clear, clear);
    return done;
  }
}
