import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { assertJsonDepth } from '../events/json.js';
import type { Capture } from './capture.js';

/**
 * Reads and checks a capture file; anything that is not one is a usage error naming the file
 * and what is missing.
 */
export function readCaptureFile(path: string): Capture {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'ERR_STRING_TOO_LONG'
          ? 'the file is larger than one string can hold (~512 MiB)'
          : (err as Error).message;
    throw usageError(`cannot read capture "${path}": ${why}`);
  }
  assertJsonDepth(text, path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(
      `"${path}" is not a capture: not valid JSON`,
      'captures are the .json files written by `listen --save DIR`',
    );
  }
  const c = value as Partial<Capture>;
  const missing = (['body_base64', 'headers', 'method', 'path'] as const).filter((k) => c?.[k] === undefined);
  if (typeof value !== 'object' || value === null || missing.length > 0) {
    throw usageError(
      `"${path}" is not a capture: missing ${missing.join(', ') || 'fields'}`,
      'captures are the .json files written by `listen --save DIR`',
    );
  }
  if (typeof c.body_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(c.body_base64)) {
    throw usageError(`"${path}" is not a capture: body_base64 is not base64`);
  }
  const wrong = wrongTypedField(c);
  if (wrong)
    throw usageError(
      `"${path}" is not a capture: ${wrong}`,
      'captures are the .json files written by `listen --save DIR`; fix or remove that field',
    );
  return value as Capture;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first field whose type a reader of captures would trip over, in words; undefined when none. */
function wrongTypedField(c: Partial<Record<keyof Capture, unknown>>): string | undefined {
  if (!isText(c.method)) return 'method is not a string';
  if (!isText(c.path)) return 'path is not a string';
  if (!isRecord(c.headers) || !Object.values(c.headers).every(isText))
    return 'headers is not an object of string values';
  if (
    c.raw_headers !== undefined &&
    (!Array.isArray(c.raw_headers) ||
      !c.raw_headers.every((h) => Array.isArray(h) && h.length === 2 && isText(h[0]) && isText(h[1])))
  ) {
    return 'raw_headers is not a list of [name, value] string pairs';
  }
  if (c.sequence !== undefined && typeof c.sequence !== 'number') return 'sequence is not a number';
  if (c.received_at !== undefined && !isText(c.received_at)) return 'received_at is not a string';
  if (c.body_discarded !== undefined && typeof c.body_discarded !== 'boolean')
    return 'body_discarded is not true or false';
  if (c.redacted !== undefined && typeof c.redacted !== 'boolean') return 'redacted is not true or false';
  if (
    c.raw_body_base64 !== undefined &&
    (!isText(c.raw_body_base64) || !/^[A-Za-z0-9+/]*={0,2}$/.test(c.raw_body_base64))
  )
    return 'raw_body_base64 is not base64';
  if (c.verdict !== undefined) {
    const v = c.verdict;
    if (!isRecord(v)) return 'verdict is not an object';
    for (const key of ['event_id', 'event_type', 'session_id', 'user_id', 'signature', 'outcome'] as const) {
      if (v[key] !== undefined && v[key] !== null && !isText(v[key])) return `verdict.${key} is not a string`;
    }
    if (v.status !== undefined && typeof v.status !== 'number') return 'verdict.status is not a number';
  }
  return undefined;
}
