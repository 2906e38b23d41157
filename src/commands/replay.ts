import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { closeSharedDispatcher, deliver, DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { parseExpectation } from '../delivery/expect.js';
import type { SignatureMode, WebhookRequest } from '../delivery/request.js';
import { resolveTarget } from '../delivery/target.js';
import { EXIT, usageError } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import { captureBody, readCaptureFile, type Capture } from '../receiver/capture.js';
import { deliveryRecord, describeResponse } from '../report/delivery.js';
import { createOutput, formatMs } from '../report/output.js';
import { resolveSecret } from '../secret.js';
import { signPayload, EVENT_ID_FIELD, SIGNATURE_FIELD, SIGNATURE_HEADER } from '../signature/index.js';
import { timeoutFlag } from './shared.js';

export interface ReplayOptions {
  /** A capture file or a directory of them. */
  capture: string;
  to?: string;
  resign?: boolean;
  secret?: string;
  timeout?: number;
  expect?: string;
  json?: boolean;
}

export interface ReplayItem {
  file: string;
  capture: Capture;
  request: WebhookRequest;
}

/** Headers the HTTP client sets itself (or that describe the old connection), so never replayed. */
const CONNECTION_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'proxy-connection']);

/** The capture files a path names: the file itself, or a directory's `*.json` files (temp files skipped). */
export function listCaptureFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw usageError(`cannot read captures from "${path}": no such file or directory`, 'pass a capture file or the directory given to `listen --save`');
  }
  if (!isDir) return [path];
  const files = readdirSync(path)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw usageError(`no capture files (*.json) in "${path}"`, 'captures are written by `listen --save DIR`');
  return files;
}

/** The captured headers to resend, names as received and in order; repeated names joined. */
export function replayHeaders(capture: Capture): Record<string, string> {
  const source: [string, string][] = Array.isArray(capture.raw_headers) ? capture.raw_headers : Object.entries(capture.headers ?? {});
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

/**
 * Turns captures into the exact requests to resend: the captured bytes and headers, signed again
 * only with `resignWith`. Sorted in arrival order. Pure.
 */
export function planReplay(captures: { file: string; capture: Capture }[], options: { url: string; resignWith?: string }): ReplayItem[] {
  const ordered = [...captures].sort(
    (a, b) =>
      String(a.capture.received_at ?? '').localeCompare(String(b.capture.received_at ?? '')) ||
      (a.capture.sequence ?? 0) - (b.capture.sequence ?? 0) ||
      a.file.localeCompare(b.file),
  );
  return ordered.map(({ file, capture }) => {
    const body = captureBody(capture);
    const headers = replayHeaders(capture);
    if (options.resignWith !== undefined) {
      const name = Object.keys(headers).find((k) => k.toLowerCase() === SIGNATURE_FIELD) ?? SIGNATURE_HEADER;
      headers[name] = signPayload(body, options.resignWith);
    }
    const v = capture.verdict;
    return {
      file,
      capture,
      request: {
        url: options.url,
        method: 'POST',
        headers,
        body,
        eventId: v?.event_id ?? headers[Object.keys(headers).find((k) => k.toLowerCase() === EVENT_ID_FIELD) ?? ''] ?? '(no event id)',
        eventType: v?.event_type ?? '(no type)',
        sessionId: v?.session_id ?? undefined,
        signatureMode: signatureModeOf(capture, options.resignWith !== undefined),
      },
    };
  });
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
    // Only deliveries can be replayed: a GET or a body the receiver threw away has nothing to resend.
    if (capture.method !== 'POST') out.note(out.ce.yellow(`skipped ${basename(file)}: a ${capture.method} request, not a delivery`));
    else if (capture.body_discarded) out.note(out.ce.yellow(`skipped ${basename(file)}: its body was over the receiver's cap and was not kept`));
    else captures.push({ file, capture });
  }
  if (captures.length === 0) throw usageError(`nothing to replay in "${options.capture}"`, 'only POST deliveries with their body kept can be replayed');
  if (options.secret !== undefined && !options.resign) out.note(out.ce.yellow('note: --secret is only used with --resign; sending the captured signatures'));
  const resignWith = options.resign ? await resolveSecret(options.secret) : undefined;
  const items = planReplay(captures, { url, resignWith });

  const interrupt = watchInterrupt();
  let sent = 0;
  let missed = 0;
  try {
    for (const item of items) {
      if (interrupt.signal.aborted) break;
      const res = await deliver(item.request, { timeoutMs, signal: interrupt.signal });
      const met = !res.error && expect.matches(res.status);
      sent++;
      if (!met) missed++;
      out.record({
        ...deliveryRecord(item.request, res, { met, expected: expect.label }),
        type: 'replay',
        file: item.file,
        sequence: item.capture.sequence ?? null,
        original_status: item.capture.verdict?.status ?? null,
        resigned: resignWith !== undefined,
      });
      const { c } = out;
      const mark = met ? c.green('✔') : c.red('✘');
      const sig = item.request.signatureMode === 'valid' ? '' : c.magenta(` [captured signature ${item.capture.verdict?.signature}]`);
      out.line(`${mark} ${c.dim(basename(item.file))} ${c.bold(item.request.eventType)} ${c.dim(item.request.eventId)}${sig} → ${describeResponse(out, res)} ${c.dim(formatMs(res.latencyMs))}`);
    }
    const interrupted = interrupt.signal.aborted && sent < items.length;
    out.record({ type: 'summary', replayed: sent, total: items.length, met: sent - missed, missed, expected: expect.label, resigned: resignWith !== undefined, interrupted });
    const tail = missed ? out.c.red(`${missed} did not`) : out.c.green('all did');
    out.line(`${sent} of ${items.length} replayed${resignWith !== undefined ? ' (signed again)' : ''}, expected ${expect.label}: ${tail}${interrupted ? out.c.yellow(' (interrupted)') : ''}`);
    if (interrupted) return EXIT.interrupted;
    return missed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    interrupt.dispose();
    await closeSharedDispatcher();
  }
}
