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
}

/** Parses `"Key: Value"` into a pair, or explains the expected form. */
export function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon).trim() : '';
  if (!name || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw usageError(`bad --header "${line}"`, 'write headers as "Name: value", e.g. --header "X-Request-Id: 42"');
  }
  const value = line.slice(colon + 1).trim();
  // A line break or control character would forge extra headers; the wire format forbids them.
  if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
    throw usageError(`bad --header "${name}": the value contains a line break or control character`, 'give one header per --header, on one line');
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
export function prepareRequest(event: { id: string; type: string; data?: { id?: unknown } }, options: PrepareOptions): WebhookRequest {
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
  if (options.fromIp !== undefined && options.fromIp !== false) headers['X-Forwarded-For'] = resolveFromIp(options.fromIp);
  for (const line of options.headers ?? []) {
    const [name, value] = parseHeader(line);
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing) delete headers[existing];
    headers[name] = value;
  }
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
