import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { validateHeaders, type SignatureMode, type WebhookRequest } from '../delivery/request.js';
import { usageError } from '../errors.js';
import { isRedactedWithoutRaw, signedBody, type Capture } from '../receiver/capture.js';
import { readCaptureFile } from '../receiver/capture-file.js';
import { signPayload, EVENT_ID_FIELD, SIGNATURE_FIELD, SIGNATURE_HEADER } from '../signature/index.js';

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
  /** `url`: one target, or one per event type (a project's routes). */
  options: { url: string | ((eventType: string) => string); resignWith?: string; resignAll?: boolean },
): ReplayItem[] {
  const ordered = [...captures].sort(
    (a, b) =>
      String(a.capture.received_at ?? '').localeCompare(String(b.capture.received_at ?? '')) ||
      (a.capture.sequence ?? 0) - (b.capture.sequence ?? 0) ||
      a.file.localeCompare(b.file),
  );
  return ordered.map(({ file, capture }) => {
    const body = signedBody(capture);
    const headers = replayHeaders(capture);
    // A capture file is input like any other: its headers go on the wire only if they are valid HTTP.
    validateHeaders(headers, `capture file "${file}"`);
    const resigned = options.resignWith !== undefined && (options.resignAll === true || hadValidSignature(capture));
    if (!resigned && isRedactedWithoutRaw(capture)) refuseRedacted(file, options.resignWith !== undefined);
    if (resigned) {
      const name = Object.keys(headers).find((k) => k.toLowerCase() === SIGNATURE_FIELD) ?? SIGNATURE_HEADER;
      headers[name] = signPayload(body, options.resignWith!);
    }
    const v = capture.verdict;
    const eventType = v?.event_type ?? '(no type)';
    return {
      file,
      capture,
      resigned,
      request: {
        url: typeof options.url === 'string' ? options.url : options.url(eventType),
        method: 'POST',
        headers,
        body,
        eventId:
          v?.event_id ??
          headers[Object.keys(headers).find((k) => k.toLowerCase() === EVENT_ID_FIELD) ?? ''] ??
          '(no event id)',
        eventType,
        sessionId: v?.session_id ?? undefined,
        signatureMode: signatureModeOf(capture, resigned),
      },
    };
  });
}

/** A redacted body no longer matches its signature: sent as it is, it would only test the app's rejection. */
function refuseRedacted(file: string, resigning: boolean): never {
  throw usageError(
    `cannot replay "${file}" as captured: it is redacted (listen --redact), so its body is not the signed ` +
      'bytes and its signature cannot match',
    resigning
      ? 'listen did not find its signature valid, so plain --resign leaves it as it was: add --resign-all'
      : 'add --resign to sign the redacted body again, or capture with listen --keep-raw to replay the exact bytes',
  );
}

/** A capture file that cannot be replayed, and why. */
export interface SkippedCapture {
  file: string;
  why: string;
}

/**
 * Reads capture files and keeps the ones that can be replayed: only deliveries (a POST) whose body
 * the receiver kept have something to resend.
 */
export function readReplayCaptures(
  files: string[],
  onSkip?: (skipped: SkippedCapture) => void,
): {
  captures: { file: string; capture: Capture }[];
  skipped: SkippedCapture[];
} {
  const captures: { file: string; capture: Capture }[] = [];
  const skipped: SkippedCapture[] = [];
  const skip = (file: string, why: string) => {
    skipped.push({ file, why });
    onSkip?.({ file, why });
  };
  for (const file of files) {
    const capture = readCaptureFile(file);
    if (capture.method !== 'POST') skip(file, `a ${capture.method} request, not a delivery`);
    else if (capture.body_discarded) skip(file, "its body was over the receiver's cap and was not kept");
    else captures.push({ file, capture });
  }
  return { captures, skipped };
}
