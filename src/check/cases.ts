import { buildEvent } from '../events/build.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import { prepareRequest, type SignatureMode, type WebhookRequest } from '../delivery/request.js';
import { SIGNATURE_HEADER } from '../signature/index.js';
import { usageError } from '../errors.js';

/** The stable case ids, in the order they run (README "check"). */
export const CHECK_CASE_IDS = [
  ...EVENT_TYPES.map((type) => `valid.${type}` as const),
  'duplicate',
  'wrong-secret',
  'no-signature',
  'malformed-signature',
  'tampered-body',
  'unknown-type',
  'burst',
] as const;

export type CheckCaseId = (typeof CHECK_CASE_IDS)[number];

/** What a case wants back: every delivery acknowledged (2xx), or every one rejected with a 4xx. */
export type CheckWant = 'accept' | 'reject';

/** One request of a case, with a short label for the report ("1st", "wrong length", …). */
export interface CheckStep {
  label: string;
  request: WebhookRequest;
}

/** A planned case: pure data, ready to be delivered. */
export interface CheckCase {
  id: CheckCaseId;
  title: string;
  want: CheckWant;
  /** What the report shows as the expectation. */
  expected: string;
  steps: CheckStep[];
  /** Deliver all steps at once (the burst) instead of one after another. */
  parallel: boolean;
}

export const DEFAULT_BURST = 20;
export const MAX_BURST = 500;
/** A 2xx slower than this is a warning: the docs ask to respond quickly and process asynchronously. */
export const SLOW_MS = 1_000;
/** A type FaceSign does not send (yet): handlers must acknowledge and ignore it. */
export const UNKNOWN_EVENT_TYPE = 'session.reviewed';

/** `valid` stands for the six valid.* cases in --only/--skip. */
const GROUPS: Record<string, CheckCaseId[]> = {
  valid: CHECK_CASE_IDS.filter((id) => id.startsWith('valid.')),
};

function parseIds(values: string[] | string | undefined, flag: string): Set<CheckCaseId> {
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const ids = new Set<CheckCaseId>();
  for (const raw of list) {
    const name = raw.toLowerCase();
    const group = GROUPS[name];
    if (group) group.forEach((id) => ids.add(id));
    else if ((CHECK_CASE_IDS as readonly string[]).includes(name)) ids.add(name as CheckCaseId);
    else {
      throw usageError(`${flag}: unknown case "${raw}"`, `case ids: ${CHECK_CASE_IDS.join(', ')} (or valid for the six valid.* cases)`);
    }
  }
  return ids;
}

/** The cases to run, in the suite's order: `--only` narrows, then `--skip` removes. */
export function selectCases(only?: string[] | string, skip?: string[] | string): CheckCaseId[] {
  const onlyIds = parseIds(only, '--only');
  const skipIds = parseIds(skip, '--skip');
  const selected = CHECK_CASE_IDS.filter((id) => (onlyIds.size === 0 || onlyIds.has(id)) && !skipIds.has(id));
  if (selected.length === 0) throw usageError('no cases left to run', 'loosen --only/--skip');
  return selected;
}

export interface PlanOptions {
  url: string;
  secret: string;
  cases?: readonly CheckCaseId[];
  burst?: number;
  /** Extra `Name: value` headers on every request (e.g. an auth header a staging proxy wants). */
  headers?: string[];
}

/** A 64-character signature that is not hex: right length, so only a format check catches it. */
function nonHexSignature(valid: string): string {
  return `${valid.slice(0, 60)}zzzz`;
}

/**
 * The suite as data: each case's events built, serialized and signed (or mis-signed on purpose).
 * No I/O; every event gets fresh ids so a handler's de-duplication cannot hide a case.
 */
export function planCheck(options: PlanOptions): CheckCase[] {
  const ids = options.cases ?? CHECK_CASE_IDS;
  const burst = options.burst ?? DEFAULT_BURST;
  if (!Number.isInteger(burst) || burst < 1 || burst > MAX_BURST) {
    throw usageError(`--burst must be a whole number from 1 to ${MAX_BURST} (got "${burst}")`);
  }
  const base = { url: options.url, secret: options.secret, headers: options.headers };
  const prepare = (type: EventType, signature: SignatureMode = 'valid') =>
    prepareRequest(buildEvent(type), { ...base, signature });

  return ids.map((id): CheckCase => {
    if (id.startsWith('valid.')) {
      const type = id.slice('valid.'.length) as EventType;
      return {
        id,
        title: `${type}, validly signed`,
        want: 'accept',
        expected: `2xx, fast (< ${SLOW_MS / 1000} s)`,
        steps: [{ label: type, request: prepare(type) }],
        parallel: false,
      };
    }
    switch (id) {
      case 'duplicate': {
        const request = prepare('session.verified');
        return {
          id,
          title: 'the same event delivered twice',
          want: 'accept',
          expected: '2xx both times',
          steps: [
            { label: '1st', request },
            { label: '2nd', request },
          ],
          parallel: false,
        };
      }
      case 'wrong-secret':
        return reject(id, 'signed with another secret', [{ label: 'wrong secret', request: prepare('session.verified', 'invalid') }]);
      case 'no-signature':
        return reject(id, `no ${SIGNATURE_HEADER} header`, [{ label: 'no header', request: prepare('session.verified', 'missing') }]);
      case 'malformed-signature': {
        const wrongLength = prepare('session.verified', 'malformed');
        const event = buildEvent('session.verified');
        const signature = nonHexSignature(prepareRequest(event, base).headers[SIGNATURE_HEADER] ?? '');
        const nonHex = prepareRequest(event, { ...base, headers: [...(options.headers ?? []), `${SIGNATURE_HEADER}: ${signature}`] });
        return reject(id, 'a signature of the wrong length, or not hex', [
          { label: 'wrong length', request: wrongLength },
          { label: '64 chars, not hex', request: { ...nonHex, signatureMode: 'malformed' } },
        ]);
      }
      case 'tampered-body':
        return reject(id, 'body altered after signing', [{ label: 'altered body', request: prepare('session.verified', 'tampered') }]);
      case 'unknown-type': {
        const event = buildEvent('session.verified', { fixture: { type: UNKNOWN_EVENT_TYPE } });
        return {
          id,
          title: `a future event type (${UNKNOWN_EVENT_TYPE}), validly signed`,
          want: 'accept',
          expected: '2xx (ignored)',
          steps: [{ label: UNKNOWN_EVENT_TYPE, request: prepareRequest(event, base) }],
          parallel: false,
        };
      }
      case 'burst':
        return {
          id,
          title: `${burst} distinct valid events at once`,
          want: 'accept',
          expected: `all ${burst} 2xx`,
          // Round-robin over the six types, so the burst looks like real traffic.
          steps: Array.from({ length: burst }, (_, i) => {
            const type = EVENT_TYPES[i % EVENT_TYPES.length]!;
            return { label: `#${i + 1}`, request: prepare(type) };
          }),
          parallel: true,
        };
    }
    throw new Error(`unplanned case ${String(id)}`);
  });
}

function reject(id: CheckCaseId, title: string, steps: CheckStep[]): CheckCase {
  return { id, title, want: 'reject', expected: '4xx (not 5xx)', steps, parallel: false };
}
