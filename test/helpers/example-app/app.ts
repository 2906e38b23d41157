import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A small app of the kind a FaceSign customer writes, used by test/unit/library/library.test.ts as "your app":
 * plain node:http, its own signature check over the raw body, de-duplication by event id, and
 * an in-memory user table. It knows nothing of facesign-webhooks; only the tests use the library.
 */

export const WEBHOOK_PATH = '/webhooks/facesign';
const MAX_BODY_BYTES = 1024 * 1024;

export interface UserRecord {
  status: 'verified' | 'failed';
  sessionId: string;
  /** The event that set this status. */
  eventId: string;
  verifiedOutputs?: unknown;
}

export interface ExampleAppOptions {
  /** The endpoint secret from the FaceSign dashboard. */
  secret: string;
  /** Forward each verified event, re-signed with `forward.secret`, to an internal service (after answering). */
  forward?: { url: string; secret: string };
}

export interface ExampleApp {
  url: string;
  /** user_id → what the webhooks said about them. */
  users: Map<string, UserRecord>;
  /** Event ids already handled (the idempotency store). */
  processed: Set<string>;
  /** Every webhook request, as answered: the status per event id, in arrival order. */
  log: { eventId: string | undefined; status: number; body: Buffer }[];
  /** Pretends the database is down for the next N events that reach processing: 500, not marked processed. */
  failNext(count: number): void;
  close(): Promise<void>;
}

/** Checks the form before comparing, so a wrong-length value never reaches timingSafeEqual. */
function signatureMatches(raw: Buffer, header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !/^[0-9a-f]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(header, 'hex'));
}

interface IncomingEvent {
  id: string;
  type: string;
  data: { id: string; metadata?: { user_id?: string }; verified_outputs?: unknown };
}

function parseEvent(raw: Buffer): IncomingEvent | undefined {
  try {
    const event = JSON.parse(raw.toString('utf8')) as Partial<IncomingEvent>;
    if (
      typeof event.id !== 'string' ||
      typeof event.type !== 'string' ||
      typeof event.data !== 'object' ||
      event.data === null
    )
      return undefined;
    return event as IncomingEvent;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

function forwardEvent(raw: Buffer, target: { url: string; secret: string }): void {
  const signature = createHmac('sha256', target.secret).update(raw).digest('hex');
  const eventId = (parseEvent(raw)?.id ?? '').replace(/[^\w-]/g, '');
  const req = httpRequest(target.url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': raw.length,
      'FaceSign-Signature': signature,
      'FaceSign-Event-Id': eventId,
    },
  });
  req.on('response', (res) => res.resume());
  req.on('error', () => undefined); // best effort: the audit service being down must not hurt the webhook
  req.end(raw);
}

export async function startExampleApp(options: ExampleAppOptions): Promise<ExampleApp> {
  const users = new Map<string, UserRecord>();
  const processed = new Set<string>();
  const log: ExampleApp['log'] = [];
  let failures = 0;

  /** The business logic; throws when the "database" is down. */
  function handleEvent(event: IncomingEvent): void {
    if (failures > 0) {
      failures--;
      throw new Error('database unavailable');
    }
    const userId = event.data.metadata?.user_id;
    if (event.type === 'session.verified' && userId) {
      users.set(userId, {
        status: 'verified',
        sessionId: event.data.id,
        eventId: event.id,
        verifiedOutputs: event.data.verified_outputs,
      });
    } else if (event.type === 'session.failed' && userId) {
      users.set(userId, { status: 'failed', sessionId: event.data.id, eventId: event.id });
    }
    // Other types (and ones FaceSign adds later) are acknowledged and ignored.
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ status: number; text: string; raw?: Buffer; eventId?: string }> {
    if ((req.url ?? '').split('?')[0] !== WEBHOOK_PATH) return { status: 404, text: 'Not found' };
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return { status: 405, text: 'Method not allowed' };
    }
    const raw = await readBody(req);
    if (!raw) return { status: 413, text: 'Payload too large' };
    if (!signatureMatches(raw, req.headers['facesign-signature'], options.secret))
      return { status: 400, text: 'Invalid signature', raw };
    const event = parseEvent(raw);
    if (!event) return { status: 400, text: 'Invalid event', raw };
    if (processed.has(event.id)) return { status: 200, text: 'Already processed', raw, eventId: event.id };
    try {
      handleEvent(event);
    } catch {
      return { status: 500, text: 'Internal error', raw, eventId: event.id };
    }
    processed.add(event.id);
    if (options.forward && event.type === 'session.verified') setImmediate(() => forwardEvent(raw, options.forward!));
    return { status: 200, text: 'OK', raw, eventId: event.id };
  }

  const server = createServer((req, res) => {
    handle(req, res).then(
      (answer) => {
        log.push({ eventId: answer.eventId, status: answer.status, body: answer.raw ?? Buffer.alloc(0) });
        res.writeHead(answer.status, { 'Content-Type': 'text/plain' });
        res.end(answer.text);
      },
      () => {
        res.writeHead(500);
        res.end('Internal error');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    users,
    processed,
    log,
    failNext(count) {
      failures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
