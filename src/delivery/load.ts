import { newId, randomHex } from '../events/build.js';
import { signPayload, SIGNATURE_HEADER, EVENT_ID_HEADER } from '../signature/index.js';
import { runWireLoad, type LoadOptions, type LoadReport } from './load-client.js';
import { headLines, serializeRequest, wireTarget, type WireTarget } from './wire.js';
import type { WebhookRequest } from './request.js';

export { runWireLoad, wireTarget, type LoadOptions, type LoadReport, type WireTarget };

/**
 * A text cut once at every occurrence of some ids: filling the slots with other ids of the same
 * kind gives the text with those ids replaced, with no search or split per request.
 */
interface Cut {
  pieces: string[];
  /** For each gap between pieces, which id goes there. */
  slots: number[];
}

function cutAround(text: string, ids: string[]): Cut {
  const pieces: string[] = [];
  const slots: number[] = [];
  for (let at = 0; ;) {
    let next = -1;
    let which = -1;
    for (const [i, id] of ids.entries()) {
      const found = id === '' ? -1 : text.indexOf(id, at);
      if (found >= 0 && (next < 0 || found < next)) [next, which] = [found, i];
    }
    if (next < 0) {
      pieces.push(text.slice(at));
      return { pieces, slots };
    }
    pieces.push(text.slice(at, next));
    slots.push(which);
    at = next + ids[which]!.length;
  }
}

function fill(cut: Cut, values: string[]): string {
  let text = cut.pieces[0]!;
  for (let i = 0; i < cut.slots.length; i++) text += values[cut.slots[i]!]! + cut.pieces[i + 1]!;
  return text;
}

/** Fresh ids for one request: the event's and, when the template has one, the session's. */
function freshIds(template: WebhookRequest): string[] {
  return [newId('evt'), template.sessionId ? newId('vs') : ''];
}

/**
 * Makes the n-th request of a load run from a template: a fresh event id and session id spliced
 * into the serialized body, then signed. Every request is distinct and validly signed (negative
 * signature modes keep the template's wrong signature), and nothing is kept per request.
 */
export function requestFactory(template: WebhookRequest, secret: string): () => WebhookRequest {
  const cut = cutAround(template.body.toString('utf8'), [template.eventId, template.sessionId ?? '']);
  const signed = template.signatureMode === 'valid';
  return () => {
    const ids = freshIds(template);
    const body = Buffer.from(fill(cut, ids), 'utf8');
    const headers: Record<string, string> = { ...template.headers, [EVENT_ID_HEADER]: ids[0]! };
    if (signed) headers[SIGNATURE_HEADER] = signPayload(body, secret);
    return { ...template, body, headers, eventId: ids[0]!, sessionId: template.sessionId ? ids[1] : undefined };
  };
}

/** An id as `newId` makes it (prefix, underscore, 24 hex digits), with the digits still to fill. */
function idPlaceholder(prefix: 'evt' | 'vs'): string {
  return `${prefix}_${'0'.repeat(24)}`;
}

/**
 * The load mode's request source: like `requestFactory`, but each call returns the whole HTTP/1.1
 * request as bytes. The request is laid out once with placeholder ids (every fresh id has the same
 * length, so every request has the same length and layout); a request is then a copy of those
 * bytes with two ids' digits written in and, for a valid signature, the HMAC of the body bytes
 * written into the signature header. No text is built or encoded per request.
 */
export function wireRequestFactory(template: WebhookRequest, secret: string, target: WireTarget): () => Buffer {
  const signed = template.signatureMode === 'valid';
  const hasSession = template.sessionId !== undefined;
  const eventSlot = idPlaceholder('evt');
  const sessionSlot = idPlaceholder('vs');
  const sigSlot = '0'.repeat(64);
  const bodyCut = cutAround(template.body.toString('utf8'), [template.eventId, template.sessionId ?? '']);
  const body = Buffer.from(fill(bodyCut, [eventSlot, sessionSlot]), 'utf8');
  const signature = template.headers[SIGNATURE_HEADER] ?? '';
  const headCut = cutAround(headLines(template, target), [
    `${EVENT_ID_HEADER}: ${template.eventId}\r\n`,
    signed ? `${SIGNATURE_HEADER}: ${signature}\r\n` : '',
  ]);
  const headers = fill(headCut, [`${EVENT_ID_HEADER}: ${eventSlot}\r\n`, `${SIGNATURE_HEADER}: ${sigSlot}\r\n`]);
  const head = Buffer.from(`${headers}Content-Length: ${body.length}\r\n\r\n`, 'latin1');
  const bytes = Buffer.concat([head, body]);
  const bodyStart = head.length;

  // Byte offsets of the digits to fill: in the head (event id and signature values), then in the body.
  const eventDigits: number[] = [];
  const sessionDigits: number[] = [];
  let sigDigits = -1;
  const headText = head.toString('latin1');
  const eventHeader = headText.indexOf(`${EVENT_ID_HEADER}: ${eventSlot}\r\n`);
  if (eventHeader >= 0) eventDigits.push(eventHeader + EVENT_ID_HEADER.length + 2 + 4);
  if (signed) {
    const sigHeader = headText.indexOf(`${SIGNATURE_HEADER}: ${sigSlot}\r\n`);
    if (sigHeader >= 0) sigDigits = sigHeader + SIGNATURE_HEADER.length + 2;
  }
  let at = bodyStart;
  for (let i = 0; i < bodyCut.slots.length; i++) {
    at += Buffer.byteLength(bodyCut.pieces[i]!, 'utf8');
    if (bodyCut.slots[i] === 0) {
      eventDigits.push(at + 4);
      at += eventSlot.length;
    } else {
      sessionDigits.push(at + 3);
      at += sessionSlot.length;
    }
  }

  return () => {
    const req = Buffer.allocUnsafe(bytes.length);
    bytes.copy(req);
    const evt = randomHex(12);
    for (const off of eventDigits) req.write(evt, off, 'latin1');
    if (hasSession) {
      const vs = randomHex(12);
      for (const off of sessionDigits) req.write(vs, off, 'latin1');
    }
    if (sigDigits >= 0) req.write(signPayload(req.subarray(bodyStart), secret), sigDigits, 'latin1');
    return req;
  };
}

/**
 * Sends `count` requests from `next()` with `concurrency` in flight over keep-alive connections,
 * recording only aggregates. Every request goes to the first one's origin and path.
 */
export async function runLoad(next: () => WebhookRequest, options: LoadOptions): Promise<LoadReport> {
  let first: WebhookRequest | undefined = next();
  const target = wireTarget(first.url);
  return runWireLoad(
    target,
    () => {
      const req = first ?? next();
      first = undefined;
      return serializeRequest(req, target);
    },
    options,
  );
}
