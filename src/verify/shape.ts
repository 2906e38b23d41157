import { EVENT_TYPES, STATUS_BY_TYPE, isEventType } from '../events/types.js';
import { EVENT_ID_HEADER, bodyBytes } from '../signature/index.js';
import { headerValues, type HeaderList } from './http-request.js';

/** One problem with the event's shape or its headers. Warnings; `--strict` makes them failures. */
export interface ShapeWarning {
  code: string;
  message: string;
}

export interface ShapeHeaders {
  list: HeaderList;
  /**
   * True when these are all the headers the request had (a capture, a raw request), so a missing
   * one is a finding; false when only some were given (`--header`), so only those are checked.
   */
  complete: boolean;
}

export interface EventShape {
  warnings: ShapeWarning[];
  /** What could be read of the event, for reports. */
  eventId: string | null;
  eventType: string | null;
  sessionId: string | null;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const shown = JSON.stringify(value);
  return `${typeof value} ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function jsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(message);
  if (!at) return message.replace(/,? ".*" is not valid JSON$/s, '');
  const before = text.slice(0, Number(at[1]));
  const lines = before.split('\n');
  const what = message.replace(/ in JSON at position \d+.*$/s, '');
  return `${what} at line ${lines.length}, column ${(lines.at(-1)?.length ?? 0) + 1}`;
}

/** Checks the envelope `{ id: "evt_…", object: "event", type, created, data: { id: "vs_…", … } }`. */
function checkEnvelope(event: Record<string, unknown>, warn: (code: string, message: string) => void): void {
  const { id, object, type, created, data } = event;
  if (typeof id !== 'string') warn('id-type', `"id" is ${describe(id)}; FaceSign sends a string "evt_…"`);
  else if (!id.startsWith('evt_')) warn('id-prefix', `"id" ${JSON.stringify(id)} does not start with "evt_"`);
  if (object !== 'event') warn('object', `"object" is ${describe(object)}; FaceSign sends "event"`);
  if (typeof type !== 'string')
    warn('type-type', `"type" is ${describe(type)}; FaceSign sends one of ${EVENT_TYPES.join(', ')}`);
  else if (!isEventType(type))
    warn('type-unknown', `"type" ${JSON.stringify(type)} is not a FaceSign event (${EVENT_TYPES.join(', ')})`);
  if (typeof created !== 'number' || !Number.isInteger(created)) {
    warn('created-type', `"created" is ${describe(created)}; FaceSign sends whole unix seconds`);
  } else if (created > 100_000_000_000) {
    warn('created-milliseconds', `"created" ${created} looks like milliseconds; FaceSign sends unix seconds`);
  } else if (created < 0) {
    warn('created-negative', `"created" ${created} is before 1970`);
  }
  if (!isObject(data)) {
    warn('data-type', `"data" is ${describe(data)}; FaceSign sends the verification session object`);
    return;
  }
  if (typeof data.id !== 'string')
    warn('data-id-type', `"data.id" is ${describe(data.id)}; FaceSign sends a string "vs_…"`);
  else if (!data.id.startsWith('vs_'))
    warn('data-id-prefix', `"data.id" ${JSON.stringify(data.id)} does not start with "vs_"`);
  if (data.object !== 'verification_session')
    warn('data-object', `"data.object" is ${describe(data.object)}; FaceSign sends "verification_session"`);
  if (typeof type === 'string' && isEventType(type)) {
    const want = STATUS_BY_TYPE[type];
    if (data.status !== want)
      warn('status', `"data.status" is ${describe(data.status)}, but a ${type} event carries status "${want}"`);
  }
}

function checkHeaders(headers: ShapeHeaders, bodyId: unknown, warn: (code: string, message: string) => void): void {
  const ids = headerValues(headers.list, EVENT_ID_HEADER);
  if (ids.length === 0) {
    if (headers.complete)
      warn('event-id-header-missing', `no ${EVENT_ID_HEADER} header; FaceSign sends the event id in it`);
  } else if (ids.length > 1) {
    warn('event-id-header-repeated', `${ids.length} ${EVENT_ID_HEADER} headers; FaceSign sends one`);
  } else if (typeof bodyId === 'string' && ids[0] !== bodyId) {
    warn(
      'event-id-header-mismatch',
      `${EVENT_ID_HEADER} ${JSON.stringify(ids[0])} differs from the body's id ${JSON.stringify(bodyId)}`,
    );
  }
  const types = headerValues(headers.list, 'content-type');
  if (types.length === 0) {
    if (headers.complete) warn('content-type-missing', 'no Content-Type header; FaceSign sends application/json');
  } else {
    const mime = (types[0] ?? '').split(';')[0]!.trim().toLowerCase();
    if (types.length > 1 || mime !== 'application/json') {
      warn(
        'content-type',
        `Content-Type is ${JSON.stringify(types.join(', '))}; FaceSign sends application/json ` +
          "(express.raw({ type: 'application/json' }) would not see this body)",
      );
    }
  }
}

/**
 * Checks that a body is a FaceSign event as the docs describe it, and that the headers agree with
 * it. Pure and total: any bytes give a list of warnings, never an exception.
 */
export function checkEventShape(rawBody: Uint8Array | string, headers?: ShapeHeaders): EventShape {
  const warnings: ShapeWarning[] = [];
  const warn = (code: string, message: string) => warnings.push({ code, message });
  const result: EventShape = { warnings, eventId: null, eventType: null, sessionId: null };
  const bytes = bodyBytes(rawBody);
  if (bytes === undefined) {
    warn('body-type', 'the body is not a string or bytes');
    return result;
  }
  let content = bytes;
  if (bytes.subarray(0, 3).equals(BOM)) {
    warn('bom', 'the body starts with a UTF-8 byte-order mark; JSON.parse rejects it and FaceSign does not send one');
    content = bytes.subarray(3);
  }
  const text = decodeUtf8(content);
  let event: unknown;
  if (content.length === 0) warn('empty', 'the body is empty; FaceSign sends a JSON event');
  else if (text === undefined) warn('not-utf8', 'the body is not valid UTF-8, so it cannot be a JSON event');
  else {
    try {
      event = JSON.parse(text);
      if (!isObject(event)) warn('not-object', `the body is JSON ${describe(event)}, not an event object`);
    } catch (err) {
      warn('not-json', `the body is not valid JSON: ${jsonError(text, err)}`);
    }
  }
  if (isObject(event)) {
    checkEnvelope(event, warn);
    if (typeof event.id === 'string') result.eventId = event.id;
    if (typeof event.type === 'string') result.eventType = event.type;
    if (isObject(event.data) && typeof event.data.id === 'string') result.sessionId = event.data.id;
  }
  if (headers) checkHeaders(headers, isObject(event) ? event.id : undefined, warn);
  return result;
}
