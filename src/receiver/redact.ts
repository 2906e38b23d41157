import { findDeepNesting } from '../events/json.js';

/** What a redacted value becomes. */
export const REDACTED = '[redacted]';

/**
 * Keys whose values are personal data, compared lowercased without `_` and `-` (so `first_name`,
 * `firstName` and `First-Name` are one key). Names, dates of birth, document numbers.
 */
const PERSONAL_KEYS = new Set([
  'firstname',
  'lastname',
  'fullname',
  'middlename',
  'givenname',
  'familyname',
  'surname',
  'name',
  'dateofbirth',
  'dob',
  'birthdate',
  'documentnumber',
  'idnumber',
  'personalnumber',
  'nationalid',
  'passportnumber',
  'street',
  'postalcode',
  'postcode',
  'zipcode',
]);
/** Any key containing one of these (`address`, `home_address`, `email_address`, `phone_number`…). */
const PERSONAL_PARTS = ['address', 'email', 'phone'];
/** Every value under these keys is redacted, whatever its name: the provider's verified identity data. */
const REDACT_ALL_UNDER = new Set(['verifiedoutputs']);

/** Bodies larger than this are not parsed to be redacted (no FaceSign event comes near it). */
const MAX_REDACT_BYTES = 64 * 1024 * 1024;

const normal = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

function isPersonalKey(key: string): boolean {
  const k = normal(key);
  return PERSONAL_KEYS.has(k) || PERSONAL_PARTS.some((part) => k.includes(part));
}

/** Every leaf of a value replaced by the placeholder; objects and arrays keep their shape. */
function redactAll(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactAll);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactAll(v)]));
  return value === null ? null : REDACTED;
}

/** The value with personal data replaced, by key, anywhere in it; `count` says how many values were. */
export function redactValue(value: unknown): { value: unknown; count: number } {
  let count = 0;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(v)) {
      if (REDACT_ALL_UNDER.has(normal(key))) {
        count++;
        out[key] = redactAll(inner);
      } else if (isPersonalKey(key) && inner !== null) {
        count++;
        out[key] = typeof inner === 'object' ? redactAll(inner) : REDACTED;
      } else out[key] = walk(inner);
    }
    return out;
  };
  return { value: walk(value), count };
}

export interface RedactedBody {
  /** The body to keep: the redacted JSON, or the bytes as received when it could not be redacted. */
  body: Buffer;
  /** True when `body` is the redacted JSON (not the bytes that were signed). */
  redacted: boolean;
  /** Why the body was kept as received (not JSON, too large). */
  note?: string;
}

/**
 * Replaces personal data in a JSON body (see `redactValue`) and writes the JSON again (compact).
 * A body that is not JSON is left as it is, with a note saying so: there is nothing to find keys in.
 */
export function redactBody(body: Buffer): RedactedBody {
  if (body.length === 0) return { body, redacted: false };
  if (body.length > MAX_REDACT_BYTES)
    return { body, redacted: false, note: `the body is over ${MAX_REDACT_BYTES} bytes: kept as received` };
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { body, redacted: false, note: 'the body is not JSON: kept as received, not redacted' };
  }
  if (findDeepNesting(text) !== undefined)
    return { body, redacted: false, note: 'the body is nested too deep to redact: kept as received' };
  const { value, count } = redactValue(parsed);
  // Nothing personal found: the signed bytes are kept, so the capture still verifies.
  if (count === 0) return { body, redacted: false, note: 'no personal data found: kept as received' };
  return { body: Buffer.from(JSON.stringify(value)), redacted: true };
}

/**
 * The body a capture keeps when redaction is on, with what it says about it written into `into`
 * (`redacted`, the note, and the received bytes when `keepRaw`).
 */
export function redactInto(
  into: { redacted?: boolean; redactionNote?: string; rawBody?: Buffer },
  body: Buffer,
  keepRaw: boolean,
): Buffer {
  if (body.length === 0) return body;
  const redaction = redactBody(body);
  if (redaction.redacted) into.redacted = true;
  if (redaction.note !== undefined) into.redactionNote = redaction.note;
  if (redaction.redacted && keepRaw) into.rawBody = body;
  return redaction.body;
}
