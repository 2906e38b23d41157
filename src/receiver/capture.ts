import { readFileSync } from 'node:fs';
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
    throw usageError(`cannot read capture "${path}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  assertJsonDepth(text, path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`"${path}" is not a capture: not valid JSON`, 'captures are the .json files written by `listen --save DIR`');
  }
  const c = value as Partial<Capture>;
  const missing = (['body_base64', 'headers', 'method', 'path'] as const).filter((k) => c?.[k] === undefined);
  if (typeof value !== 'object' || value === null || missing.length > 0) {
    throw usageError(`"${path}" is not a capture: missing ${missing.join(', ') || 'fields'}`, 'captures are the .json files written by `listen --save DIR`');
  }
  if (typeof c.body_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(c.body_base64)) {
    throw usageError(`"${path}" is not a capture: body_base64 is not base64`);
  }
  const wrong = wrongTypedField(c);
  if (wrong) throw usageError(`"${path}" is not a capture: ${wrong}`, 'captures are the .json files written by `listen --save DIR`; fix or remove that field');
  return value as Capture;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first field whose type a reader of captures would trip over, in words; undefined when none. */
function wrongTypedField(c: Partial<Record<keyof Capture, unknown>>): string | undefined {
  if (!isText(c.method)) return 'method is not a string';
  if (!isText(c.path)) return 'path is not a string';
  if (!isRecord(c.headers) || !Object.values(c.headers).every(isText)) return 'headers is not an object of string values';
  if (c.raw_headers !== undefined && (!Array.isArray(c.raw_headers) || !c.raw_headers.every((h) => Array.isArray(h) && h.length === 2 && isText(h[0]) && isText(h[1])))) {
    return 'raw_headers is not a list of [name, value] string pairs';
  }
  if (c.sequence !== undefined && typeof c.sequence !== 'number') return 'sequence is not a number';
  if (c.received_at !== undefined && !isText(c.received_at)) return 'received_at is not a string';
  if (c.body_discarded !== undefined && typeof c.body_discarded !== 'boolean') return 'body_discarded is not true or false';
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
