import type { ServerResponse } from 'node:http';

const PLAIN_TEXT = 'text/plain; charset=utf-8';

/**
 * Answers once with a plain-text body; a response already answered or gone is left alone. While the
 * receiver is closing, the answer says so (`Connection: close`), so keep-alive clients let go.
 */
export function answer(
  res: ServerResponse,
  status: number,
  body: string,
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
