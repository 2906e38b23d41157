import { createHmac, timingSafeEqual } from 'node:crypto';
import { runAsScript, serveWebhooks, type RunningServer, type ServerOptions } from './common.js';

/*
 * A handler that does what FaceSign's docs ask, correctly: verify the raw body, check the
 * signature's form before the constant-time compare, de-duplicate by event id, ignore unknown types.
 */

const KNOWN = new Set([
  'session.created',
  'session.started',
  'session.verified',
  'session.failed',
  'session.cancelled',
  'session.expired',
]);

function signatureMatches(raw: Buffer, header: unknown, secret: string): boolean {
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  const given = Buffer.from(header, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function startCorrectServer(options: ServerOptions): Promise<RunningServer> {
  const processed = new Set<string>();
  return serveWebhooks(options, (req, raw) => {
    if (!signatureMatches(raw, req.headers['facesign-signature'], options.secret))
      return { status: 400, body: 'Invalid signature' };
    let event: { id?: unknown; type?: unknown };
    try {
      event = JSON.parse(raw.toString('utf8')) as typeof event;
    } catch {
      return { status: 400, body: 'Invalid JSON' };
    }
    const id = String(event.id);
    if (processed.has(id)) return { status: 200, body: 'Already processed' };
    processed.add(id);
    if (typeof event.type !== 'string' || !KNOWN.has(event.type)) return { status: 200, body: 'Ignored' };
    return { status: 200, body: 'OK' };
  });
}

export const start = startCorrectServer;
await runAsScript(import.meta.url, startCorrectServer);
