import { createHmac, timingSafeEqual } from 'node:crypto';
import { runAsScript, serveWebhooks, type RunningServer, type ServerOptions } from './common.js';

/*
 * The docs' sample with the usual fix bolted on: `signature.length === 64` before
 * timingSafeEqual(Buffer.from(signature), Buffer.from(expected)). Node reads header bytes as
 * Latin-1, so a signature with a byte of 0x80 or more is 64 characters, but Buffer.from writes it
 * as UTF-8, longer than 64 bytes, and timingSafeEqual throws: 500. Verifies the raw body otherwise.
 */

function lengthCheckedSignature(raw: Buffer, header: unknown, secret: string): boolean {
  if (typeof header !== 'string' || header.length !== 64) return false;
  const expected = createHmac('sha256', secret).update(raw).digest('hex');
  return timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

export function startLengthCheckServer(options: ServerOptions): Promise<RunningServer> {
  const processed = new Set<string>();
  return serveWebhooks(options, (req, raw) => {
    if (!lengthCheckedSignature(raw, req.headers['facesign-signature'], options.secret))
      return { status: 400, body: 'Invalid signature' };
    const event = JSON.parse(raw.toString('utf8')) as { id: string };
    if (processed.has(event.id)) return { status: 200, body: 'Already processed' };
    processed.add(event.id);
    return { status: 200, body: 'OK' };
  });
}

export const start = startLengthCheckServer;
await runAsScript(import.meta.url, startLengthCheckServer);
