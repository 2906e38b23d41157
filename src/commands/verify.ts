import { parseHeader } from '../delivery/request.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { isRedactedWithoutRaw, signedBody } from '../receiver/capture.js';
import { readCaptureFile } from '../receiver/capture-file.js';
import { createOutput } from '../report/output.js';
import { printVerdict } from '../report/verify.js';
import { resolveSecret } from '../secret.js';
import { SIGNATURE_FIELD, SIGNATURE_HEADER } from '../signature/index.js';
import { HttpRequestParseError, parseHttpRequest, type HeaderList } from '../verify/http-request.js';
import type { ShapeHeaders } from '../verify/shape.js';
import { verifyWebhook } from '../verify/verdict.js';
import { findDeepNesting, MAX_JSON_DEPTH } from '../events/json.js';
import { compareWithListen } from '../verify/listen-verdict.js';
import { readInput } from './shared.js';

export interface VerifyOptions {
  /** A capture file written by `listen --save`. */
  capture?: string;
  /** A raw HTTP request saved as text (`-` for stdin). */
  request?: string;
  /** The exact body bytes (`-` for stdin). */
  payload?: string;
  /** The FaceSign-Signature value, with --payload. */
  signature?: string;
  /** `Name: value` headers, with --payload; repeatable. */
  header?: string[];
  secret?: string;
  strict?: boolean;
  json?: boolean;
}

type Source = 'capture' | 'request' | 'payload';

/** What to read, decided from the flags alone (no I/O), or a usage error naming the conflict. */
export interface VerifyPlan {
  source: Source;
  path: string;
  signature?: string;
  headers: HeaderList;
}

export function planVerify(options: VerifyOptions): VerifyPlan {
  const given = (['capture', 'request', 'payload'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw usageError(
      given.length === 0
        ? 'nothing to verify'
        : `give one input, not ${given.map((k) => (k === 'capture' ? 'a capture file' : `--${k}`)).join(' and ')}`,
      'verify CAPTURE.json, verify --request FILE.http, or verify --payload FILE --signature HEX',
    );
  }
  const source = given[0]!;
  const headerFlags = options.header ?? [];
  if (source !== 'payload' && (options.signature !== undefined || headerFlags.length > 0)) {
    throw usageError(
      `--signature and --header go with --payload; ` +
        `a ${source === 'capture' ? 'capture' : 'raw request'} carries its own headers`,
      'edit the file, or use --payload FILE --signature HEX',
    );
  }
  const headers = headerFlags.map(parseHeader);
  if (options.signature !== undefined && headers.some(([k]) => k.toLowerCase() === SIGNATURE_FIELD)) {
    throw usageError(`both --signature and --header "${SIGNATURE_HEADER}: …" given`, 'pass the signature once');
  }
  return { source, path: options[source]!, signature: options.signature, headers };
}

interface ReadInput {
  body: Buffer;
  headers?: ShapeHeaders;
  signature?: string;
  method?: string;
  notes: string[];
  /** A capture's verdict from `listen`, as stored in the file (unchecked shape). */
  listen?: unknown;
}

function readCapture(path: string): ReadInput {
  const capture = readCaptureFile(path);
  if (capture.body_discarded) {
    throw usageError(
      `"${path}" has no body to verify: the receiver discarded it (${capture.body_bytes} bytes, over its size cap)`,
      "raise the receiver's body limit and capture the delivery again",
    );
  }
  if (isRedactedWithoutRaw(capture)) {
    // Not a mismatch to diagnose: the bytes that were signed are simply not in the file.
    throw new CliError(
      `"${path}": this capture is redacted (listen --redact): its body is not the signed bytes; ` +
        'use --keep-raw captures to verify',
      { exitCode: EXIT.failed, hint: 'run listen with --keep-raw (or --no-redact) to keep the received bytes' },
    );
  }
  const raw = Array.isArray(capture.raw_headers)
    ? capture.raw_headers.filter((h) => Array.isArray(h) && h.length === 2)
    : undefined;
  const list: HeaderList = raw
    ? raw.map(([k, v]) => [String(k), String(v)])
    : Object.entries(capture.headers ?? {}).map(([k, v]) => [k, String(v)]);
  return {
    body: signedBody(capture),
    headers: { list, complete: true },
    method: typeof capture.method === 'string' ? capture.method : undefined,
    notes: capture.redacted
      ? ['the capture is redacted: its raw bytes (raw_body_base64, --keep-raw) were verified']
      : [],
    listen: capture.verdict,
  };
}

function readRequest(path: string): ReadInput {
  const bytes = readInput(path, 'request');
  const source = path === '-' ? '<stdin>' : path;
  try {
    const req = parseHttpRequest(bytes);
    return { body: req.body, headers: { list: req.headers, complete: true }, method: req.method, notes: req.notes };
  } catch (err) {
    if (err instanceof HttpRequestParseError) {
      throw usageError(
        `${source} is not a raw HTTP request: ${err.message}`,
        'save the request as text: request line, headers, a blank line, then the body',
      );
    }
    throw err;
  }
}

function readVerifyInput(plan: VerifyPlan): ReadInput {
  const input = readOneInput(plan);
  const name = plan.path === '-' ? '<stdin>' : `"${plan.path}"`;
  if (plan.source === 'payload' && input.body.length === 0) {
    throw usageError(
      `the payload ${name} is empty (0 bytes)`,
      'FaceSign never sends an empty body; pass the exact body bytes that were received',
    );
  }
  // A body nested this deep is no FaceSign event, and would overflow the stack when re-serialized.
  if (findDeepNesting(input.body.toString('utf8')) !== undefined) {
    throw usageError(
      `${name}: the body is JSON nested more than ${MAX_JSON_DEPTH} levels deep`,
      'a FaceSign event is a few levels deep; check that this is the right input',
    );
  }
  return input;
}

function readOneInput(plan: VerifyPlan): ReadInput {
  if (plan.source === 'capture') return readCapture(plan.path);
  if (plan.source === 'request') return readRequest(plan.path);
  const body = readInput(plan.path, 'payload');
  return {
    body,
    headers: plan.headers.length > 0 ? { list: plan.headers, complete: false } : undefined,
    signature: plan.signature,
    notes: [],
  };
}

/** `verify`: checks one received webhook's signature and shape, and explains a failure. */
export async function runVerify(options: VerifyOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const plan = planVerify(options);
  const input = readVerifyInput(plan);
  const secret = await resolveSecret(options.secret);
  const verdict = verifyWebhook({
    body: input.body,
    headers: input.headers,
    signature: input.signature,
    method: input.method,
    secret,
    strict: options.strict,
    inputNotes: input.notes,
  });
  const listen = plan.source === 'capture' ? compareWithListen(input.listen, verdict) : undefined;
  printVerdict(out, verdict, { source: plan.source, input: plan.path, listen });
  if (plan.source === 'payload' && verdict.signature.reason === 'missing') {
    out.note(`hint: pass the signature with --signature HEX or --header "${SIGNATURE_HEADER}: HEX"`);
  }
  return verdict.ok ? EXIT.ok : EXIT.failed;
}
