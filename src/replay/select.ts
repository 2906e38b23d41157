import { FieldError } from '../errors.js';
import { unknownTypeHint } from '../events/suggest.js';
import { normalizeEventType } from '../events/types.js';
import type { Capture } from '../receiver/capture.js';
import { hadValidSignature, type ReplayItem } from './plan.js';

export const REPLAY_OUTCOMES = ['accepted', 'duplicate', 'rejected', 'fault'] as const;

/** Which captures to replay: listen's outcomes, event types, event ids (each list empty = any). */
export interface ReplayFilter {
  outcomes: string[];
  types: string[];
  eventIds: string[];
}

const splitList = (values: string[] | undefined) =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');

/** Which captures to pick, as lists (each entry may be a comma list). */
export interface ReplaySelection {
  /** Listen's outcomes: accepted, duplicate, rejected, fault. */
  only?: string[];
  /** Event types (short names accepted). */
  type?: string[];
  /** Event ids. */
  eventId?: string[];
}

/**
 * Reads a selection into a filter. A type may be a short name; an unknown
 * one is an error with the nearest name, unless a capture carries exactly that type.
 */
export function planReplayFilter(options: ReplaySelection, captures: { capture: Capture }[]): ReplayFilter {
  const outcomes = splitList(options.only).map((o) => o.toLowerCase());
  for (const o of outcomes) {
    if (!(REPLAY_OUTCOMES as readonly string[]).includes(o)) {
      throw new FieldError(
        'only',
        `bad only "${o}": not one of listen's verdicts`,
        `use ${REPLAY_OUTCOMES.join(', ')} (comma-separated or repeated)`,
      );
    }
  }
  const captured = new Set(
    captures.map((c) => c.capture.verdict?.event_type).filter((t): t is string => typeof t === 'string'),
  );
  const types = splitList(options.type).map((name) => {
    const known = normalizeEventType(name);
    if (known) return known;
    if (captured.has(name)) return name;
    throw new FieldError('type', `unknown event type "${name}" in type`, unknownTypeHint(name));
  });
  return { outcomes, types, eventIds: splitList(options.eventId) };
}

export function matchesReplayFilter(capture: Capture, filter: ReplayFilter): boolean {
  const v = capture.verdict;
  if (filter.outcomes.length > 0 && !filter.outcomes.includes(String(v?.outcome))) return false;
  if (filter.types.length > 0 && !filter.types.includes(String(v?.event_type))) return false;
  if (filter.eventIds.length > 0 && !filter.eventIds.includes(String(v?.event_id))) return false;
  return true;
}

/** `3 accepted, 1 rejected; session.created ×2, session.failed ×2`: what a set of captures holds. */
export function describeCaptures(captures: { capture: Capture }[]): string {
  const count = (key: (c: Capture) => string) => {
    const n = new Map<string, number>();
    for (const { capture } of captures) n.set(key(capture), (n.get(key(capture)) ?? 0) + 1);
    return [...n];
  };
  const outcomes = count((c) => String(c.verdict?.outcome ?? 'no verdict')).map(([k, n]) => `${n} ${k}`);
  const types = count((c) => String(c.verdict?.event_type ?? '(no type)')).map(([k, n]) => `${k} ×${n}`);
  return `${outcomes.join(', ')}; ${types.join(', ')}`;
}

/** Statuses that say "your signature is wrong" rather than "wrong path" (404) or "too large" (413). */
const SIGNATURE_REJECTIONS = new Set([400, 401, 403]);

/**
 * The one hint a replay may end with: captures listen accepted came back 4xx, so the target checks
 * them with another secret, which `--resign` fixes. Undefined when nothing points at that.
 */
export function resignHint(results: { item: ReplayItem; status: number | undefined }[]): string | undefined {
  const valid = results.filter((r) => !r.item.resigned && hadValidSignature(r.item.capture));
  const rejected = valid.filter((r) => r.status !== undefined && SIGNATURE_REJECTIONS.has(r.status));
  if (rejected.length === 0) return undefined;
  const statuses = [...new Set(rejected.map((r) => r.status))].join('/');
  return (
    `the target rejects the captured signatures (${statuses} to ${rejected.length} of ${valid.length} ` +
    'that listen accepted): its secret differs from the one these were signed with — ' +
    "add --resign --secret <the target's secret> (or set FACESIGN_WEBHOOK_SECRET) to sign them again"
  );
}
