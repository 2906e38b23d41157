import { createHmac } from 'node:crypto';
import { newId } from '../events/build.js';
import { signPayload, SIGNATURE_HEADER, EVENT_ID_HEADER } from '../signature/index.js';
import { runWireLoad, wireTarget, type LoadOptions, type LoadReport, type WireTarget } from './load-client.js';
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
  for (let at = 0; ; ) {
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

/** Header names the load client writes itself. */
const CLIENT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

/** The request line and headers of a request, up to (not including) Content-Length. */
function headLines(req: WebhookRequest, target: WireTarget): string {
  let head = `POST ${target.path} HTTP/1.1\r\n`;
  const host = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'host')?.[1] ?? target.hostHeader;
  head += `Host: ${host}\r\n`;
  for (const [name, value] of Object.entries(req.headers)) if (!CLIENT_HEADERS.has(name.toLowerCase())) head += `${name}: ${value}\r\n`;
  return head;
}

/** One request as it goes on the wire (for requests made some other way than `wireRequestFactory`). */
export function serializeRequest(req: WebhookRequest, target: WireTarget): Buffer {
  const head = `${headLines(req, target)}Content-Length: ${req.body.length}\r\n\r\n`;
  // Header values may hold bytes 0x80-0xFF (one byte per character, as HTTP has them).
  return Buffer.concat([Buffer.from(head, 'latin1'), req.body]);
}

/**
 * The load mode's request source: like `requestFactory`, but each call returns the whole HTTP/1.1
 * request as text (head and body), built from pieces cut once, so a request costs two ids, one
 * HMAC and a few string joins.
 */
export function wireRequestFactory(template: WebhookRequest, secret: string, target: WireTarget): () => string | Buffer {
  const signed = template.signatureMode === 'valid';
  const signature = template.headers[SIGNATURE_HEADER] ?? '';
  const bodyCut = cutAround(template.body.toString('utf8'), [template.eventId, template.sessionId ?? '']);
  // Ids are ASCII, so a body's length in bytes is the fixed pieces' plus the ids'.
  const fixedBytes = bodyCut.pieces.reduce((n, p) => n + Buffer.byteLength(p, 'utf8'), 0);
  const headCut = cutAround(headLines(template, target), [`${EVENT_ID_HEADER}: ${template.eventId}\r\n`, signed ? `${SIGNATURE_HEADER}: ${signature}\r\n` : '']);
  const headValues = ['', ''];
  const asciiHead = !/[^\x00-\x7f]/.test(headLines(template, target));
  return (): string | Buffer => {
    const ids = freshIds(template);
    const body = fill(bodyCut, ids);
    let bytes = fixedBytes;
    for (const slot of bodyCut.slots) bytes += ids[slot]!.length;
    headValues[0] = `${EVENT_ID_HEADER}: ${ids[0]}\r\n`;
    if (signed) headValues[1] = `${SIGNATURE_HEADER}: ${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}\r\n`;
    const head = `${fill(headCut, headValues)}Content-Length: ${bytes}\r\n\r\n`;
    // ASCII heads (the usual case) go out with the body as one string; a header value with bytes
    // 0x80-0xFF must be sent as those bytes, not as UTF-8.
    return asciiHead ? head + body : Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]);
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
