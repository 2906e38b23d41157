import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names FaceSign sends (provider docs, "Request headers"). */
export const SIGNATURE_HEADER = 'FaceSign-Signature';
export const EVENT_ID_HEADER = 'FaceSign-Event-Id';

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
}

const HEX64 = /^[0-9a-f]{64}$/;

function toBytes(body: unknown): Buffer | undefined {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/**
 * Checks a signature against a raw body in constant time. Never throws on untrusted input: any
 * signature value (absent, an array of header values, the wrong length) gets a verdict.
 */
export function verifySignature(rawBody: Uint8Array | string, signature: unknown, secret: string): SignatureVerdict {
  if (typeof secret !== 'string' || secret === '') {
    return { ok: false, reason: 'no-secret', message: 'no secret to verify with' };
  }
  const body = toBytes(rawBody) ?? Buffer.alloc(0);
  const value = Array.isArray(signature) ? signature[0] : signature;
  if (value === undefined || value === null || value === '') {
    return { ok: false, reason: 'missing', message: `no ${SIGNATURE_HEADER} header` };
  }
  if (typeof value !== 'string') {
    return { ok: false, reason: 'malformed', message: `${SIGNATURE_HEADER} is not a string` };
  }
  const trimmed = value.trim();
  if (/^sha256=/i.test(trimmed)) {
    return { ok: false, reason: 'prefixed', message: `${SIGNATURE_HEADER} has a "sha256=" prefix; FaceSign sends bare hex` };
  }
  if (!HEX64.test(trimmed)) {
    if (/^[0-9a-fA-F]{64}$/.test(trimmed)) {
      const verdict = compare(body, trimmed.toLowerCase(), secret);
      const note = verdict ? ' (it would match in lowercase)' : '';
      return { ok: false, reason: 'uppercase', message: `${SIGNATURE_HEADER} uses uppercase hex; FaceSign sends lowercase${note}` };
    }
    return {
      ok: false,
      reason: 'malformed',
      message: `${SIGNATURE_HEADER} is not 64 lowercase hex characters (length ${trimmed.length})`,
    };
  }
  return compare(body, trimmed, secret)
    ? { ok: true, message: 'signature valid' }
    : { ok: false, reason: 'mismatch', message: 'signature does not match the body and secret' };
}

function compare(body: Buffer, hex: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(hex, 'hex');
  // Lengths are equal here (64 hex chars), so timingSafeEqual cannot throw.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
