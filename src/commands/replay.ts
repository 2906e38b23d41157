import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deliver, DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { parseExpectation } from '../delivery/expect.js';
import { validateHeaders, type SignatureMode, type WebhookRequest } from '../delivery/request.js';
import { resolveTarget } from '../delivery/target.js';
import { EXIT, usageError } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import { captureBody, readCaptureFile, type Capture } from '../receiver/capture.js';
import { deliveryRecord, describeResponse } from '../report/delivery.js';
import { createOutput, formatMs, type Output } from '../report/output.js';
import { safeText } from '../report/text.js';
import { normalizeEventType } from '../events/types.js';
import { unknownTypeHint } from '../events/suggest.js';
import { resolveSecret } from '../secret.js';
import { signPayload, EVENT_ID_FIELD, SIGNATURE_FIELD, SIGNATURE_HEADER } from '../signature/index.js';
import { timeoutFlag, tlsOptionsFrom } from './shared.js';

export interface ReplayOptions {
  /** A capture file or a directory of them. */
  capture: string;
  to?: string;
  resign?: boolean;
  /** With --resign, also sign captures whose original signature listen did not find valid. */
  resignAll?: boolean;
  /** Listen's outcomes to pick (accepted, duplicate, rejected, fault); comma lists, repeatable. */
  only?: string[];
  /** Event types to pick (short names accepted); comma lists, repeatable. */
  type?: string[];
  /** Event ids to pick; comma lists, repeatable. */
  eventId?: string[];
  secret?: string;
  timeout?: number;
  expect?: string;
  json?: boolean;
  insecure?: boolean;
  ca?: string;
}

export interface ReplayItem {
  file: string;
  capture: Capture;
  request: WebhookRequest;
  /** Signed again for this replay (false: the captured signature is sent). */
  resigned: boolean;
}

/** Headers the HTTP client sets itself (or that describe the old connection), so never replayed. */
const CONNECTION_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-connection',
]);

/** The capture files a path names: the file itself, or a directory's `*.json` files (temp files skipped). */
export function listCaptureFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw usageError(
      `cannot read captures from "${path}": no such file or directory`,
      'pass a capture file or the directory given to `listen --save`',
    );
  }
  if (!isDir) return [path];
  const files = readdirSync(path)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0)
    throw usageError(`no capture files (*.json) in "${path}"`, 'captures are written by `listen --save DIR`');
  return files;
}

/** The captured headers to resend, names as received and in order; repeated names joined. */
export function replayHeaders(capture: Capture): Record<string, string> {
  const source: [string, string][] = Array.isArray(capture.raw_headers)
    ? capture.raw_headers
    : Object.entries(capture.headers ?? {});
  const out: Record<string, string> = {};
  const nameOf = new Map<string, string>();
  for (const [name, value] of source) {
    const lower = name.toLowerCase();
    if (CONNECTION_HEADERS.has(lower)) continue;
    const existing = nameOf.get(lower);
    if (existing !== undefined) out[existing] = `${out[existing]}, ${value}`;
    else {
      nameOf.set(lower, name);
      out[name] = value;
    }
  }
  return out;
}

function signatureModeOf(capture: Capture, resigned: boolean): SignatureMode {
  if (resigned) return 'valid';
  switch (capture.verdict?.signature) {
    case 'missing':
      return 'missing';
    case 'mismatch':
      return 'invalid';
    case 'malformed':
    case 'prefixed':
    case 'uppercase':
      return 'malformed';
    default:
      return 'valid';
  }
}

/** True when listen found the capture's signature valid: only those are signed again by plain --resign. */
export function hadValidSignature(capture: Capture): boolean {
  return capture.verdict?.signature === 'valid';
}

/**
 * Turns captures into the exact requests to resend: the captured bytes and headers, signed again
 * only with `resignWith`, and then only those whose original signature listen found valid (a
 * tampered or unsigned capture stays as it was) unless `resignAll`. Sorted in arrival order. Pure.
 */
export function planReplay(
  captures: { file: string; capture: Capture }[],
  options: { url: string; resignWith?: string; resignAll?: boolean },
): ReplayItem[] {
  const ordered = [...captures].sort(
    (a, b) =>
      String(a.capture.received_at ?? '').localeCompare(String(b.capture.received_at ?? '')) ||
      (a.capture.sequence ?? 0) - (b.capture.sequence ?? 0) ||
      a.file.localeCompare(b.file),
  );
  return ordered.map(({ file, capture }) => {
    const body = captureBody(capture);
    const headers = replayHeaders(capture);
    // A capture file is input like any other: its headers go on the wire only if they are valid HTTP.
    validateHeaders(headers, `capture file "${file}"`);
    const resigned = options.resignWith !== undefined && (options.resignAll === true || hadValidSignature(capture));
    if (resigned) {
      const name = Object.keys(headers).find((k) => k.toLowerCase() === SIGNATURE_FIELD) ?? SIGNATURE_HEADER;
      headers[name] = signPayload(body, options.resignWith!);
    }
    const v = capture.verdict;
    return {
      file,
      capture,
      resigned,
      request: {
        url: options.url,
        method: 'POST',
        headers,
        body,
        eventId:
          v?.event_id ??
          headers[Object.keys(headers).find((k) => k.toLowerCase() === EVENT_ID_FIELD) ?? ''] ??
          '(no event id)',
        eventType: v?.event_type ?? '(no type)',
        sessionId: v?.session_id ?? undefined,
        signatureMode: signatureModeOf(capture, resigned),
      },
    };
  });
}

export const REPLAY_OUTCOMES = ['accepted', 'duplicate', 'rejected', 'fault'] as const;

/** Which captures to replay: listen's outcomes, event types, event ids (each list empty = any). */
export interface ReplayFilter {
  outcomes: string[];
  types: string[];
  eventIds: string[];
}

const splitList = (values: string[] | undefined) =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');

/**
 * Reads `--only`, `--type` and `--event-id` into a filter. A type may be a short name; an unknown
 * one is a usage error with the nearest name, unless a capture carries exactly that type.
 */
export function planReplayFilter(
  options: Pick<ReplayOptions, 'only' | 'type' | 'eventId'>,
  captures: { capture: Capture }[],
): ReplayFilter {
  const outcomes = splitList(options.only).map((o) => o.toLowerCase());
  for (const o of outcomes) {
    if (!(REPLAY_OUTCOMES as readonly string[]).includes(o)) {
      throw usageError(
        `bad --only "${o}": not one of listen's verdicts`,
        `use ${REPLAY_OUTCOMES.join(', ')} (comma-separated or repeated)`,
      );
    }
  }
  const captured = new Set(
    captures.map((c) => c.capture.verdict?.event_type).filter((t): t is string => typeof t === 'string'),
  );
  const types = splitList(options.type).map((name) => {
    const known = normalizeEventType(name);
    if (known) return known;
    if (captured.has(name)) return name;
    throw usageError(`unknown event type "${name}" in --type`, unknownTypeHint(name));
  });
  return { outcomes, types, eventIds: splitList(options.eventId) };
}

export function matchesReplayFilter(capture: Capture, filter: ReplayFilter): boolean {
  const v = capture.verdict;
  if (filter.outcomes.length > 0 && !filter.outcomes.includes(String(v?.outcome))) return false;
  if (filter.types.length > 0 && !filter.types.includes(String(v?.event_type))) return false;
  if (filter.eventIds.length > 0 && !filter.eventIds.includes(String(v?.event_id))) return false;
  return true;
}

function describeFilter(filter: ReplayFilter): string {
  const parts: string[] = [];
  if (filter.outcomes.length) parts.push(`--only ${filter.outcomes.join(',')}`);
  if (filter.types.length) parts.push(`--type ${filter.types.join(',')}`);
  if (filter.eventIds.length) parts.push(`--event-id ${filter.eventIds.join(',')}`);
  return parts.join(' ');
}

/** `3 accepted, 1 rejected; session.created ×2, session.failed ×2`: what a set of captures holds. */
export function describeCaptures(captures: { capture: Capture }[]): string {
  const count = (key: (c: Capture) => string) => {
    const n = new Map<string, number>();
    for (const { capture } of captures) n.set(key(capture), (n.get(key(capture)) ?? 0) + 1);
    return [...n];
  };
  const outcomes = count((c) => String(c.verdict?.outcome ?? 'no verdict')).map(([k, n]) => `${n} ${k}`);
  const types = count((c) => String(c.verdict?.event_type ?? '(no type)')).map(([k, n]) => `${k} ×${n}`);
  return `${outcomes.join(', ')}; ${types.join(', ')}`;
}

/** Statuses that say "your signature is wrong" rather than "wrong path" (404) or "too large" (413). */
const SIGNATURE_REJECTIONS = new Set([400, 401, 403]);

/**
 * The one hint a replay may end with: captures listen accepted came back 4xx, so the target checks
 * them with another secret, which `--resign` fixes. Undefined when nothing points at that.
 */
export function resignHint(results: { item: ReplayItem; status: number | undefined }[]): string | undefined {
  const valid = results.filter((r) => !r.item.resigned && hadValidSignature(r.item.capture));
  const rejected = valid.filter((r) => r.status !== undefined && SIGNATURE_REJECTIONS.has(r.status));
  if (rejected.length === 0) return undefined;
  const statuses = [...new Set(rejected.map((r) => r.status))].join('/');
  return `the target rejects the captured signatures (${statuses} to ${rejected.length} of ${valid.length} that listen accepted): its secret differs from the one these were signed with — add --resign --secret <the target's secret> (or set FACESIGN_WEBHOOK_SECRET) to sign them again`;
}

function noteKeptSignatures(out: Output, items: ReplayItem[]): void {
  const kept = items.filter((i) => !i.resigned);
  if (kept.length === 0) return;
  const shown = kept
    .slice(0, 3)
    .map((i) => `${safeText(basename(i.file))}: ${safeText(i.capture.verdict?.signature ?? 'no verdict')}`);
  const more = kept.length > 3 ? `, and ${kept.length - 3} more` : '';
  out.note(
    out.ce.yellow(
      `note: ${kept.length} ${kept.length === 1 ? 'capture keeps its' : 'captures keep their'} captured signature, since listen did not find it valid (${shown.join(', ')}${more}); add --resign-all to sign ${kept.length === 1 ? 'it' : 'them'} too`,
    ),
  );
}

export async function runReplay(options: ReplayOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const expect = parseExpectation(options.expect);
  const timeoutMs = timeoutFlag(options.timeout, DEFAULT_TIMEOUT_MS);
  const url = resolveTarget(options.to);
  const files = listCaptureFiles(options.capture);
  const captures: { file: string; capture: Capture }[] = [];
  for (const file of files) {
    const capture = readCaptureFile(file);
    const name = safeText(basename(file));
    // Only deliveries can be replayed: a GET or a body the receiver threw away has nothing to resend.
    if (capture.method !== 'POST')
      out.note(out.ce.yellow(`skipped ${name}: a ${safeText(capture.method)} request, not a delivery`));
    else if (capture.body_discarded)
      out.note(out.ce.yellow(`skipped ${name}: its body was over the receiver's cap and was not kept`));
    else captures.push({ file, capture });
  }
  if (captures.length === 0)
    throw usageError(
      `nothing to replay in "${options.capture}"`,
      'only POST deliveries with their body kept can be replayed',
    );
  const filter = planReplayFilter(options, captures);
  const selected = captures.filter(({ capture }) => matchesReplayFilter(capture, filter));
  if (selected.length === 0) {
    throw usageError(
      `no capture in "${options.capture}" matches ${describeFilter(filter)}`,
      `the ${captures.length} there: ${describeCaptures(captures)}`,
    );
  }
  const resign = options.resign === true || options.resignAll === true;
  if (options.secret !== undefined && !resign)
    out.note(out.ce.yellow('note: --secret is only used with --resign; sending the captured signatures'));
  const resignWith = resign ? await resolveSecret(options.secret) : undefined;
  const items = planReplay(selected, { url, resignWith, resignAll: options.resignAll });
  if (resignWith !== undefined) noteKeptSignatures(out, items);

  const tls = tlsOptionsFrom(options, out.note);
  const interrupt = watchInterrupt();
  const results: { item: ReplayItem; status: number | undefined }[] = [];
  let missed = 0;
  try {
    for (const item of items) {
      if (interrupt.signal.aborted) break;
      const res = await deliver(item.request, { ...tls, timeoutMs, signal: interrupt.signal });
      const met = !res.error && expect.matches(res.status);
      results.push({ item, status: res.error ? undefined : res.status });
      if (!met) missed++;
      out.record({
        ...deliveryRecord(item.request, res, { met, expected: expect.label }),
        type: 'replay',
        file: item.file,
        sequence: item.capture.sequence ?? null,
        original_status: item.capture.verdict?.status ?? null,
        resigned: item.resigned,
      });
      const { c } = out;
      const mark = met ? c.green('✔') : c.red('✘');
      const sig =
        item.request.signatureMode === 'valid'
          ? ''
          : c.magenta(` [captured signature ${safeText(item.capture.verdict?.signature ?? 'unknown')}]`);
      const what = `${c.dim(safeText(basename(item.file)))} ${c.bold(safeText(item.request.eventType))} ${c.dim(safeText(item.request.eventId))}`;
      out.line(
        `${mark} ${what}${sig} → ${describeResponse(out, res, met ? undefined : expect.label)} ${c.dim(formatMs(res.latencyMs))}`,
      );
    }
    const sent = results.length;
    const interrupted = interrupt.signal.aborted && sent < items.length;
    const resignedCount = items.filter((i) => i.resigned).length;
    out.record({
      type: 'summary',
      replayed: sent,
      total: items.length,
      selected: selected.length,
      captures: captures.length,
      met: sent - missed,
      missed,
      expected: expect.label,
      resigned: resignWith !== undefined,
      resigned_count: resignedCount,
      interrupted,
    });
    const tail = missed ? out.c.red(`${missed} did not`) : out.c.green('all did');
    const signedAgain =
      resignWith === undefined
        ? ''
        : resignedCount === items.length
          ? ' (signed again)'
          : ` (${resignedCount} signed again)`;
    const picked = selected.length < captures.length ? ` (picked from ${captures.length})` : '';
    out.line(
      `${sent} of ${items.length} replayed${picked}${signedAgain}, expected ${expect.label}: ${tail}${interrupted ? out.c.yellow(' (interrupted)') : ''}`,
    );
    const hint = resignWith === undefined ? resignHint(results) : undefined;
    if (hint) out.note(out.ce.yellow(`hint: ${hint}`));
    if (interrupted) return EXIT.interrupted;
    return missed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    interrupt.dispose();
  }
}
