import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const PLAIN_TEXT = 'text/plain; charset=utf-8';

/**
 * Answers once with a body, plain text unless `headers` say otherwise; a response already answered or
 * gone is left alone. While the receiver is closing, the answer says so (`Connection: close`), so
 * keep-alive clients let go.
 */
export function answer(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> | undefined,
  closing: boolean,
): void {
  if (res.headersSent || res.destroyed) return;
  const all: Record<string, string> =
    headers === undefined || Object.keys(headers).length === 0
      ? { 'Content-Type': PLAIN_TEXT }
      : { 'Content-Type': PLAIN_TEXT, ...headers };
  if (closing) all.Connection = 'close';
  res.writeHead(status, all);
  res.end(body);
}

/** Answers once with bytes and headers given whole (an app's answer passed on); Content-Length is set here. */
export function answerBytes(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer,
  closing: boolean,
): void {
  if (res.headersSent || res.destroyed) return;
  const all: Record<string, string | string[]> = { ...headers };
  const bodiless = status === 204 || status === 304 || status < 200;
  if (!bodiless) all['content-length'] = String(body.length);
  if (closing) all.connection = 'close';
  res.writeHead(status, all);
  res.end(bodiless ? undefined : body);
}

/** Resolves once a response can take more data, or is gone. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Resolves after `ms`, or at once when `signal` aborts (the receiver closing). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A connection that does not speak HTTP (or too slowly) gets one status line and is closed. */
export function refuseBadHttp(err: NodeJS.ErrnoException, socket: Socket, stats: { badHttp: number }): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  stats.badHttp++;
  const [status, text] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : [400, 'Bad Request'];
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${text.length}\r\n\r\n${text}`,
  );
  socket.destroySoon?.();
}
