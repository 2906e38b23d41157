import { EVENT_ID_FIELD, SIGNATURE_FIELD } from '../signature/index.js';

/**
 * Node builds `IncomingMessage.headers` from the first 1000 header lines only (its default
 * maxHeadersCount is 2000 entries).
 */
const MAX_HEADER_FIELDS = 1000;

/** Header fields of which Node keeps only the first copy (as `IncomingMessage.headers` does). */
const SINGLE_VALUE_HEADERS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * `IncomingMessage.headers` flattened to strings, made from the raw name/value list with Node's
 * rules: names lowercased; repeats dropped for single-value fields, joined with "; " for cookie
 * and with ", " otherwise.
 */
export function headersFromRaw(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const end = Math.min(raw.length, MAX_HEADER_FIELDS * 2);
  for (let i = 0; i + 1 < end; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    // An own-property test: a field named like an Object method ("constructor") is still new.
    if (!Object.hasOwn(out, name)) out[name] = value;
    else if (!SINGLE_VALUE_HEADERS.has(name)) out[name] = `${out[name]}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/**
 * The two fields judging reads (signature and event id), from the raw list in one pass, repeats
 * joined with ", " as Node joins them: Node's full header object is made only if a capture is read whole.
 */
export function judgedHeaders(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const end = Math.min(raw.length, MAX_HEADER_FIELDS * 2);
  for (let i = 0; i + 1 < end; i += 2) {
    const name = raw[i]!;
    if (name.length !== SIGNATURE_FIELD.length && name.length !== EVENT_ID_FIELD.length) continue;
    const field = name.toLowerCase();
    if (field !== SIGNATURE_FIELD && field !== EVENT_ID_FIELD) continue;
    out[field] = out[field] === undefined ? raw[i + 1]! : `${out[field]}, ${raw[i + 1]!}`;
  }
  return out;
}
