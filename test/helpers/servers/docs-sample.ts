import { createHmac, timingSafeEqual } from 'node:crypto';
import { runAsScript, serveWebhooks, type RunningServer, type ServerOptions } from './common.js';

/*
 * A handler written the way FaceSign's documentation shows it: the sample compares
 * `Buffer.from(signature)` with `Buffer.from(expected)` with no length check first, so a missing
 * or short signature makes timingSafeEqual throw, and the framework answers 500.
 */

function verifyLikeTheDocs(payload: Buffer, signature: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(payload).digest('hex');
  return timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

export function startDocsSampleServer(options: ServerOptions): Promise<RunningServer> {
  const processed = new Set<string>();
  return serveWebhooks(options, (req, raw) => {
    const signature = req.headers['facesign-signature'] as string;
    if (!verifyLikeTheDocs(raw, signature, options.secret)) return { status: 400, body: 'Invalid signature' };
    const event = JSON.parse(raw.toString()) as { id: string; type: string; data: { metadata: { user_id: string } } };
    if (processed.has(event.id)) return { status: 200, body: 'Already processed' };
    switch (event.type) {
      case 'session.verified':
      case 'session.failed':
        // The docs' handlers read this field; a missing one would throw here too.
        void event.data.metadata.user_id;
        break;
      default:
        break;
    }
    processed.add(event.id);
    return { status: 200, body: 'OK' };
  });
}

export const start = startDocsSampleServer;
await runAsScript(import.meta.url, startDocsSampleServer);
