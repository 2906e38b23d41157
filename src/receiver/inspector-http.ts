import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceivedCapture } from './capture.js';
import type { History } from './ledger.js';
import { answer } from './respond.js';
import type { ReceiverSettings } from './settings.js';

/** What the inspector reads of the running receiver. */
export interface InspectorContext {
  history: History<ReceivedCapture>;
  settings: Pick<ReceiverSettings, 'secret' | 'forwardTo' | 'forwardTls' | 'path'>;
  /** The receiver's own webhook URL (known once listening). */
  webhookUrl(): string;
  warn(message: string): void;
}

/** The answer of an action: a status and a JSON body. */
export interface ActionAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The largest action body accepted (a seq, a URL, a secret): anything bigger is no action. */
export const MAX_ACTION_BODY_BYTES = 64 * 1024;
/** The header every action carries with the run's token (read from the page's meta tag). */
export const TOKEN_HEADER = 'x-facesign-token';

/**
 * Sent with the page and every API answer: only the page's own files run, nothing may frame it,
 * and no browser guesses types or leaks the URL. No CORS header is ever sent.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

/** A token for one run: 192 random bits, URL-safe. */
export function createToken(): string {
  return randomBytes(24).toString('base64url');
}

/** True when the request carries the run's token (compared in constant time). */
export function hasToken(req: IncomingMessage, token: string): boolean {
  const given = req.headers[TOKEN_HEADER];
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * True when the request has no Origin, or the page's own: `http://<its Host>`. A page of another
 * site (or a sandboxed one, `Origin: null`) is refused even where the Host guard lets it through.
 */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}

/** Answers once with a body and the security headers (Node itself sends no body to a HEAD). */
export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  const headers = { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) };
  answer(res, status, body, { ...headers, ...extra }, false);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, extra?: Record<string, string>): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), extra);
}

/** An error as every API answer gives it: `{"error": "one line"}`. */
export function sendError(res: ServerResponse, status: number, message: string, extra?: Record<string, string>): void {
  sendJson(res, status, { error: message }, extra);
}

/** True for `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonType(header: string | undefined): boolean {
  return header !== undefined && header.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** What reading an action's body gave: the parsed JSON, or the status and line to answer. */
export type ReadBody = { ok: true; value: unknown } | { ok: false; status: number; message: string };

/**
 * Reads a JSON body of at most MAX_ACTION_BODY_BYTES. A body announced or found larger gets 413
 * (and the connection is closed after the answer, so the rest need not be read).
 */
export function readJsonBody(req: IncomingMessage): Promise<ReadBody> {
  const tooLarge = {
    ok: false as const,
    status: 413,
    message: `the body is over ${MAX_ACTION_BODY_BYTES} bytes`,
  };
  if (Number(req.headers['content-length'] ?? 0) > MAX_ACTION_BODY_BYTES) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: ReadBody) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ACTION_BODY_BYTES) {
        req.pause();
        return finish(tooLarge);
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        finish({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch {
        finish({ ok: false, status: 400, message: 'the body is not valid JSON' });
      }
    });
    req.on('error', () => finish({ ok: false, status: 400, message: 'the body could not be read' }));
    req.on('close', () => finish({ ok: false, status: 400, message: 'the body did not arrive whole' }));
  });
}
