import { buildEvent, type FaceSignEvent } from '../events/build.js';
import type { JsonValue } from '../events/json.js';

/*
 * Bodies for the raw-body.* cases: valid JSON of a valid event, written in byte forms that a
 * handler re-serializing the parsed body (instead of verifying the raw bytes, as the provider docs
 * ask: "Use raw body for signature verification") cannot reproduce. Each re-serializer family
 * reproduces at most one of them, so each family fails at least one case and accepts at least
 * one validly signed body, which tells a re-serializer apart from a wrong secret.
 */

/** A raw-body case's id and what it varies, for titles and hints. */
export interface ByteForm {
  id: 'raw-body.utf8' | 'raw-body.escapes' | 'raw-body.whitespace' | 'raw-body.numbers';
  title: string;
  /** What re-serializing changes in this form (one clause for the hint). */
  lost: string;
}

export const BYTE_FORMS: Record<ByteForm['id'], ByteForm> = {
  'raw-body.utf8': {
    id: 'raw-body.utf8',
    title: 'names in raw UTF-8 (José Müller, 東京), validly signed',
    lost: 'Python json.dumps (ensure_ascii) and PHP json_encode write é as \\u00e9',
  },
  'raw-body.escapes': {
    id: 'raw-body.escapes',
    title: 'JSON escapes (\\u00e9, \\/) in strings, validly signed',
    lost: 'JSON.stringify and json.dumps write \\/ as /, JSON.stringify writes \\u00e9 as é',
  },
  'raw-body.whitespace': {
    id: 'raw-body.whitespace',
    title: 'indented, and with spaced separators, validly signed',
    lost: 'JSON.stringify drops the whitespace, json.dumps writes ", " and ": "',
  },
  'raw-body.numbers': {
    id: 'raw-body.numbers',
    title: 'numbers written as 1.50 and 0.10, validly signed',
    lost: 'JSON.stringify and json.dumps write 1.50 as 1.5',
  },
};

/** A session.verified event with non-ASCII names, a URL and decimal numbers in its metadata. */
export function rawBodyEvent(): FaceSignEvent {
  return buildEvent('session.verified', {
    fixture: {
      data: {
        verified_outputs: { first_name: 'José', last_name: 'Müller' },
        metadata: {
          city: '東京',
          return_url: 'https://example.com/kyc/done',
          plan_price: '@plan_price@',
          discount_rate: '@discount_rate@',
        },
      },
    },
  });
}

/** Compact JSON with non-ASCII characters as raw UTF-8 (what JSON.stringify writes). */
export function utf8Body(event: FaceSignEvent): Buffer {
  return Buffer.from(withNumbers(JSON.stringify(event), '1.5', '0.1'), 'utf8');
}

/** `\u00XX` for each UTF-16 unit outside printable ASCII, lowercase hex as Python writes it. */
function escapeNonAscii(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Compact JSON, pure ASCII: non-ASCII as `\u00e9` escapes and every `/` as `\/` (PHP's default form). */
export function escapedBody(event: FaceSignEvent): Buffer {
  // Outside strings JSON has no `/` and no non-ASCII character, so both replacements only touch string contents.
  return Buffer.from(withNumbers(escapeNonAscii(JSON.stringify(event)).replace(/\//g, '\\/'), '1.5', '0.1'), 'ascii');
}

/** Compact JSON with the decimals written with a trailing zero: `1.50`, `0.10`. */
export function numbersBody(event: FaceSignEvent): Buffer {
  return Buffer.from(withNumbers(JSON.stringify(event), '1.50', '0.10'), 'utf8');
}

/** Indented by two spaces, as `JSON.stringify(v, null, 2)` and Python's `json.dumps(v, indent=2)` write it. */
export function indentedBody(event: FaceSignEvent): Buffer {
  return Buffer.from(withNumbers(JSON.stringify(event, null, 2), '1.5', '0.1'), 'utf8');
}

/** One line with `", "` and `": "` separators and ASCII escapes: Python's `json.dumps(v)` defaults. */
export function spacedBody(event: FaceSignEvent): Buffer {
  return Buffer.from(withNumbers(spacedJson(event as unknown as JsonValue), '1.5', '0.1'), 'ascii');
}

function spacedJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${escapeNonAscii(JSON.stringify(k))}: ${spacedJson(v)}`)
      .join(', ')}}`;
  }
  return typeof value === 'string' ? escapeNonAscii(JSON.stringify(value)) : JSON.stringify(value);
}

/** Fills the two number placeholders of `rawBodyEvent` (a no-op for other events). */
function withNumbers(json: string, price: string, rate: string): string {
  return json.replace('"@plan_price@"', price).replace('"@discount_rate@"', rate);
}
