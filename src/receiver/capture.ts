import { readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { usageError } from '../errors.js';
import { assertJsonDepth } from '../events/json.js';

/**
 * One delivery as `listen --save` writes it: everything needed to verify or replay it byte for byte.
 * The raw body is kept in base64 (exact bytes) and as text (for reading).
 */
export interface Capture {
  /** Format version of this file. */
  version: 1;
  /** Arrival order within one `listen` run, from 1. */
  sequence: number;
  received_at: string;
  remote_address: string | null;
  remote_port: number | null;
  method: string;
  /** The request target as received (path and query). */
  path: string;
  /** Header names lowercased; repeated headers joined by ", " as Node does. */
  headers: Record<string, string>;
  /** The headers exactly as received: name as sent, in order. */
  raw_headers: [string, string][];
  body_base64: string;
  /** UTF-8 reading of the body (lossy for invalid UTF-8; use body_base64 for the bytes). */
  body_text: string;
  body_bytes: number;
  /** Present (true) when the body was over the receiver's cap and was not kept (answered 413). */
  body_discarded?: boolean;
  /**
   * Present (true) only in the receiver's history, when the body alone was larger than the history's
   * byte cap: `body_bytes` is its size, the capture file (`--save`) has the bytes.
   */
  body_omitted?: boolean;
  verdict: CaptureVerdict;
}

export interface CaptureVerdict {
  /** The HTTP status the receiver answered with; 0 when it never answered (--hang). */
  status: number;
  outcome: 'accepted' | 'duplicate' | 'rejected' | 'fault';
  /** Why it was rejected or faulted, in one line; absent when accepted. */
  reason?: string;
  signature: 'valid' | 'missing' | 'malformed' | 'mismatch' | 'prefixed' | 'uppercase' | 'unchecked';
  event_id: string | null;
  event_type: string | null;
  session_id: string | null;
  user_id: string | null;
  /** The response body the receiver sent (absent when it never answered, under --hang). */
  response_body?: string;
  /** How many deliveries of this event id reached the handler so far, this one included. */
  attempt?: number;
  /** Milliseconds the answer was held back (--delay). */
  delayed_ms?: number;
}

/** `000042-20261126T064112.123Z-evt_….json`: sorts in arrival order. */
export function captureFileName(capture: Pick<Capture, 'sequence' | 'received_at' | 'verdict'>): string {
  const stamp = capture.received_at.replace(/[-:]/g, '');
  const id = (capture.verdict.event_id ?? 'unknown').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) || 'unknown';
  return `${String(capture.sequence).padStart(6, '0')}-${stamp}-${id}.json`;
}

/**
 * Sizes past which a capture is no longer made as one string. V8's longest string is 2^29 - 24
 * UTF-16 units; a body's base64 is 4/3 of its size and its JSON-escaped text up to 6x. Tests lower
 * these to reach the paths that large bodies take.
 */
export const captureLimits = {
  /** The longest string this process can make. */
  maxStringChars: 2 ** 29 - 24,
  /** Bodies up to this size are serialised in one piece; larger ones in pieces of this size (a multiple of 3). */
  pieceBytes: 3 * 1024 * 1024,
};

/** True when a body's base64 fits in one string (so the capture can be a plain object). */
export function fitsInString(bodyBytes: number): boolean {
  return Math.ceil(bodyBytes / 3) * 4 <= captureLimits.maxStringChars;
}

/**
 * The capture's JSON (as `JSON.stringify(capture, null, indent)` writes it), in pieces of bounded
 * size: a body of any size is written without ever making its base64 or text as one string.
 * `capture` gives every field but the two body encodings, which are made from `body`.
 */
export function* captureJsonPieces(
  capture: Omit<Capture, 'body_base64' | 'body_text'>,
  body: Buffer,
  indent: 0 | 2 = 0,
): Generator<string> {
  const piece = captureLimits.pieceBytes - (captureLimits.pieceBytes % 3) || 3;
  const head = {
    version: capture.version,
    sequence: capture.sequence,
    received_at: capture.received_at,
    remote_address: capture.remote_address,
    remote_port: capture.remote_port,
    method: capture.method,
    path: capture.path,
    headers: capture.headers,
    raw_headers: capture.raw_headers,
  };
  const tail = {
    body_bytes: capture.body_bytes,
    ...(capture.body_discarded ? { body_discarded: true as const } : {}),
    ...(capture.body_omitted ? { body_omitted: true as const } : {}),
    verdict: capture.verdict,
  };
  if (body.length <= piece) {
    yield JSON.stringify(
      { ...head, body_base64: body.toString('base64'), body_text: body.toString('utf8'), ...tail },
      null,
      indent,
    );
    return;
  }
  const [nl, pad, colon] = indent ? ['\n', ' '.repeat(indent), ': '] : ['', '', ':'];
  // The head without its closing brace, then the two body fields written piece by piece.
  const headJson = JSON.stringify(head, null, indent);
  yield `${headJson.slice(0, headJson.length - 1 - nl.length)},${nl}${pad}"body_base64"${colon}"`;
  for (let at = 0; at < body.length; at += piece) yield body.subarray(at, at + piece).toString('base64');
  yield `",${nl}${pad}"body_text"${colon}"`;
  // A decoder holds back a character split between pieces, so the text equals one whole decoding.
  const decoder = new StringDecoder('utf8');
  for (let at = 0; at < body.length; at += piece) yield jsonStringContent(decoder.write(body.subarray(at, at + piece)));
  yield `${jsonStringContent(decoder.end())}",${JSON.stringify(tail, null, indent).slice(1)}`;
}

/** A string as JSON writes it between its quotes. */
function jsonStringContent(text: string): string {
  return text === '' ? '' : JSON.stringify(text).slice(1, -1);
}

/** The exact body bytes of a capture. */
export function captureBody(capture: Capture): Buffer {
  return Buffer.from(capture.body_base64, 'base64');
}

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
