import type { DeliveryResult } from '../delivery/deliver.js';
import type { WebhookRequest } from '../delivery/request.js';
import { SIGNATURE_HEADER } from '../signature/index.js';
import { formatMs } from '../report/format.js';
import { previewBody, safeText } from '../report/text.js';
import { BYTE_FORMS } from './byte-forms.js';
import { NON_ASCII_SIGNATURE_LABELS, SLOW_MS, type CheckCase, type CheckCaseId, type CheckWant } from './cases.js';

export type CheckOutcome = 'pass' | 'warn' | 'fail';

/** One delivery of a case, as sent and as answered. */
export interface CheckDelivery {
  label: string;
  request: WebhookRequest;
  result: DeliveryResult;
}

/** A judged case: what was expected, what happened, and how to fix it when it did not pass. */
export interface CaseResult {
  id: CheckCaseId;
  title: string;
  want: CheckWant;
  expected: string;
  outcome: CheckOutcome;
  happened: string;
  /** Present for fail and warn. */
  hint?: string;
  /** What the case cannot see, whatever its outcome (the duplicate's side effects). */
  note?: string;
  deliveries: CheckDelivery[];
  durationMs: number;
}

/** A finding about the whole run rather than one case. */
export type CheckDiagnosis = 'secret-mismatch';

export interface JudgeOptions {
  /** The per-request deadline the run used (for the hint about timeouts). */
  timeoutMs: number;
  durationMs?: number;
  /**
   * Where in the same run a validly signed event got a 2xx (so the secret is right):
   * `raw-body.whitespace (indented)`.
   */
  accepted?: string;
  /** The run's diagnosis, when it explains this case's failure better than the case can. */
  diagnosis?: CheckDiagnosis;
}

/** The duplicate row's note: what check cannot see, and where the README shows how to test it. */
export const DUPLICATE_NOTE =
  'check sees the status codes only, not whether the work ran twice: ' +
  'assert on side effects in a test of your own (README, "Use it as a library")';

/** How to get the raw bytes in the frameworks people ask about most. */
const RAW_BYTES_HOW = "Express: express.raw({ type: 'application/json' }); Flask: request.get_data()";

function isClass(status: number | undefined, base: number): boolean {
  return status !== undefined && status >= base && status < base + 100;
}

function met(want: CheckWant, res: DeliveryResult): boolean {
  return want === 'accept' ? res.ok : !res.error && isClass(res.status, 400);
}

/** `500 "Internal error" in 2.1 ms`, or the network error's one-liner; the endpoint's text escaped for a terminal. */
export function describeResult(res: DeliveryResult): string {
  if (res.error) return safeText(res.error.message);
  const body = previewBody(res.responseBody, 40);
  const shown = body === '' ? '' : ` ${body}`;
  const redirect = res.location !== undefined ? ` → ${safeText(res.location)} (not followed)` : '';
  return `${res.status}${redirect}${shown} in ${formatMs(res.latencyMs)}`;
}

/** A burst in a few words: `20/20 2xx, slowest 41 ms` or `17/20 2xx; 3× 503`. */
function describeBurst(deliveries: CheckDelivery[]): string {
  const results = deliveries.map((d) => d.result);
  const ok = results.filter((r) => r.ok).length;
  const slowest = Math.max(...results.map((r) => r.latencyMs));
  const others = new Map<string, number>();
  for (const r of results) {
    if (r.ok) continue;
    const key = r.error
      ? r.error.kind === 'refused'
        ? 'connection refused'
        : r.error.kind === 'timeout'
          ? 'timeout'
          : `${r.error.kind} error`
      : String(r.status);
    others.set(key, (others.get(key) ?? 0) + 1);
  }
  const rest = [...others].map(([k, n]) => `${n}× ${k}`).join(', ');
  return `${ok}/${results.length} 2xx${rest ? `; ${rest}` : ''}, slowest ${formatMs(slowest)}`;
}

function describeHappened(c: CheckCase, deliveries: CheckDelivery[]): string {
  if (c.parallel) return describeBurst(deliveries);
  if (deliveries.length === 1) return describeResult(deliveries[0]!.result);
  return deliveries.map((d) => `${d.label}: ${describeResult(d.result)}`).join('; ');
}

/** Why a delivery went wrong on the wire, and what to do about it. */
function networkHint(res: DeliveryResult, timeoutMs: number): string {
  switch (res.error?.kind) {
    case 'timeout':
      return `no full response within ${timeoutMs} ms: answer 2xx (or 4xx) at once and do slow work asynchronously`;
    case 'refused':
    case 'reset':
      return 'the connection was cut or refused: did your app crash on an earlier case? check its log';
    default:
      return res.error?.message ?? 'the request failed on the wire';
  }
}

/** A 4xx that is a refusal of the request itself (not "no such route"). */
function isRefusal(status: number | undefined): boolean {
  return isClass(status, 400) && status !== 404 && status !== 405;
}

function acceptHint(
  id: CheckCaseId,
  d: CheckDelivery,
  failedCount: number,
  total: number,
  options: JudgeOptions,
): string {
  const status = d.result.status ?? 0;
  if (isClass(status, 300))
    return 'redirects are not followed: point --to at the final URL (scheme, host, trailing slash)';
  if (status === 404 || status === 405)
    return `nothing handles POST ${safePath(d.request.url)}: check the URL and path (default /webhooks/facesign)`;
  if (options.diagnosis === 'secret-mismatch' && isRefusal(status)) {
    return (
      `rejected with ${status}, like every validly signed event of this run: ` +
      'the secrets most likely differ (see the summary)'
    );
  }
  const form = BYTE_FORMS[id as keyof typeof BYTE_FORMS];
  if (form) {
    if (isClass(status, 500)) {
      return (
        `the handler failed (${status}) on a valid event written as ${d.label}: ` +
        "accept any valid JSON layout and UTF-8 text (check your app's log)"
      );
    }
    const seen = options.accepted ? ` while ${options.accepted} was accepted` : '';
    return (
      `a validly signed body (${d.label}) was rejected with ${status}${seen}: ` +
      `the handler verifies a re-serialized body, not the bytes FaceSign signed (${form.lost}): ` +
      `verify the HMAC over the raw bytes as received (${RAW_BYTES_HOW})`
    );
  }
  if (id === 'burst' && failedCount < total) {
    return (
      `${failedCount} of ${total} concurrent deliveries failed: ` +
      'handle parallel requests (no global lock, enough DB connections) and answer 2xx fast'
    );
  }
  if (id === 'duplicate' && d.label === '2nd') {
    return `a repeated event id is normal (FaceSign retries): answer 2xx again and skip the work, not ${status}`;
  }
  if (id === 'unknown-type') {
    return isClass(status, 500)
      ? 'the handler crashed on an event type it does not know: let the default branch acknowledge with 2xx'
      : 'acknowledge event types you do not know with 2xx and ignore them ' +
          '(FaceSign may add types; if valid.* cases fail too, fix those first)';
  }
  if (isClass(status, 500)) {
    return (
      `the handler failed (${status}) on a valid ${d.request.eventType} event: ` +
      `check your app's log (the event is shaped like fixtures/${d.request.eventType}.json)`
    );
  }
  if (options.accepted) {
    return (
      `a correctly signed event was rejected with ${status} while ${options.accepted} was accepted: ` +
      'the handler verifies a re-serialized body; verify the HMAC-SHA256 of the raw body bytes as received ' +
      `(not a re-serialized JSON.parse result; ${RAW_BYTES_HOW})`
    );
  }
  return (
    `a correctly signed event was rejected with ${status}: verify the HMAC-SHA256 of the raw body bytes ` +
    'as received (not a re-serialized JSON.parse result) with the endpoint secret'
  );
}

function rejectHint(id: CheckCaseId, d: CheckDelivery, failures: CheckDelivery[]): string {
  const status = d.result.status ?? 0;
  if (isClass(status, 200)) {
    switch (id) {
      case 'no-signature':
        return `an unsigned request was accepted: reject a missing ${SIGNATURE_HEADER} header with 400 before acting`;
      case 'malformed-signature':
        return `a malformed signature (${d.label}) was accepted: require 64 lowercase hex characters, then compare`;
      case 'tampered-body':
        return 'a body changed after signing was accepted: verify the HMAC over the exact raw bytes before parsing';
      default:
        return (
          'a signature made with another secret was accepted: ' +
          'verify every request with your endpoint secret before acting'
        );
    }
  }
  if (isClass(status, 500)) {
    switch (id) {
      case 'no-signature':
        return (
          `the handler crashed (${status}) on a missing ${SIGNATURE_HEADER} header: ` +
          'check it is present before comparing, and answer 400'
        );
      case 'malformed-signature':
        return malformedCrashHint(status, d, failures);
      default:
        return `the handler crashed (${status}) instead of rejecting: answer 400 when the signature does not match`;
    }
  }
  if (isClass(status, 300)) return 'redirects are not followed: point --to at the final URL';
  return `a bad signature should get a 4xx (400), not ${status}`;
}

const HEX_FIRST =
  'check the signature is 64 lowercase hex characters (/^[0-9a-f]{64}$/) before comparing bytes, and answer 400';

/** Which malformed signatures crashed the handler says which check it lacks. */
function malformedCrashHint(status: number, d: CheckDelivery, failures: CheckDelivery[]): string {
  const crashedNonAscii = failures
    .filter((f) => isClass(f.result.status, 500) && (NON_ASCII_SIGNATURE_LABELS as readonly string[]).includes(f.label))
    .map((f) => `"${f.label}"`);
  if (d.label === 'wrong length') {
    const also = crashedNonAscii.length
      ? ` (and on 64-byte signatures that are not ASCII: ${crashedNonAscii.join(' and ')})`
      : '';
    return (
      `the handler crashed (${status}) on a signature of the wrong length${also}: ` +
      "crypto.timingSafeEqual throws when lengths differ, as in the docs' sample — " +
      `do not just compare lengths: ${HEX_FIRST}`
    );
  }
  if (crashedNonAscii.length) {
    return (
      `the handler crashed (${status}) on a 64-byte signature that is not ASCII ` +
      `(${crashedNonAscii.join(' and ')}): a length check on the string passes it, ` +
      "then timingSafeEqual(Buffer.from(signature), …) or Python's hmac.compare_digest throws — " +
      HEX_FIRST
    );
  }
  return `the handler crashed (${status}) on a malformed signature ("${d.label}"): ${HEX_FIRST}`;
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/**
 * Grades a case from its deliveries. Pure: the same deliveries always give the same verdict.
 * Accepting cases pass on 2xx (a slow 2xx is a warning, except in the burst, where queueing is
 * expected); rejecting cases pass only on a 4xx, since a 5xx means the handler crashed.
 */
export function judgeCase(c: CheckCase, deliveries: CheckDelivery[], options: JudgeOptions): CaseResult {
  const failures = deliveries.filter((d) => !met(c.want, d.result));
  const base = {
    id: c.id,
    title: c.title,
    want: c.want,
    expected: c.expected,
    happened: describeHappened(c, deliveries),
    deliveries,
    durationMs: options.durationMs ?? Math.max(0, ...deliveries.map((d) => d.result.latencyMs)),
    ...(c.id === 'duplicate' ? { note: DUPLICATE_NOTE } : {}),
  };
  const first = failures[0];
  if (first) {
    const hint = first.result.error
      ? networkHint(first.result, options.timeoutMs)
      : c.want === 'accept'
        ? acceptHint(c.id, first, failures.length, deliveries.length, options)
        : rejectHint(c.id, first, failures);
    return { ...base, outcome: 'fail', hint };
  }
  const slowest = Math.max(0, ...deliveries.map((d) => d.result.latencyMs));
  if (c.want === 'accept' && !c.parallel && slowest > SLOW_MS) {
    return {
      ...base,
      outcome: 'warn',
      hint:
        'respond quickly, process asynchronously: answer 2xx first and queue the work ' +
        `(took ${formatMs(slowest)}, over ${SLOW_MS / 1000} s)`,
    };
  }
  return { ...base, outcome: 'pass' };
}

/** One case as delivered, not yet judged. */
export interface DeliveredCase {
  c: CheckCase;
  deliveries: CheckDelivery[];
  durationMs?: number;
}

/** What the cases of a run say together. */
export interface RunFindings {
  /** True when more cases cannot change the findings for the cases so far. */
  settled: boolean;
  /** The first validly signed event that got a 2xx, as `case id (step label)`: the secret is right. */
  accepted?: string;
  diagnosis?: CheckDiagnosis;
}

/**
 * Reads the run as a whole. With another secret a handler refuses every validly signed event with
 * a 4xx, and every bad one too. A re-serializing handler refuses most of them as well, but accepts
 * the byte form its own serializer writes: raw-body.whitespace carries the indented form
 * (JSON.stringify(v, null, 2), json.dumps(v, indent=2)) and Python's default one, and every other
 * accepting case the compact form. So "the secrets differ" is said only when all of those were
 * refused (`complete`: the whole plan ran).
 */
export function readFindings(done: DeliveredCase[], complete: boolean): RunFindings {
  let accepted: string | undefined;
  let other = false;
  for (const { c, deliveries } of done) {
    if (deliveries.length === 0) continue;
    if (c.want === 'accept') {
      const ok = deliveries.find((d) => d.result.ok);
      if (ok) accepted ??= c.steps.length > 1 && !c.parallel ? `${c.id} (${ok.label})` : c.id;
      else if (!deliveries.every((d) => !d.result.error && isRefusal(d.result.status))) other = true;
    } else if (
      deliveries.some(
        (d) => d.result.status !== undefined && !isRefusal(d.result.status) && !isClass(d.result.status, 500),
      )
    ) {
      // A bad signature accepted (or redirected, or "no such route"): not the picture of a wrong secret.
      other = true;
    }
  }
  const covered =
    done.some(({ c, deliveries }) => c.id === 'raw-body.whitespace' && deliveries.length === c.steps.length) &&
    done.some(({ c, deliveries }) => c.want === 'accept' && c.id !== 'raw-body.whitespace' && deliveries.length > 0);
  const diagnosis = complete && !accepted && !other && covered ? 'secret-mismatch' : undefined;
  return { settled: complete || accepted !== undefined || other, accepted, diagnosis };
}
