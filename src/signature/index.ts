import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names FaceSign sends (provider docs, "Request headers"). */
export const SIGNATURE_HEADER = 'FaceSign-Signature';
export const EVENT_ID_HEADER = 'FaceSign-Event-Id';
/** The same names as keys of Node's `req.headers` (lowercased). */
export const SIGNATURE_FIELD = SIGNATURE_HEADER.toLowerCase();
export const EVENT_ID_FIELD = EVENT_ID_HEADER.toLowerCase();

/**
 * FaceSign's signature: lowercase hex HMAC-SHA256 of the exact raw body bytes, keyed with the
 * endpoint secret. No prefix, no timestamp.
 */
export function signPayload(body: Uint8Array | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export type SignatureFailure = 'missing' | 'malformed' | 'prefixed' | 'uppercase' | 'mismatch' | 'no-secret';

export interface SignatureVerdict {
  ok: boolean;
  /** Why it failed; absent when ok. */
  reason?: SignatureFailure;
  /** One human sentence about the verdict. */
  message: string;
  /** `malformed`: the length of the value seen (after trimming spaces and tabs). */
  length?: number;
  /** `prefixed`/`uppercase`: whether the bare lowercase hex would have matched. */
  wouldMatch?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ANY_CASE_HEX64 = /^[0-9a-fA-F]{64}$/;

/** The body as bytes without copying, or undefined for anything that is not a string or bytes. */
export function bodyBytes(body: unknown): Buffer | undefined {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return undefined;
}

/** HTTP's optional whitespace around a field value is spaces and tabs only (RFC 9110 §5.5). */
export function trimHeaderValue(value: string): string {
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  if (first !== 0x20 && first !== 0x09 && last !== 0x20 && last !== 0x09) return value;
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Constant-time comparison of a 64-char hex string with HMAC-SHA256(body, secret). */
export function matchesHex(body: Uint8Array, hex: string, secret: string): boolean {
  if (!HEX64.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(hex, 'hex');
  // Both are 32 bytes here (checked above), so timingSafeEqual cannot throw.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Checks a signature against a raw body in constant time. Never throws, whatever the arguments:
 * an absent value, a number, an array of header values, the wrong length or a non-hex string all
 * get a verdict with a reason.
 */
export function verifySignature(rawBody: Uint8Array | string, signature: unknown, secret: string): SignatureVerdict {
  try {
    return judge(rawBody, signature, secret);
  } catch (err) {
    // Unreachable for any input we know of; a verifier must still fail closed, not throw.
    return {
      ok: false,
      reason: 'mismatch',
      message: `could not verify: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function judge(rawBody: unknown, signature: unknown, secret: unknown): SignatureVerdict {
  if (typeof secret !== 'string' || secret === '') {
    return { ok: false, reason: 'no-secret', message: 'no secret to verify with' };
  }
  let value = signature;
  if (Array.isArray(value)) {
    if (value.length > 1) {
      return {
        ok: false,
        reason: 'malformed',
        message: `${value.length} ${SIGNATURE_HEADER} values; FaceSign sends exactly one`,
      };
    }
    value = value[0];
  }
  if (value === undefined || value === null || value === '') {
    return { ok: false, reason: 'missing', message: `no ${SIGNATURE_HEADER} header` };
  }
  if (typeof value !== 'string') {
    return { ok: false, reason: 'malformed', message: `${SIGNATURE_HEADER} is ${describeType(value)}, not a string` };
  }
  const body = bodyBytes(rawBody);
  if (body === undefined) {
    return {
      ok: false,
      reason: 'mismatch',
      message: `the body is ${describeType(rawBody)}; pass the raw body as a Buffer or string`,
    };
  }
  const trimmed = trimHeaderValue(value);
  if (trimmed === '') return { ok: false, reason: 'missing', message: `${SIGNATURE_HEADER} is blank` };
  if (/^sha256=/i.test(trimmed)) {
    const rest = trimmed.slice('sha256='.length);
    const wouldMatch = ANY_CASE_HEX64.test(rest) && matchesHex(body, rest.toLowerCase(), secret);
    return {
      ok: false,
      reason: 'prefixed',
      wouldMatch,
      message:
        `${SIGNATURE_HEADER} has a "sha256=" prefix; FaceSign sends bare hex ` +
        `(the hex after it ${wouldMatch ? 'would match' : 'would not match either'})`,
    };
  }
  if (!HEX64.test(trimmed)) {
    if (ANY_CASE_HEX64.test(trimmed)) {
      const wouldMatch = matchesHex(body, trimmed.toLowerCase(), secret);
      return {
        ok: false,
        reason: 'uppercase',
        wouldMatch,
        message:
          `${SIGNATURE_HEADER} uses uppercase hex; FaceSign sends lowercase ` +
          `(in lowercase it ${wouldMatch ? 'would match' : 'would not match either'})`,
      };
    }
    return {
      ok: false,
      reason: 'malformed',
      length: trimmed.length,
      message:
        `${SIGNATURE_HEADER} is not a 64-character lowercase hex string ` +
        `(length ${trimmed.length}${/^[0-9a-fA-F]*$/.test(trimmed) ? '' : ', not all hex'})`,
    };
  }
  return matchesHex(body, trimmed, secret)
    ? { ok: true, message: 'signature valid' }
    : { ok: false, reason: 'mismatch', message: 'signature does not match the body and secret' };
}
