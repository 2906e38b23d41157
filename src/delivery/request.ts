import { signPayload, SIGNATURE_HEADER, EVENT_ID_HEADER } from '../signature/index.js';
import { usageError } from '../errors.js';
import { VERSION } from '../version.js';

/** How `send` signs a request; every mode but `valid` is for negative testing. */
export const SIGNATURE_MODES = ['valid', 'invalid', 'missing', 'malformed', 'tampered'] as const;
export type SignatureMode = (typeof SIGNATURE_MODES)[number];

/** The addresses FaceSign sends from (provider docs, "IP allowlisting"). */
export const FACESIGN_IPS = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'] as const;

export const USER_AGENT = `facesign-webhooks/${VERSION} (+simulator)`;

/** A fully prepared webhook request: the exact bytes and headers that go on the wire. */
export interface WebhookRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: Buffer;
  eventId: string;
  eventType: string;
  sessionId?: string;
  signatureMode: SignatureMode;
}

export interface PrepareOptions {
  url: string;
  secret: string;
  signature?: SignatureMode;
  /** Extra `Key: Value` headers (added after the FaceSign ones, and may replace them). */
  headers?: string[];
  /** `X-Forwarded-For`: `true` picks the first documented FaceSign address, a string must be one of them. */
  fromIp?: string | boolean;
  /** Where the event id came from (`--event-id`, `--set id=…`, a fixture file), named when it cannot be a header. */
  eventIdSource?: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A value as an error shows it: quoted, control characters and anything past ASCII escaped, cut at 60. */
function quoteValue(value: string): string {
  const short = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  return JSON.stringify(short).replace(/[\u007f-\uffff]/g, (ch) =>
    ch === '…' ? ch : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Why a header value cannot go on the wire, or undefined when it can. HTTP/1.1 header bytes are
 * Latin-1: a character above U+00FF would be folded into one byte (U+010D becomes 0x0D, a CR),
 * and CR, LF or NUL would end the header and forge the next ones.
 */
export function headerValueProblem(value: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      const folded = code & 0xff;
      const into =
        folded === 0x0d || folded === 0x0a
          ? ' (Latin-1 would fold it into a line break)'
          : folded === 0
            ? ' (Latin-1 would fold it into NUL)'
            : '';
      return `contains U+${hex}, above U+00FF${into}`;
    }
    if (code === 0x0d || code === 0x0a) return `contains a line break (${code === 0x0d ? 'CR' : 'LF'})`;
    if (code === 0) return 'contains a NUL byte';
    if ((code < 0x20 && code !== 0x09) || code === 0x7f)
      return `contains the control character 0x${code.toString(16).padStart(2, '0')}`;
  }
  return undefined;
}

/**
 * Throws a usage error (exit 2) naming `source` (a flag, a file) when a header the tool would
 * write is not valid HTTP: a name that is not a token, or a value `headerValueProblem` rejects.
 */
export function validateHeader(name: string, value: string, source: string): void {
  if (!TOKEN.test(name)) {
    throw usageError(
      `${source}: ${quoteValue(name)} is not a valid header name`,
      "a header name is letters, digits and !#$%&'*+-.^_`|~, with no spaces",
    );
  }
  const problem = headerValueProblem(value);
  if (problem) {
    throw usageError(
      `${source}: the ${name} header value ${quoteValue(value)} ${problem}`,
      'header values may hold no control characters (tab aside) and no characters above U+00FF',
    );
  }
}

/** `validateHeader` for each header of a request. */
export function validateHeaders(headers: Record<string, string>, source: string): void {
  for (const [name, value] of Object.entries(headers)) validateHeader(name, value, source);
}

/** Parses `"Key: Value"` into a pair, or explains the expected form. */
export function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon).trim() : '';
  if (!name || !TOKEN.test(name)) {
    throw usageError(`bad --header "${line}"`, 'write headers as "Name: value", e.g. --header "X-Request-Id: 42"');
  }
  const value = line.slice(colon + 1).trim();
  // A line break or control character would forge extra headers; the wire format forbids them.
  const problem = headerValueProblem(value);
  if (problem) {
    const breaks = /line break|fold it into a line break/.test(problem);
    throw usageError(
      `bad --header "${name}": the value ${problem}`,
      breaks
        ? 'give one header per --header, on one line'
        : 'header values may hold no control characters (tab aside) and no characters above U+00FF',
    );
  }
  return [name, value];
}

function resolveFromIp(fromIp: string | boolean): string {
  if (fromIp === true || fromIp === '') return FACESIGN_IPS[0];
  if (typeof fromIp === 'string' && (FACESIGN_IPS as readonly string[]).includes(fromIp)) return fromIp;
  throw usageError(`--from-ip "${String(fromIp)}" is not a FaceSign address`, `use one of: ${FACESIGN_IPS.join(', ')}`);
}

/** A 64-hex signature made with a secret that is certainly not the real one. */
function wrongSignature(body: Buffer, secret: string): string {
  return signPayload(body, `${secret}-not-the-endpoint-secret`);
}

/**
 * Serializes an event once and signs exactly those bytes (or, for the negative modes, signs them
 * wrongly on purpose). Pure: no I/O.
 */
export function prepareRequest(
  event: { id: string; type: string; data?: { id?: unknown } },
  options: PrepareOptions,
): WebhookRequest {
  const mode = options.signature ?? 'valid';
  if (!(SIGNATURE_MODES as readonly string[]).includes(mode)) {
    throw usageError(`unknown --signature mode "${mode}"`, `use one of: ${SIGNATURE_MODES.join(', ')}`);
  }
  const signed = Buffer.from(JSON.stringify(event), 'utf8');
  let body = signed;
  let signature: string | undefined = signPayload(signed, options.secret);
  switch (mode) {
    case 'invalid':
      signature = wrongSignature(signed, options.secret);
      break;
    case 'missing':
      signature = undefined;
      break;
    case 'malformed':
      // Not 64 hex characters: a length check must reject it before any constant-time compare.
      signature = signature.slice(0, 40) + '-malformed';
      break;
    case 'tampered':
      // Signed, then changed in transit: the amount of bytes differs, the JSON stays valid.
      body = Buffer.from(JSON.stringify({ ...event, tampered: true }), 'utf8');
      break;
  }
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    [EVENT_ID_HEADER]: String(event.id),
  };
  if (signature !== undefined) headers[SIGNATURE_HEADER] = signature;
  if (options.fromIp !== undefined && options.fromIp !== false)
    headers['X-Forwarded-For'] = resolveFromIp(options.fromIp);
  for (const line of options.headers ?? []) {
    const [name, value] = parseHeader(line);
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing) delete headers[existing];
    headers[name] = value;
  }
  validateHeader(EVENT_ID_HEADER, String(event.id), options.eventIdSource ?? 'the event id');
  validateHeaders(headers, '--header');
  return {
    url: options.url,
    method: 'POST',
    headers,
    body,
    eventId: String(event.id),
    eventType: String(event.type),
    sessionId: typeof event.data?.id === 'string' ? event.data.id : undefined,
    signatureMode: mode,
  };
}
