import { createSeededRandom } from '../random.js';
import type { InjectedFault } from './judge.js';
import { AttemptCounts } from './ledger.js';

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

/**
 * Counts attempts per event id and decides which delivery gets a fault. No I/O: the only state
 * is the counters and the seeded random sequence. Order: --status, then --fail-first, then --fail-rate.
 * `countAttempt` counts one more attempt of an id and returns the count (the receiver's ledger keeps
 * them); by default the plan keeps its own.
 */
export function createFaultPlan(
  settings: FaultSettings,
  countAttempt: (eventId: string) => number = counter(),
): {
  decide(eventId: string): FaultDecision;
  seed: number | undefined;
} {
  const failStatus = settings.failStatus ?? 500;
  const seed = settings.failRate !== undefined ? (settings.seed ?? Math.floor(Math.random() * 2 ** 31)) : settings.seed;
  const random = createSeededRandom(seed ?? 0);
  return {
    seed,
    decide(eventId) {
      const attempt = countAttempt(eventId);
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

function counter(): (eventId: string) => number {
  const attempts = new AttemptCounts();
  return (eventId) => attempts.add(eventId);
}
