import type { DeliveryResult } from '../delivery/deliver.js';
import type { WebhookRequest } from '../delivery/request.js';
import { displayUrl, urlCredentials, withoutCredentials } from '../delivery/target.js';
import { formatMs, isoTime, roundTo, shellQuote } from './format.js';
import type { Output } from './output.js';
import { previewBody, safeText } from './text.js';

/** The NDJSON shape of one delivery (documented in the README; keep it stable). */
export function deliveryRecord(
  req: WebhookRequest,
  res: DeliveryResult,
  extra: { met: boolean; expected: string; repeat?: number },
) {
  return {
    type: 'delivery',
    event_type: req.eventType,
    event_id: req.eventId,
    session_id: req.sessionId ?? null,
    url: displayUrl(req.url),
    signature_mode: req.signatureMode,
    repeat: extra.repeat ?? 1,
    status: res.status ?? null,
    ok: res.ok,
    expected: extra.expected,
    met: extra.met,
    latency_ms: roundTo(res.latencyMs),
    response_body: res.responseBody ?? null,
    response_truncated: res.truncated,
    location: res.location ?? null,
    error: res.error ?? null,
    started_at: isoTime(res.startedAt),
  };
}

/**
 * What came back, in a few words: `200 "OK"`, `302 redirect to /login (not followed)`, or the
 * network error; with `expected`, a miss says what was wanted (`200 "OK", expected 201`). Every
 * part the endpoint chose (body, Location, error detail) is escaped for the terminal.
 */
export function describeResponse(out: Output, res: DeliveryResult, expected?: string): string {
  const { c } = out;
  const miss = expected !== undefined ? c.red(`, expected ${expected}`) : '';
  // A network error already says it failed; only an unusual expectation is worth repeating.
  if (res.error) {
    const unusual = expected !== undefined && expected !== '2xx';
    return `${c.red(safeText(res.error.message))}${unusual ? c.dim(` (expected ${expected})`) : ''}`;
  }
  const status = res.status ?? 0;
  const colour = status >= 200 && status < 300 ? c.green : status >= 300 && status < 400 ? c.yellow : c.red;
  let text = colour(String(status));
  if (res.location !== undefined) text += ` redirect to ${safeText(res.location)} ${c.dim('(not followed)')}`;
  else if (status >= 300 && status < 400) text += ` redirect ${c.dim('(not followed)')}`;
  const body = previewBody(res.responseBody);
  if (body) text += ` ${c.dim(body)}`;
  if (res.truncated) text += c.dim(' (body truncated at 64 KiB)');
  return text + miss;
}

export function printDelivery(
  out: Output,
  req: WebhookRequest,
  res: DeliveryResult,
  extra: { met: boolean; expected: string; repeat?: number; repeatOf?: number; showUrl?: boolean },
): void {
  out.record(deliveryRecord(req, res, extra));
  const { c } = out;
  const mark = extra.met ? c.green('✔') : c.red('✘');
  const mode = req.signatureMode === 'valid' ? '' : c.magenta(` [signature ${req.signatureMode}]`);
  const rep = extra.repeatOf && extra.repeatOf > 1 ? c.dim(` #${extra.repeat}/${extra.repeatOf}`) : '';
  const response = describeResponse(out, res, extra.met ? undefined : extra.expected);
  // With per-type routes the deliveries of one run go to several places: each line says where.
  const to = extra.showUrl ? ` ${c.dim('to')} ${safeText(displayUrl(req.url))}` : '';
  out.line(
    `${mark} ${c.bold(safeText(req.eventType))} ${c.dim(safeText(req.eventId))}${to}${mode}${rep} → ` +
      `${response} ${c.dim(formatMs(res.latencyMs))}`,
  );
}

/**
 * The Basic auth `deliver` adds from the URL's `user:password@` (unless an Authorization header is
 * given), shown without the password.
 */
function urlAuthShown(req: WebhookRequest): string | undefined {
  const credentials = urlCredentials(req.url);
  if (!credentials || Object.keys(req.headers).some((k) => k.toLowerCase() === 'authorization')) return undefined;
  return `Basic *** (user "${credentials.user}" and the password from the URL; not shown)`;
}

/**
 * The request as it would go on the wire (for --dry-run); `--json` carries the exact text, and a
 * password in the URL is never shown.
 */
export function printRequest(out: Output, req: WebhookRequest): void {
  const auth = urlAuthShown(req);
  const headers = auth ? { ...req.headers, Authorization: auth } : req.headers;
  out.record({
    type: 'request',
    method: req.method,
    url: displayUrl(req.url),
    headers,
    body: req.body.toString('utf8'),
  });
  out.line(`${req.method} ${safeText(displayUrl(req.url))}`);
  for (const [k, v] of Object.entries(headers)) out.line(`${safeText(k)}: ${safeText(v)}`);
  out.line('');
  out.line(safeText(req.body.toString('utf8')));
}

/**
 * An equivalent curl command that sends exactly the same bytes and headers. A `user:password@`
 * in the URL becomes `-u 'user'`: curl asks for the password, which is never printed.
 */
export function curlCommand(req: WebhookRequest): string {
  const credentials = urlCredentials(req.url);
  const parts = ['curl', '-sS', '-X', req.method, shellQuote(credentials ? withoutCredentials(req.url) : req.url)];
  if (credentials) parts.push('-u', shellQuote(credentials.password ? credentials.user : `${credentials.user}:`));
  for (const [k, v] of Object.entries(req.headers)) parts.push('-H', shellQuote(`${k}: ${v}`));
  parts.push('--data-binary', shellQuote(req.body.toString('utf8')));
  return parts.join(' ');
}

/** `--dry-run` / `--curl`: prints each request (or a curl command for it) instead of sending. */
export function printPreviews(out: Output, requests: WebhookRequest[], curl: boolean): void {
  const credentials = curl ? urlCredentials(requests[0]?.url ?? '') : undefined;
  if (credentials?.password)
    out.note(
      out.ce.dim(`note: the URL's password is not printed; curl asks for it (-u '${safeText(credentials.user)}')`),
    );
  for (const req of requests) {
    if (curl) {
      out.record({ type: 'curl', event_id: req.eventId, command: curlCommand(req) });
      out.line(curlCommand(req));
    } else printRequest(out, req);
    if (requests.length > 1) out.line('');
  }
}
