import { createSeededRandom } from '../random.js';
import type { InjectedFault } from './judge.js';

/** Re-exported: `--fail-rate --seed` repeats a run. */
export { createSeededRandom };

/** What to break on purpose, so a sender's retries and timeouts can be tested. */
export interface FaultSettings {
  /** The first N attempts of each event id get `failStatus`. */
  failFirst?: number;
  /** Status for --fail-first and --fail-rate (default 500). */
  failStatus?: number;
  /** Always answer this status (a 2xx still processes the event). */
  status?: number;
  /** Probability 0..1 that a delivery gets `failStatus`. */
  failRate?: number;
  /** Seed for `failRate`, to repeat a run's pattern. */
  seed?: number;
}

export interface FaultDecision {
  fault?: InjectedFault;
  attempt: number;
  statusOverride?: number;
}

/** Attempt counters are kept for this many event ids at most (oldest forgotten first). */
const MAX_TRACKED_IDS = 100_000;

/**
 * Counts attempts per event id and decides which delivery gets a fault. No I/O: the only state
 * is the counters and the seeded random sequence. Order: --status, then --fail-first, then --fail-rate.
 */
export function createFaultPlan(settings: FaultSettings): {
  decide(eventId: string): FaultDecision;
  seed: number | undefined;
} {
  const attempts = new Map<string, number>();
  const failStatus = settings.failStatus ?? 500;
  const seed = settings.failRate !== undefined ? (settings.seed ?? Math.floor(Math.random() * 2 ** 31)) : settings.seed;
  const random = createSeededRandom(seed ?? 0);
  return {
    seed,
    decide(eventId) {
      const attempt = (attempts.get(eventId) ?? 0) + 1;
      attempts.set(eventId, attempt);
      // Forgets the id first seen longest ago (a Map keeps insertion order).
      if (attempt === 1 && attempts.size > MAX_TRACKED_IDS) attempts.delete(attempts.keys().next().value as string);

      const status = settings.status;
      if (status !== undefined && (status < 200 || status > 299)) {
        return { attempt, fault: { status, reason: `--status ${status}` } };
      }
      const failFirst = settings.failFirst ?? 0;
      if (attempt <= failFirst) {
        return {
          attempt,
          fault: { status: failStatus, reason: `--fail-first ${failFirst}: attempt ${attempt} of this event id` },
        };
      }
      if (settings.failRate !== undefined && settings.failRate > 0 && random() < settings.failRate) {
        return { attempt, fault: { status: failStatus, reason: `--fail-rate ${settings.failRate}` } };
      }
      return { attempt, statusOverride: status };
    },
  };
}
