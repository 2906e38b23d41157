import { StringDecoder } from 'node:string_decoder';
import type { NetworkError } from '../delivery/network-error.js';
import { headersFromRaw } from './headers.js';

const EMPTY = Buffer.alloc(0);

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
  /**
   * Present (true) when personal data in the body was replaced (`listen --redact`): `body_base64`
   * holds the redacted JSON, not the signed bytes.
   */
  redacted?: boolean;
  /** Why a body `listen --redact` was asked to redact was kept as received (not JSON, nothing personal). */
  redaction_note?: string;
  /** The bytes as received (base64), kept beside a redacted body only with `listen --keep-raw`. */
  raw_body_base64?: string;
  verdict: CaptureVerdict;
  /** With `listen --forward-to`: what the user's app answered (absent when not forwarded). */
  forward?: ForwardRecord;
}

/** What a capture may hold beyond the request: redaction, the raw bytes, the app's answer. */
export interface CaptureExtras {
  redacted?: boolean;
  redactionNote?: string;
  rawBody?: Buffer;
  forward?: ForwardRecord;
}

/** What the user's app answered to a forwarded delivery, as a capture records it (documented; keep it stable). */
export interface ForwardRecord {
  /** Where it was forwarded (a password in the URL shown as ***). */
  url: string;
  /** The app's status; null when it never answered (see `error`). */
  status: number | null;
  /** The app's response headers, names lowercased, hop-by-hop ones left out; repeats joined with ", ". */
  headers: Record<string, string>;
  /** UTF-8 reading of the first 64 KiB of the app's body (what the sender got back). */
  body_preview: string;
  /** Bytes of the app's body read (at most 64 KiB). */
  body_bytes: number;
  /** True when the app's body was longer than 64 KiB (the rest was not read, nor passed on). */
  body_truncated: boolean;
  latency_ms: number;
  /** Why the app gave no answer (refused, reset, timeout…); the sender got 502 or 504. */
  error: NetworkError | null;
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
    ...(capture.redacted ? { redacted: true as const } : {}),
    ...(capture.redaction_note !== undefined ? { redaction_note: capture.redaction_note } : {}),
    ...(capture.raw_body_base64 !== undefined ? { raw_body_base64: capture.raw_body_base64 } : {}),
    verdict: capture.verdict,
    ...(capture.forward !== undefined ? { forward: capture.forward } : {}),
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

/** The bytes that were signed: the raw ones a `--keep-raw` capture holds, else its body. */
export function signedBody(capture: Capture): Buffer {
  return typeof capture.raw_body_base64 === 'string'
    ? Buffer.from(capture.raw_body_base64, 'base64')
    : captureBody(capture);
}

/** True when the capture's body was redacted and its signed bytes were not kept (no `--keep-raw`). */
export function isRedactedWithoutRaw(capture: Capture): boolean {
  return capture.redacted === true && typeof capture.raw_body_base64 !== 'string';
}

/**
 * One delivery's capture, kept small because the history holds a thousand of them: the request's
 * raw header list and body bytes, the verdict, and a few numbers. The encodings a capture file
 * shows (headers, base64 and text of the body, the ISO time) are made when read.
 * `JSON.stringify` gives the full capture file (through `toJSON`).
 */
export class ReceivedCapture implements Capture {
  constructor(
    readonly sequence: number,
    private readonly receivedAt: number,
    readonly remote_address: string | null,
    readonly remote_port: number | null,
    readonly method: string,
    readonly path: string,
    /** The raw header list joined with NUL (which no header can hold): one string to keep, not dozens. */
    private readonly rawHeaderText: string,
    private readonly body: Buffer,
    private readonly tooLarge: boolean,
    readonly verdict: CaptureVerdict,
    private readonly extras: CaptureExtras = {},
    /** The body's size when `body` was left out (the history's copy of a body over its byte cap). */
    private readonly omittedBytes?: number,
  ) {}

  /** The same capture without its body bytes, for a history that cannot hold them. */
  withoutBody(): ReceivedCapture {
    return new ReceivedCapture(
      this.sequence,
      this.receivedAt,
      this.remote_address,
      this.remote_port,
      this.method,
      this.path,
      this.rawHeaderText,
      EMPTY,
      this.tooLarge,
      this.verdict,
      { ...this.extras, rawBody: undefined },
      this.body.length,
    );
  }

  /** What keeping this capture costs, roughly in bytes: body, headers and the ids read from the body. */
  get weight(): number {
    const v = this.verdict;
    return (
      this.body.length +
      this.rawHeaderText.length +
      (v.event_id?.length ?? 0) +
      (v.event_type?.length ?? 0) +
      (v.session_id?.length ?? 0) +
      (v.user_id?.length ?? 0) +
      (v.reason?.length ?? 0) +
      (this.extras.rawBody?.length ?? 0) +
      (this.extras.forward ? this.extras.forward.body_bytes + JSON.stringify(this.extras.forward.headers).length : 0)
    );
  }

  get redacted(): true | undefined {
    return this.extras.redacted ? true : undefined;
  }

  get redaction_note(): string | undefined {
    return this.extras.redactionNote;
  }

  get raw_body_base64(): string | undefined {
    return this.extras.rawBody?.toString('base64');
  }

  /** True when a redacted capture also holds its received bytes (`--keep-raw`), told without encoding them. */
  get hasRawBody(): boolean {
    return this.extras.rawBody !== undefined;
  }

  get forward(): ForwardRecord | undefined {
    return this.extras.forward;
  }

  /** The bytes the capture file's body fields are made from. */
  get bodyBuffer(): Buffer {
    return this.body;
  }

  /** The size of the body bytes this copy holds (0 once left out). */
  get bodyLength(): number {
    return this.body.length;
  }

  /** The capture's JSON in bounded pieces (see `captureJsonPieces`). */
  jsonPieces(indent: 0 | 2 = 0): Generator<string> {
    return captureJsonPieces(this, this.body, indent);
  }

  get version(): 1 {
    return 1;
  }

  get received_at(): string {
    return new Date(this.receivedAt).toISOString();
  }

  get body_bytes(): number {
    return this.omittedBytes ?? this.body.length;
  }

  get body_discarded(): true | undefined {
    return this.tooLarge ? true : undefined;
  }

  get body_omitted(): true | undefined {
    return this.omittedBytes !== undefined ? true : undefined;
  }

  get headers(): Record<string, string> {
    return headersFromRaw(this.rawHeaderList());
  }

  private rawHeaderList(): string[] {
    return this.rawHeaderText === '' ? [] : this.rawHeaderText.split('\0');
  }

  get raw_headers(): [string, string][] {
    const raw = this.rawHeaderList();
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
    return out;
  }

  get body_base64(): string {
    return this.body.toString('base64');
  }

  get body_text(): string {
    return this.body.toString('utf8');
  }

  /** The capture as a plain object, in the file's field order. */
  toJSON(): Capture {
    return {
      version: 1,
      sequence: this.sequence,
      received_at: this.received_at,
      remote_address: this.remote_address,
      remote_port: this.remote_port,
      method: this.method,
      path: this.path,
      headers: this.headers,
      raw_headers: this.raw_headers,
      body_base64: this.body_base64,
      body_text: this.body_text,
      body_bytes: this.body_bytes,
      ...(this.tooLarge ? { body_discarded: true as const } : {}),
      ...(this.omittedBytes !== undefined ? { body_omitted: true as const } : {}),
      ...(this.extras.redacted ? { redacted: true as const } : {}),
      ...(this.extras.redactionNote !== undefined ? { redaction_note: this.extras.redactionNote } : {}),
      ...(this.extras.rawBody ? { raw_body_base64: this.extras.rawBody.toString('base64') } : {}),
      verdict: this.verdict,
      ...(this.extras.forward ? { forward: this.extras.forward } : {}),
    };
  }
}

/** The verdict a capture records: the judgement's, with what was answered (or that nothing was). */
export function recordedVerdict(
  judgement: { verdict: CaptureVerdict; responseBody: string },
  hang: boolean,
  delayMs: number,
): CaptureVerdict {
  const verdict = judgement.verdict;
  if (hang) {
    // The judgement is kept (signature, ids); only the answer is withheld.
    return {
      ...verdict,
      status: 0,
      outcome: 'fault',
      reason: `no answer (--hang)${verdict.reason ? `; would have been ${verdict.status}: ${verdict.reason}` : ''}`,
    };
  }
  verdict.response_body = judgement.responseBody;
  if (delayMs > 0) verdict.delayed_ms = delayMs;
  return verdict;
}
