import { createServer as createNetServer, type AddressInfo as NetAddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a test server received it. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  receivedAt: number;
}

export type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse, index: number) => void;

export interface TestServer {
  url: string;
  /** `url` with the default webhook path appended. */
  hookUrl: string;
  port: number;
  host: string;
  requests: Recorded[];
  server: Server;
  close(): Promise<void>;
}

/**
 * An independent check of FaceSign's signature (hex HMAC-SHA256 of the raw body), written here
 * without the project's code so tests do not grade the code with itself.
 */
export function independentSignatureOk(body: Buffer, signature: unknown, secret: string): boolean {
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

/** A handler that answers 200 to a valid signature and 400 otherwise. */
export function verifyingHandler(secret: string): Handler {
  return (req, body, res) => {
    const ok = independentSignatureOk(body, req.headers['facesign-signature'], secret);
    res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain' });
    res.end(ok ? 'OK' : 'Invalid signature');
  };
}

/** Starts a recording HTTP server on 127.0.0.1 (or `host`) with port 0. */
export async function startServer(
  handler: Handler = (_req, _body, res) => res.end('OK'),
  host = '127.0.0.1',
): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const index =
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          receivedAt: Date.now(),
        }) - 1;
      handler(req, body, res, index);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}`;
  return {
    url,
    hookUrl: `${url}/webhooks/facesign`,
    port,
    host,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A handler that streams `total` bytes of `fill`, lazily, only as fast as the client drains them
 * (so nothing near `total` is ever buffered), and records how far it got.
 */
export function hugeBodyHandler(total: number, fill: string, options: { contentLength?: boolean } = {}) {
  const state = { written: 0, finished: false, clientGone: undefined as unknown as Promise<void> };
  let gone!: () => void;
  state.clientGone = new Promise<void>((resolve) => (gone = resolve));
  const handler: Handler = (_req, _body, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain',
      ...(options.contentLength ? { 'content-length': String(total) } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, fill);
    const pump = () => {
      while (state.written < total && !res.destroyed) {
        state.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (state.written >= total) res.end(() => (state.finished = true));
    };
    res.on('close', () => gone());
    pump();
  };
  return { handler, state };
}

/** A loopback port with nothing listening on it: bound, then closed. */
export async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as NetAddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
