import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceivedCapture } from './capture.js';
import { isLocalHost } from './host-guard.js';
import { originAllowed, SECURITY_HEADERS, sendError } from './inspector-http.js';
import { statsJson, type Ledger } from './ledger.js';
import { answer, drained } from './respond.js';
import { ACTIONS_PATH, DELIVERIES_PATH } from './settings.js';

/** What the receiver's own endpoints read: the ledger, and the server's state once listening. */
export interface ApiContext {
  ledger: Ledger<ReceivedCapture>;
  /** The Host values (host:port) these endpoints answer to. */
  hosts(): readonly string[];
  port(): number;
  closing(): boolean;
  warn(message: string): void;
  /** The inspector's paths (the page, one capture, the stream, the actions); false when `path` is none of them. */
  inspector(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

/** A whole number from the query, at least `min`; undefined when absent, the error line when not a number. */
function readQueryInt(query: URLSearchParams, name: string, min: number): number | undefined | string {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min
    ? n
    : `Bad request: ${name} must be a whole number from ${min} (got ${JSON.stringify(text.slice(0, 40))})`;
}

/**
 * The handler of `/__facesign/*` (and of the inspector page at `/`): only for a Host naming this
 * receiver (see `isLocalHost`), so no other site can read it, and only without an Origin or with
 * the page's own. The first refused Host is warned about; later ones are only answered 421.
 */
export function createApiHandler(ctx: ApiContext): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  let refusedHostWarned = false;
  return (req, res, path) => {
    const reply = (status: number, body: string, headers?: Record<string, string>) =>
      answer(res, status, body, { ...SECURITY_HEADERS, ...headers }, ctx.closing());
    // An action's body is read by the inspector; every other request's is dropped.
    if (req.method !== 'POST' || !path.startsWith(`${ACTIONS_PATH}/`)) req.resume();
    const hosts = ctx.hosts();
    if (!isLocalHost(req.headers.host, hosts, req.socket.localAddress, ctx.port())) {
      if (!refusedHostWarned) {
        refusedHostWarned = true;
        const host = JSON.stringify((req.headers.host ?? '').slice(0, 100));
        ctx.warn(
          `answered 421 to ${path} for Host ${host}: the receiver's own endpoints answer only to ` +
            `${hosts.join(' or ')} (DNS-rebinding guard)`,
        );
      }
      req.resume();
      return reply(421, `Misdirected Request: ${path} answers only to Host ${hosts.join(' or ')}`);
    }
    if (!originAllowed(req)) {
      req.resume();
      return sendError(res, 403, `Origin ${JSON.stringify(req.headers.origin?.slice(0, 100))} is not this page's own`);
    }
    if (path !== DELIVERIES_PATH) {
      if (ctx.inspector(req, res, path)) return;
      req.resume();
      return reply(404, `Not found: the receiver's history is at ${DELIVERIES_PATH}`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return reply(405, 'Method not allowed: GET the history', { Allow: 'GET, HEAD' });
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const since = readQueryInt(query, 'since', 0);
    const limit = readQueryInt(query, 'limit', 1);
    if (typeof since === 'string') return reply(400, since);
    if (typeof limit === 'string') return reply(400, limit);
    streamHistory(ctx, res, since ?? 0, limit, req.method === 'HEAD').catch((err: unknown) => {
      ctx.warn(`serving the history failed: ${(err as Error).message}`);
      res.destroy();
    });
  };
}

/**
 * Writes the history as one JSON object, one capture at a time and waiting for the client to
 * read each, so a large history never becomes one string. It lists the captures recorded when
 * the request came (after `since`, at most `limit`); one dropped meanwhile is left out, and
 * `count` (after the list) says how many were written.
 */
async function streamHistory(
  ctx: ApiContext,
  res: ServerResponse,
  since: number,
  limit: number | undefined,
  headOnly: boolean,
): Promise<void> {
  const history = ctx.ledger.history;
  const sequences: number[] = [];
  let more = false;
  for (const seq of history.sequences()) {
    if (seq <= since) continue;
    if (limit !== undefined && sequences.length === limit) {
      more = true;
      break;
    }
    sequences.push(seq);
  }
  const head = {
    ...statsJson(ctx.ledger.stats),
    history_limit: history.limit,
    history_max_bytes: history.maxBytes,
    history_bytes: history.bytes,
  };
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json',
    ...(ctx.closing() ? { Connection: 'close' } : {}),
  });
  if (headOnly) return void res.end();
  const send = async (text: string): Promise<boolean> => {
    if (res.destroyed) return false;
    if (!res.write(text)) await drained(res);
    return !res.destroyed;
  };
  if (!(await send(`${JSON.stringify(head).slice(0, -1)},"deliveries":[`))) return;
  let count = 0;
  let last: number | null = null;
  for (const seq of sequences) {
    const capture = history.get(seq);
    if (capture === undefined) continue;
    if (count > 0 && !(await send(','))) return;
    for (const piece of capture.jsonPieces(0)) if (!(await send(piece))) return;
    count++;
    last = seq;
  }
  res.end(`],"count":${count},"last_sequence":${last},"more":${more}}`);
}
