import {
  bodyBytes,
  matchesHex,
  signPayload,
  trimHeaderValue,
  verifySignature,
  SIGNATURE_HEADER,
  type SignatureVerdict,
} from '../signature/index.js';

/** A change made to the body between signing and verifying, named by what undoing it does. */
export type BodyChangeId =
  | 'trailing-newline-added'
  | 'trailing-newline-removed'
  | 'lf-to-crlf'
  | 'crlf-to-lf'
  | 'bom-added'
  | 'bom-removed'
  | 'json-reserialized';

export type JsonForm = 'compact' | '2-space' | '4-space' | 'tab';

export interface BodyChange {
  id: BodyChangeId;
  /** For `json-reserialized`: how the signed JSON was written. */
  signedForm?: JsonForm;
  /** What happened to the body, in one sentence. */
  message: string;
  /** What to change in the receiving code. */
  fix: string;
}

export interface SecretHint {
  id: 'secret-whitespace' | 'secret-quoted';
  /** True when the cleaned-up secret makes the signature match. */
  matches: boolean;
  message: string;
}

export interface SignatureDiagnosis extends SignatureVerdict {
  /** The signature the secret gives for the body as it is (lowercase hex); absent without a secret. */
  expected?: string;
  /** The body change that explains a mismatch, when one does. */
  cause?: BodyChange;
  /** A likely problem with the secret, when no body change explains the mismatch. */
  secretHint?: SecretHint;
  /** What to do about it, in one or two sentences; absent when valid. */
  fix?: string;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const LF = 0x0a;
const CR = 0x0d;
const CRLF = Buffer.from('\r\n');

const RAW_BODY_FIX =
  'verify the raw body bytes exactly as they arrived, before any parsing: ' +
  "in Express use express.raw({ type: 'application/json' }) on the webhook route (ahead of express.json()) " +
  'and pass the Buffer req.body to the HMAC';

const FIXES: Record<BodyChangeId, string> = {
  'trailing-newline-added':
    'something appended a newline after signing ' +
    `(a file saved by an editor, echo instead of printf, a proxy or logging middleware); ${RAW_BODY_FIX}`,
  'trailing-newline-removed': `something trimmed the body (a .trim(), a text reader, a proxy); ${RAW_BODY_FIX}`,
  'lf-to-crlf':
    "line endings were rewritten on the way (a proxy, a text-mode write, git's autocrlf); " +
    `keep the body binary: ${RAW_BODY_FIX}`,
  'crlf-to-lf':
    "line endings were rewritten on the way (a proxy, a text-mode read, git's autocrlf); " +
    `keep the body binary: ${RAW_BODY_FIX}`,
  'bom-added': `a text writer added a byte-order mark (PowerShell's Out-File, some editors); ${RAW_BODY_FIX}`,
  'bom-removed':
    "a text decoder dropped the byte-order mark (TextDecoder and fs.readFile(…, 'utf8') do); " + RAW_BODY_FIX,
  'json-reserialized':
    'the receiving code verified re-serialized JSON (e.g. JSON.stringify(req.body) after express.json()), ' +
    `which is not byte-identical to what was signed; ${RAW_BODY_FIX}`,
};

const FORM_WORDS: Record<JsonForm, string> = {
  compact: 'compactly (no whitespace)',
  '2-space': 'with 2-space indentation',
  '4-space': 'with 4-space indentation',
  tab: 'with tab indentation',
};

const REASON_FIXES: Partial<Record<NonNullable<SignatureVerdict['reason']>, string>> = {
  missing:
    `FaceSign always sends ${SIGNATURE_HEADER}: a proxy stripped it or the request did not come from FaceSign; ` +
    "answer 400, and read it as req.headers['facesign-signature'] (Node lowercases header names)",
  malformed:
    'reject it before comparing: crypto.timingSafeEqual throws a RangeError when the lengths differ, ' +
    'so a receiver that compares first answers 500 instead of 400; check /^[0-9a-f]{64}$/ first',
  prefixed:
    'FaceSign signs with bare lowercase hex, not GitHub\'s "sha256=<hex>"; ' +
    'whoever made this request should send the hex alone, and your receiver should not strip or expect a prefix',
  uppercase:
    "FaceSign signs with lowercase hex (digest('hex')); whoever made this request upper-cased it; " +
    'compare the decoded bytes, or the lowercase string',
  'no-secret': 'pass the endpoint secret with --secret or FACESIGN_WEBHOOK_SECRET',
};

/** One candidate for the bytes that were signed, and the change it undoes. */
export interface BodyCandidate {
  change: Omit<BodyChange, 'fix' | 'message'>;
  bytes: Buffer;
}

function endsWithNewline(body: Buffer): boolean {
  return body.length > 0 && body[body.length - 1] === LF;
}

/** Rewrites line endings byte by byte (no string round trip: bodies can be several MiB). */
function rewriteLineEndings(body: Buffer, to: 'lf' | 'crlf'): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = body.indexOf(LF); i >= 0; i = body.indexOf(LF, i + 1)) {
    const afterCr = i > 0 && body[i - 1] === CR;
    if (to === 'lf' && afterCr) {
      parts.push(body.subarray(start, i - 1));
      start = i;
    } else if (to === 'crlf' && !afterCr) {
      parts.push(body.subarray(start, i), CRLF);
      start = i + 1;
    }
  }
  parts.push(body.subarray(start));
  return Buffer.concat(parts);
}

/** The body without its trailing run of CR and LF bytes. */
function trimTrailingNewlines(body: Buffer): Buffer {
  let end = body.length;
  while (end > 0 && (body[end - 1] === LF || body[end - 1] === CR)) end--;
  return body.subarray(0, end);
}

function parseJson(body: Buffer): unknown {
  const bytes = body.subarray(0, 3).equals(BOM) ? body.subarray(3) : body;
  // Skip decoding bodies (possibly MiB of binary) that cannot start a JSON text.
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === LF || bytes[i] === CR)) i++;
  if (i === bytes.length || !'{["-0123456789tfn'.includes(String.fromCharCode(bytes[i]!))) return undefined;
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The usual ways a body changes between signing and verifying, each undone: plan only, no HMAC.
 * Candidates identical to the body (or to an earlier candidate) are left out.
 */
export function planBodyCandidates(body: Uint8Array): BodyCandidate[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: BodyCandidate[] = [];
  const add = (change: BodyCandidate['change'], bytes: Buffer) => {
    if (!bytes.equals(buf) && !out.some((c) => c.bytes.equals(bytes))) out.push({ change, bytes });
  };
  if (endsWithNewline(buf)) {
    const one = buf.length > 1 && buf[buf.length - 2] === CR ? 2 : 1;
    add({ id: 'trailing-newline-added' }, buf.subarray(0, buf.length - one));
    add({ id: 'trailing-newline-added' }, trimTrailingNewlines(buf));
  }
  add({ id: 'trailing-newline-removed' }, Buffer.concat([buf, Buffer.from('\n')]));
  add({ id: 'trailing-newline-removed' }, Buffer.concat([buf, CRLF]));
  if (buf.includes(CRLF)) add({ id: 'lf-to-crlf' }, rewriteLineEndings(buf, 'lf'));
  if (buf.includes(LF)) add({ id: 'crlf-to-lf' }, rewriteLineEndings(buf, 'crlf'));
  if (buf.subarray(0, 3).equals(BOM)) add({ id: 'bom-added' }, buf.subarray(3));
  else add({ id: 'bom-removed' }, Buffer.concat([BOM, buf]));
  const parsed = parseJson(buf);
  if (parsed !== undefined) {
    const forms: [JsonForm, string | number | undefined][] = [
      ['compact', undefined],
      ['2-space', 2],
      ['4-space', 4],
      ['tab', '\t'],
    ];
    for (const [form, indent] of forms) {
      let text: string;
      try {
        text = JSON.stringify(parsed, null, indent);
      } catch {
        break; // nested too deep to serialize again: no re-serialized form to try
      }
      add({ id: 'json-reserialized', signedForm: form }, Buffer.from(text, 'utf8'));
      add({ id: 'json-reserialized', signedForm: form }, Buffer.from(`${text}\n`, 'utf8'));
    }
  }
  return out;
}

function describeChange(change: BodyCandidate['change']): BodyChange {
  const message: Record<BodyChangeId, string> = {
    'trailing-newline-added': 'the body ends with a line break that was not signed: without it, the signature matches',
    'trailing-newline-removed':
      'the signed body ended with a line break that this body lacks: with it, the signature matches',
    'lf-to-crlf': 'the line endings were changed to CRLF after signing: with LF line endings, the signature matches',
    'crlf-to-lf': 'the line endings were changed to LF after signing: with CRLF line endings, the signature matches',
    'bom-added':
      'the body starts with a UTF-8 byte-order mark (EF BB BF) that was not signed: without it, the signature matches',
    'bom-removed':
      'the signed body started with a UTF-8 byte-order mark that this body lacks: with it, the signature matches',
    'json-reserialized':
      'the JSON was re-serialized after signing: ' +
      `the same JSON written ${FORM_WORDS[change.signedForm ?? 'compact']} matches the signature`,
  };
  return { ...change, message: message[change.id], fix: FIXES[change.id] };
}

/** Which of the usual body changes explains a signature that does not match; undefined if none. */
export function findBodyChange(body: Uint8Array, hex: string, secret: string): BodyChange | undefined {
  for (const candidate of planBodyCandidates(body)) {
    if (matchesHex(candidate.bytes, hex, secret)) return describeChange(candidate.change);
  }
  return undefined;
}

/** A secret with surrounding whitespace or quotes is a classic copy-paste slip; try it cleaned up. */
export function findSecretHint(body: Uint8Array, hex: string, secret: string): SecretHint | undefined {
  const trimmed = secret.trim();
  const unquoted = trimmed.replace(/^(['"])([\s\S]*)\1$/, '$2');
  if (trimmed !== secret) {
    const matches =
      trimmed !== '' && (matchesHex(body, hex, trimmed) || (unquoted !== '' && matchesHex(body, hex, unquoted)));
    return {
      id: 'secret-whitespace',
      matches,
      message: matches
        ? 'the secret has leading or trailing whitespace (a newline from echo or a .env file?): ' +
          'without it, the signature matches'
        : 'the secret has leading or trailing whitespace (a newline from echo or a .env file?); ' +
          'check it, though trimming it does not make the signature match either',
    };
  }
  if (/^['"]|['"]$/.test(secret)) {
    const stripped = unquoted !== secret ? unquoted : secret.replace(/^['"]|['"]$/g, '');
    const matches = stripped !== '' && matchesHex(body, hex, stripped);
    return {
      id: 'secret-quoted',
      matches,
      message: matches
        ? 'the secret includes quote characters (copied with its quotes from a .env file or shell?): ' +
          'without them, the signature matches'
        : 'the secret starts or ends with a quote character (copied with its quotes?); ' +
          'check it, though removing them does not make the signature match either',
    };
  }
  return undefined;
}

/** The hex a prefixed or uppercase signature carries, when it is 64 hex characters. */
function normalizedHex(signature: unknown): string | undefined {
  const value = Array.isArray(signature) && signature.length === 1 ? signature[0] : signature;
  if (typeof value !== 'string') return undefined;
  const hex = trimHeaderValue(value)
    .replace(/^sha256=/i, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

/**
 * `verifySignature`, and on failure the explanation: which usual body change (trailing newline,
 * line endings, byte-order mark, re-serialized JSON) makes the signature match, or whether the
 * secret looks mangled, and what to fix. Never throws on untrusted input.
 */
export function diagnoseSignature(
  rawBody: Uint8Array | string,
  signature: unknown,
  secret: string,
): SignatureDiagnosis {
  const verdict = verifySignature(rawBody, signature, secret);
  const body = bodyBytes(rawBody);
  if (body === undefined || typeof secret !== 'string' || secret === '') {
    return { ...verdict, fix: verdict.ok ? undefined : REASON_FIXES[verdict.reason ?? 'no-secret'] };
  }
  const expected = signPayload(body, secret);
  if (verdict.ok) return { ...verdict, expected };
  const diagnosis: SignatureDiagnosis = { ...verdict, expected, fix: REASON_FIXES[verdict.reason ?? 'mismatch'] };
  const hex = normalizedHex(signature);
  const searchable =
    verdict.reason === 'mismatch' ||
    ((verdict.reason === 'prefixed' || verdict.reason === 'uppercase') && !verdict.wouldMatch);
  if (hex === undefined || !searchable) return diagnosis;
  const cause = findBodyChange(body, hex, secret);
  if (cause) {
    diagnosis.cause = cause;
    if (verdict.reason === 'mismatch') diagnosis.fix = cause.fix;
    return diagnosis;
  }
  diagnosis.secretHint = findSecretHint(body, hex, secret);
  if (verdict.reason === 'mismatch') {
    diagnosis.message = 'signature does not match: the secret or the body differs from what was signed';
    diagnosis.fix = diagnosis.secretHint?.matches
      ? 'clean up the secret where your code reads it ' +
        `(${diagnosis.secretHint.id === 'secret-quoted' ? 'drop the quotes' : 'trim it'})`
      : "check that the receiver uses this endpoint's secret (each endpoint has its own), " +
        'and that nothing altered the body after it was signed';
  }
  return diagnosis;
}
