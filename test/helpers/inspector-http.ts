import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/** One answer, read whole. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json(): any;
}

/**
 * One HTTP/1.1 request with node:http, so any Host or Origin can be sent (a browser's fetch would
 * not let a test forge them). Bounded by `timeoutMs`.
 */
export function httpRequest(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within the timeout`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The token the page carries in its meta tag. */
export async function pageToken(base: string): Promise<string> {
  const page = await httpRequest(base, '/__facesign/ui/');
  const m = /<meta name="facesign-token" content="([^"]+)"/.exec(page.text);
  if (!m) throw new Error(`no token in the page: ${page.text.slice(0, 300)}`);
  return m[1]!;
}

/** POSTs an action as the page does: the token, JSON. */
export function postAction(base: string, name: string, token: string, body: unknown): Promise<Answer> {
  return httpRequest(base, `/__facesign/actions/${name}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-FaceSign-Token': token },
    body: JSON.stringify(body),
  });
}

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A Server-Sent Events connection read as it arrives. */
export interface SseClient {
  res: IncomingMessage;
  messages: SseMessage[];
  /** Resolves once `n` delivery messages arrived (rejects after timeoutMs). */
  deliveries(n: number, timeoutMs?: number): Promise<SseMessage[]>;
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

function parseBlock(block: string): SseMessage {
  const m: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) m.comment = line.slice(1).trim();
    const [field, ...rest] = line.split(':');
    const value = rest.join(':').replace(/^ /, '');
    if (field === 'id' || field === 'event' || field === 'data') m[field] = value;
  }
  return m;
}

export function openStream(base: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/__facesign/stream', base), { headers }, (res) => {
      const messages: SseMessage[] = [];
      let buffer = '';
      const waiters = new Set<() => void>();
      res.setEncoding('utf8').on('data', (d: string) => {
        buffer += d;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          messages.push(parseBlock(buffer.slice(0, at)));
          buffer = buffer.slice(at + 2);
        }
        for (const w of [...waiters]) w();
      });
      const ended = new Promise<void>((done) => res.on('end', done).on('close', done).on('error', done));
      const deliveries = (n: number, timeoutMs = 10_000) =>
        new Promise<SseMessage[]>((ok, fail) => {
          const found = () => messages.filter((m) => m.event === 'delivery');
          const check = () => {
            if (found().length < n) return;
            clearTimeout(timer);
            waiters.delete(check);
            ok(found());
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`only ${found().length} of ${n} deliveries on the stream within ${timeoutMs} ms`));
          }, timeoutMs);
          waiters.add(check);
          check();
        });
      resolve({ res, messages, deliveries, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
