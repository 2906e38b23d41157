import { createHmac, timingSafeEqual } from 'node:crypto';
import { runAsScript, serveWebhooks, type RunningServer, type ServerOptions } from './common.js';

/*
 * A handler with a common mistake: it parses the body and signs a re-serialization of it
 * (pretty-printed, as a body-parser middleware plus JSON.stringify(body, null, 2) would give)
 * instead of the raw bytes FaceSign signed. Every valid signature then looks wrong.
 */

function signatureOfReserialized(raw: Buffer, header: unknown, secret: string): boolean {
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/.test(header)) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return false;
  }
  const expected = createHmac('sha256', secret)
    .update(JSON.stringify(parsed, null, 2))
    .digest();
  return timingSafeEqual(Buffer.from(header, 'hex'), expected);
}

export function startReserializedServer(options: ServerOptions): Promise<RunningServer> {
  return serveWebhooks(options, (req, raw) =>
    signatureOfReserialized(raw, req.headers['facesign-signature'], options.secret)
      ? { status: 200, body: 'OK' }
      : { status: 400, body: 'Invalid signature' },
  );
}

export const start = startReserializedServer;
await runAsScript(import.meta.url, startReserializedServer);
