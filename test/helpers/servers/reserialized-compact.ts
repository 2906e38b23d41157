import { createHmac, timingSafeEqual } from 'node:crypto';
import { runAsScript, serveWebhooks, type RunningServer, type ServerOptions } from './common.js';

/*
 * The most common Node mistake: a JSON body parser (express.json()) runs first, and the handler
 * signs `JSON.stringify(req.body)`. Compact ASCII bodies come out byte for byte the same, so it
 * passes everything but bodies in another byte form: escapes, whitespace, numbers like 1.50.
 * Otherwise correct (form check first, de-duplication, unknown types ignored).
 */

function signatureOfStringified(raw: Buffer, header: unknown, secret: string): boolean {
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/.test(header)) return false;
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return false;
  }
  const expected = createHmac('sha256', secret).update(JSON.stringify(body)).digest();
  return timingSafeEqual(Buffer.from(header, 'hex'), expected);
}

export function startStringifyServer(options: ServerOptions): Promise<RunningServer> {
  const processed = new Set<string>();
  return serveWebhooks(options, (req, raw) => {
    if (!signatureOfStringified(raw, req.headers['facesign-signature'], options.secret))
      return { status: 400, body: 'Invalid signature' };
    const event = JSON.parse(raw.toString('utf8')) as { id: string };
    if (processed.has(event.id)) return { status: 200, body: 'Already processed' };
    processed.add(event.id);
    return { status: 200, body: 'OK' };
  });
}

export const start = startStringifyServer;
await runAsScript(import.meta.url, startStringifyServer);
