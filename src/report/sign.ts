import { EVENT_ID_HEADER } from '../signature/index.js';
import { shellQuote } from './format.js';
import type { Output } from './output.js';

/** What `sign` made: the signature over the body and the headers a delivery of it carries. */
export interface SignResult {
  signature: string;
  body: Buffer;
  headers: Record<string, string>;
  /** The body's event id, when it is an event (else no event-id header). */
  eventId?: string;
}

/** The NDJSON `signature` record (documented; keep it stable). */
export function signatureRecord(r: SignResult) {
  return { type: 'signature', signature: r.signature, bytes: r.body.length, headers: r.headers };
}

/** A curl command sending the body with the headers; a file is referenced as `@file`, not inlined. */
export function signCurlCommand(r: SignResult, url: string, file: string | undefined): string {
  const parts = ['curl', '-sS', '-X', 'POST', shellQuote(url)];
  for (const [k, v] of Object.entries(r.headers)) parts.push('-H', shellQuote(`${k}: ${v}`));
  parts.push('--data-binary', file !== undefined ? shellQuote(`@${file}`) : shellQuote(r.body.toString('utf8')));
  return parts.join(' ');
}

/** The signature alone, the header set (`headers`), or a curl command (`curl`: the target URL). */
export function printSignature(
  out: Output,
  r: SignResult,
  show: { headers?: boolean; curl?: { url: string; file?: string } },
): void {
  out.record(signatureRecord(r));
  if (show.curl) out.line(signCurlCommand(r, show.curl.url, show.curl.file));
  else if (show.headers) for (const [k, v] of Object.entries(r.headers)) out.line(`${k}: ${v}`);
  else out.line(r.signature);
  if (!r.eventId && (show.headers || show.curl))
    out.note(`note: the body has no string "id", so there is no ${EVENT_ID_HEADER} header`);
}
