import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

/** What every test server takes: the endpoint secret, where to listen, and an optional delay. */
export interface ServerOptions {
  secret: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default /webhooks/facesign. */
  path?: string;
  /** Wait this long before answering a webhook (to imitate a slow handler). */
  delayMs?: number;
}

/** One webhook as a test server saw and answered it. */
export interface Received {
  eventId: string | undefined;
  signature: string | undefined;
  body: Buffer;
  status: number;
}

export interface RunningServer {
  /** The webhook URL (with the path). */
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** A handler gets the raw body and answers with a status and a short text. */
export type WebhookHandler = (req: IncomingMessage, raw: Buffer) => { status: number; body: string };

const MAX_BODY = 1024 * 1024;

/**
 * Serves POST `path` with `handle`, the way a small app would: read the raw body, call the
 * handler, and turn an exception into a 500 (as Express's default error handler does).
 */
export async function serveWebhooks(options: ServerOptions, handle: WebhookHandler): Promise<RunningServer> {
  const path = options.path ?? '/webhooks/facesign';
  const received: Received[] = [];
  const server = createServer((req, res: ServerResponse) => {
    const reply = (status: number, text: string) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== path) {
      req.resume();
      reply(404, 'Not found');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let answer: { status: number; body: string };
      try {
        answer = size > MAX_BODY ? { status: 413, body: 'Payload too large' } : handle(req, raw);
      } catch {
        answer = { status: 500, body: 'Internal Server Error' };
      }
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      received.push({
        eventId: header('facesign-event-id'),
        signature: header('facesign-signature'),
        body: raw,
        status: answer.status,
      });
      const send = () => reply(answer.status, answer.body);
      if (options.delayMs) setTimeout(send, options.delayMs);
      else send();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Lets a server module run as a script:
 * `npx tsx test/helpers/servers/correct.ts --port 4000 --secret whsec_test [--delay 1500]`.
 */
export async function runAsScript(
  moduleUrl: string,
  start: (options: ServerOptions) => Promise<RunningServer>,
): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3000' },
      host: { type: 'string' },
      secret: { type: 'string' },
      delay: { type: 'string' },
    },
  });
  const secret = values.secret ?? process.env.FACESIGN_WEBHOOK_SECRET;
  if (!secret) {
    process.stderr.write('error: pass --secret or set FACESIGN_WEBHOOK_SECRET\n');
    process.exit(2);
  }
  const server = await start({
    secret,
    port: Number(values.port),
    host: values.host,
    delayMs: values.delay ? Number(values.delay) : undefined,
  }).catch((err: Error) => {
    process.stderr.write(`error: cannot listen: ${err.message}\n`);
    process.exit(1);
  });
  process.stdout.write(`listening on ${server.url}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
