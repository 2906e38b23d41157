import { buildEvent, type FaceSignEvent } from '../events/build.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import { prepareRequest, type SignatureMode, type WebhookRequest } from '../delivery/request.js';
import { signPayload, SIGNATURE_HEADER } from '../signature/index.js';
import { FieldError, usageError } from '../errors.js';
import {
  BYTE_FORMS,
  escapedBody,
  indentedBody,
  numbersBody,
  rawBodyEvent,
  spacedBody,
  utf8Body,
} from './byte-forms.js';

/** The stable case ids, in the order they run (README "check"). */
export const CHECK_CASE_IDS = [
  ...EVENT_TYPES.map((type) => `valid.${type}` as const),
  'raw-body.utf8',
  'raw-body.escapes',
  'raw-body.whitespace',
  'raw-body.numbers',
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

/** Group names for --only/--skip: `valid` = the six valid.* cases, `raw-body` = the four raw-body.* ones. */
export const CHECK_GROUPS: Record<string, CheckCaseId[]> = {
  valid: CHECK_CASE_IDS.filter((id) => id.startsWith('valid.')),
  'raw-body': CHECK_CASE_IDS.filter((id) => id.startsWith('raw-body.')),
};

function parseIds(values: string[] | string | undefined, flag: string): Set<CheckCaseId> {
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const ids = new Set<CheckCaseId>();
  for (const raw of list) {
    const name = raw.toLowerCase();
    const group = CHECK_GROUPS[name];
    if (group) group.forEach((id) => ids.add(id));
    else if ((CHECK_CASE_IDS as readonly string[]).includes(name)) ids.add(name as CheckCaseId);
    else {
      throw usageError(
        `${flag}: unknown case "${raw}"`,
        `case ids: ${CHECK_CASE_IDS.join(', ')} (or the groups valid, raw-body)`,
      );
    }
  }
  return ids;
}

/** The cases to run, in the suite's order: `--only` narrows, then `--skip` removes. */
export function selectCases(only?: string[] | string, skip?: string[] | string): CheckCaseId[] {
  // The flags' names, not the fields': the messages are part of the library's tested surface.
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
  /** Where a type's own case (`valid.<type>`) goes when not to `url` (per-type routes); other cases use `url`. */
  urlFor?: (type: EventType) => string;
}

/** A 64-character signature that is not hex: right length, so only a format check catches it. */
function nonHexSignature(valid: string): string {
  return `${valid.slice(0, 60)}zzzz`;
}

/*
 * Signatures of 64 bytes on the wire that are not ASCII. Header values are written one byte per
 * character (Latin-1), and bytes 0x80-0xFF are legal there (obs-text). A handler that checks
 * `signature.length === 64` and then compares bytes (Node's timingSafeEqual on Buffer.from(sig),
 * Python's hmac.compare_digest on a str) throws on these instead of answering 400.
 */
/** 62 hex characters and the two UTF-8 bytes of "é" (C3 A9), each sent as one Latin-1 character. */
function utf8TailSignature(valid: string): string {
  return `${valid.slice(0, 62)}\u00c3\u00a9`;
}

/** 63 hex characters and "é" as the one byte E9: 64 characters and 64 bytes. */
function latin1TailSignature(valid: string): string {
  return `${valid.slice(0, 63)}\u00e9`;
}

/** The malformed-signature steps whose signature is 64 bytes but not ASCII (the judge names them). */
export const NON_ASCII_SIGNATURE_LABELS = ['64 bytes, UTF-8 é', '64 chars, Latin-1 é'] as const;

/** The request with its signature header set to `value` (whatever case the header's name has). */
function withSignature(req: WebhookRequest, value: string): WebhookRequest {
  const name =
    Object.keys(req.headers).find((k) => k.toLowerCase() === SIGNATURE_HEADER.toLowerCase()) ?? SIGNATURE_HEADER;
  return { ...req, headers: { ...req.headers, [name]: value }, signatureMode: 'malformed' };
}

/** The request carrying `body` instead of the compact serialization, signed over exactly those bytes. */
function withBody(req: WebhookRequest, body: Buffer, secret: string): WebhookRequest {
  const name =
    Object.keys(req.headers).find((k) => k.toLowerCase() === SIGNATURE_HEADER.toLowerCase()) ?? SIGNATURE_HEADER;
  return { ...req, body, headers: { ...req.headers, [name]: signPayload(body, secret) } };
}

/** What planning one case needs: the shared request options and how to prepare a signed event. */
interface Planner {
  base: { url: string; secret: string; headers?: string[] };
  burst: number;
  prepare(type: EventType, signature?: SignatureMode, url?: string): WebhookRequest;
  urlFor?: (type: EventType) => string;
}

function planValid(id: CheckCaseId, p: Planner): CheckCase {
  const type = id.slice('valid.'.length) as EventType;
  return {
    id,
    title: `${type}, validly signed`,
    want: 'accept',
    expected: `2xx, fast (< ${SLOW_MS / 1000} s)`,
    steps: [{ label: type, request: p.prepare(type, 'valid', p.urlFor?.(type)) }],
    parallel: false,
  };
}

function planByteForm(id: keyof typeof BYTE_FORMS, p: Planner): CheckCase {
  const form = BYTE_FORMS[id];
  const signed = (label: string, event: FaceSignEvent, body: (e: FaceSignEvent) => Buffer): CheckStep => ({
    label,
    request: withBody(prepareRequest(event, p.base), body(event), p.base.secret),
  });
  const steps: Record<keyof typeof BYTE_FORMS, () => CheckStep[]> = {
    'raw-body.utf8': () => [signed('raw UTF-8', rawBodyEvent(), utf8Body)],
    'raw-body.escapes': () => [signed('\\u00e9 and \\/', rawBodyEvent(), escapedBody)],
    'raw-body.numbers': () => [signed('1.50 and 0.10', rawBodyEvent(), numbersBody)],
    // Plain ASCII events, so each step differs from the compact form by whitespace alone.
    'raw-body.whitespace': () => [
      signed('indented', buildEvent('session.verified'), indentedBody),
      signed('", " and ": "', buildEvent('session.failed'), spacedBody),
    ],
  };
  return { id, title: form.title, want: 'accept', expected: '2xx', steps: steps[form.id](), parallel: false };
}

function planMalformed(id: CheckCaseId, p: Planner): CheckCase {
  const valid = () => p.prepare('session.verified');
  const signatureOf = (req: WebhookRequest) => req.headers[SIGNATURE_HEADER] ?? '';
  const nonHex = valid();
  const utf8Tail = valid();
  const latin1Tail = valid();
  return reject(id, 'a signature of the wrong length, not hex, or 64 bytes that are not ASCII', [
    { label: 'wrong length', request: p.prepare('session.verified', 'malformed') },
    { label: '64 chars, not hex', request: withSignature(nonHex, nonHexSignature(signatureOf(nonHex))) },
    {
      label: NON_ASCII_SIGNATURE_LABELS[0],
      request: withSignature(utf8Tail, utf8TailSignature(signatureOf(utf8Tail))),
    },
    {
      label: NON_ASCII_SIGNATURE_LABELS[1],
      request: withSignature(latin1Tail, latin1TailSignature(signatureOf(latin1Tail))),
    },
  ]);
}

function planBurst(id: CheckCaseId, burst: number, p: Planner): CheckCase {
  return {
    id,
    title: `${burst} distinct valid events at once`,
    want: 'accept',
    expected: `all ${burst} 2xx`,
    // Round-robin over the six types, so the burst looks like real traffic.
    steps: Array.from({ length: burst }, (_, i) => {
      const type = EVENT_TYPES[i % EVENT_TYPES.length]!;
      return { label: `#${i + 1}`, request: p.prepare(type) };
    }),
    parallel: true,
  };
}

function planOther(id: CheckCaseId, p: Planner): CheckCase {
  switch (id) {
    case 'duplicate': {
      const request = p.prepare('session.verified');
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
      return reject(id, 'signed with another secret', [
        { label: 'wrong secret', request: p.prepare('session.verified', 'invalid') },
      ]);
    case 'no-signature':
      return reject(id, `no ${SIGNATURE_HEADER} header`, [
        { label: 'no header', request: p.prepare('session.verified', 'missing') },
      ]);
    case 'malformed-signature':
      return planMalformed(id, p);
    case 'tampered-body':
      return reject(id, 'body altered after signing', [
        { label: 'altered body', request: p.prepare('session.verified', 'tampered') },
      ]);
    case 'unknown-type': {
      const event = buildEvent('session.verified', { fixture: { type: UNKNOWN_EVENT_TYPE } });
      return {
        id,
        title: `a future event type (${UNKNOWN_EVENT_TYPE}), validly signed`,
        want: 'accept',
        expected: '2xx (ignored)',
        steps: [{ label: UNKNOWN_EVENT_TYPE, request: prepareRequest(event, p.base) }],
        parallel: false,
      };
    }
    case 'burst':
      return planBurst(id, p.burst, p);
  }
  throw new Error(`unplanned case ${String(id)}`);
}

/**
 * The suite as data: each case's events built, serialized and signed (or mis-signed on purpose).
 * No I/O; every event gets fresh ids so a handler's de-duplication cannot hide a case.
 */
export function planCheck(options: PlanOptions): CheckCase[] {
  const ids = options.cases ?? CHECK_CASE_IDS;
  const burst = options.burst ?? DEFAULT_BURST;
  if (!Number.isInteger(burst) || burst < 1 || burst > MAX_BURST) {
    throw new FieldError('burst', `burst must be a whole number from 1 to ${MAX_BURST} (got "${burst}")`);
  }
  const base = { url: options.url, secret: options.secret, headers: options.headers };
  const planner: Planner = {
    base,
    burst,
    prepare: (type, signature = 'valid', url = base.url) =>
      prepareRequest(buildEvent(type), { ...base, url, signature }),
    urlFor: options.urlFor,
  };
  return ids.map((id): CheckCase => {
    if (id.startsWith('valid.')) return planValid(id, planner);
    if (id in BYTE_FORMS) return planByteForm(id as keyof typeof BYTE_FORMS, planner);
    return planOther(id, planner);
  });
}

function reject(id: CheckCaseId, title: string, steps: CheckStep[]): CheckCase {
  return { id, title, want: 'reject', expected: '4xx (not 5xx)', steps, parallel: false };
}
