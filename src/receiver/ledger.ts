import { createHash } from 'node:crypto';
import { fitsInString, type CaptureVerdict } from './capture.js';

/** How many accepted event ids the duplicate check remembers (the oldest is forgotten first). */
export const MAX_PROCESSED_IDS = 100_000;
/** Attempt counts are kept for this many event ids at most (the oldest is forgotten first). */
export const MAX_TRACKED_IDS = 100_000;
/** Event ids longer than this are remembered by their hash, so 100,000 remembered ids stay small. */
const MAX_ID_KEY_CHARS = 128;

export interface ReceiverStats {
  /** Requests judged and recorded (everything but the history endpoint). */
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  faults: number;
  /** Captures written to `saveDir`. */
  saved: number;
  saveErrors: number;
  /** Requests whose body never arrived in full (client went away or timed out). */
  incomplete: number;
  /** Connections that did not speak valid HTTP, or too slowly (answered 400/408/431 and closed). */
  badHttp: number;
  /** Requests passed on to the app (`forwardTo`), and those of them it gave no answer to (502/504). */
  forwarded: number;
  forwardErrors: number;
}

export function emptyStats(): ReceiverStats {
  return {
    received: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    faults: 0,
    saved: 0,
    saveErrors: 0,
    incomplete: 0,
    badHttp: 0,
    forwarded: 0,
    forwardErrors: 0,
  };
}

/** The stats as the JSON the tool prints (snake_case, like every other record). */
export function statsJson(stats: ReceiverStats) {
  return {
    received: stats.received,
    accepted: stats.accepted,
    duplicates: stats.duplicates,
    rejected: stats.rejected,
    faults: stats.faults,
    saved: stats.saved,
    save_errors: stats.saveErrors,
    incomplete: stats.incomplete,
    bad_http: stats.badHttp,
    forwarded: stats.forwarded,
    forward_errors: stats.forwardErrors,
  };
}

/** The key an event id is remembered by: itself, or its hash when long, whatever the bodies hold. */
export function idKey(eventId: string): string {
  return eventId.length <= MAX_ID_KEY_CHARS
    ? eventId
    : `sha256:${createHash('sha256').update(eventId).digest('base64')}`;
}

/** Counts deliveries per key for at most `max` keys; the key first seen longest ago is forgotten first. */
export class AttemptCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max = MAX_TRACKED_IDS) {}

  /** Counts one more attempt; returns how many there were, this one included. */
  add(key: string): number {
    const attempt = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, attempt);
    // A Map keeps insertion order, so its first key is the one seen longest ago.
    if (attempt === 1 && this.counts.size > this.max) this.counts.delete(this.counts.keys().next().value as string);
    return attempt;
  }

  get size(): number {
    return this.counts.size;
  }
}

/** What the history needs of a capture: its order, its cost, and a copy without its body bytes. */
export interface HistoryEntry<T> {
  readonly sequence: number;
  /** What keeping it costs, roughly in bytes. */
  readonly weight: number;
  /** The size of the body bytes it holds. */
  readonly bodyLength: number;
  readonly verdict: Pick<CaptureVerdict, 'outcome' | 'event_id'>;
  withoutBody(): T;
}

/**
 * The captures kept, oldest first, bounded by a count and by a byte total (the oldest dropped first
 * until both hold). A capture larger than the byte cap on its own is kept without its body.
 */
export class History<T extends HistoryEntry<T>> {
  /** By sequence, in the order recorded: a Map drops its oldest in O(1). */
  private readonly entries = new Map<number, T>();
  private heldBytes = 0;

  constructor(
    readonly limit: number,
    readonly maxBytes: number,
  ) {}

  add(entry: T): void {
    if (this.limit === 0) return;
    const kept = entry.weight > this.maxBytes || !fitsInString(entry.bodyLength) ? entry.withoutBody() : entry;
    this.entries.set(kept.sequence, kept);
    this.heldBytes += kept.weight;
    for (const [seq, old] of this.entries) {
      if (this.entries.size <= this.limit && this.heldBytes <= this.maxBytes) break;
      this.entries.delete(seq);
      this.heldBytes -= old.weight;
    }
  }

  get(sequence: number): T | undefined {
    return this.entries.get(sequence);
  }

  /** The sequences held, oldest first. */
  sequences(): IterableIterator<number> {
    return this.entries.keys();
  }

  values(): IterableIterator<T> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The summed weight of what is held. */
  get bytes(): number {
    return this.heldBytes;
  }
}

export interface LedgerLimits {
  historyLimit: number;
  historyMaxBytes: number;
  /** Default MAX_PROCESSED_IDS. */
  maxProcessedIds?: number;
  /** Default MAX_TRACKED_IDS. */
  maxTrackedIds?: number;
}

/**
 * Everything the receiver remembers, with no sockets: the statistics, the history, the accepted
 * event ids (the duplicate window) and the attempt count of each event id.
 */
export class Ledger<T extends HistoryEntry<T>> {
  readonly stats: ReceiverStats = emptyStats();
  readonly history: History<T>;
  private readonly processed = new Set<string>();
  private readonly maxProcessed: number;
  private readonly attempts: AttemptCounts;

  constructor(limits: LedgerLimits) {
    this.history = new History<T>(limits.historyLimit, limits.historyMaxBytes);
    this.maxProcessed = limits.maxProcessedIds ?? MAX_PROCESSED_IDS;
    this.attempts = new AttemptCounts(limits.maxTrackedIds ?? MAX_TRACKED_IDS);
  }

  /** True when this event id was accepted before and is still in the duplicate window. */
  isProcessed(eventId: string): boolean {
    return this.processed.has(idKey(eventId));
  }

  /** Counts one more attempt of this event id; returns the count, this one included. */
  countAttempt(eventId: string): number {
    return this.attempts.add(idKey(eventId));
  }

  /** Records a judged delivery: its outcome in the statistics, its id if accepted, the capture in the history. */
  record(entry: T): void {
    const { outcome, event_id } = entry.verdict;
    if (outcome === 'accepted' && event_id) this.markProcessed(event_id);
    const stats = this.stats;
    stats.received++;
    if (outcome === 'accepted') stats.accepted++;
    else if (outcome === 'duplicate') stats.duplicates++;
    else if (outcome === 'rejected') stats.rejected++;
    else stats.faults++;
    this.history.add(entry);
  }

  /** How many accepted ids the duplicate window holds. */
  get processedCount(): number {
    return this.processed.size;
  }

  /** Remembers an accepted event id before its capture is recorded (a forwarded delivery awaiting the app). */
  markProcessed(eventId: string): void {
    this.processed.add(idKey(eventId));
    if (this.processed.size > this.maxProcessed) this.processed.delete(this.processed.values().next().value as string);
  }
}
