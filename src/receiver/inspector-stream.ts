/*
 * The inspector's Server-Sent Events: `GET /__facesign/stream`.
 *
 * On connect the stream first says which run of listen this is:
 *
 *   event: hello
 *   data: {"run": "<id of this listen run>", "last_seq": <newest sequence in the history, 0 if none>}
 *
 * then sends every capture in the history, oldest first (only those after the `Last-Event-ID`
 * header, or `?last_event_id=`, when a browser reconnects to the same run), then each new one as
 * it is recorded. Each message is
 *
 *   id: <run>:<seq>
 *   event: delivery
 *   data: <summary JSON on one line>
 *
 * A listen restarted on the same port counts from 1 again: an event id of another run (or without
 * one) is ignored and the whole history is sent, and the page, seeing another run in `hello`,
 * starts over instead of keeping the old run's deliveries.
 *
 * and a comment line `: ping` comes every 15 s. The stream ends when listen closes.
 *
 * The summary JSON is the capture's own JSON (the names `--save` writes) without the heavy parts:
 *   seq              the capture's sequence (= `id:`), also as `sequence`
 *   version, received_at, remote_address, remote_port, method, path, body_bytes
 *   body_discarded   true when the body was over --max-body (answered 413); else absent
 *   body_omitted     true when the history keeps it without its body; else absent
 *   redacted         true when personal data was replaced (--redact); else absent
 *   redaction_note   why a body --redact was asked to redact was kept as received; else absent
 *   raw_body_kept    true when a redacted capture also holds its received bytes (--keep-raw); else absent
 *   verdict          the whole verdict: status (what the sender got; 0 = never answered), outcome
 *                    (accepted|duplicate|rejected|fault), reason?, signature (valid|missing|malformed|
 *                    mismatch|prefixed|uppercase|unchecked), event_id, event_type, session_id, user_id,
 *                    response_body?, attempt?, delayed_ms?
 *   forward          with --forward-to: {url, status (null: no answer), body_bytes, body_truncated,
 *                    latency_ms, error: {kind, code, message} | null}; its headers and body_preview
 *                    are in the full capture (`GET /__facesign/deliveries/<seq>`)
 * Left out: headers, raw_headers, body_base64, body_text, raw_body_base64.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceivedCapture } from './capture.js';
import { SECURITY_HEADERS } from './inspector-http.js';
import type { History } from './ledger.js';

export const PING_INTERVAL_MS = 15_000;
/** A browser whose unsent backlog grows past this (it stopped reading) is dropped. */
export const MAX_CLIENT_BACKLOG_BYTES = 1024 * 1024;

type SummarySource = Pick<
  ReceivedCapture,
  | 'version'
  | 'sequence'
  | 'received_at'
  | 'remote_address'
  | 'remote_port'
  | 'method'
  | 'path'
  | 'body_bytes'
  | 'body_discarded'
  | 'body_omitted'
  | 'redacted'
  | 'redaction_note'
  | 'hasRawBody'
  | 'verdict'
  | 'forward'
>;

/** The summary of one capture (documented at the top of this file). */
export function deliverySummary(c: SummarySource) {
  const f = c.forward;
  return {
    seq: c.sequence,
    version: c.version,
    sequence: c.sequence,
    received_at: c.received_at,
    remote_address: c.remote_address,
    remote_port: c.remote_port,
    method: c.method,
    path: c.path,
    body_bytes: c.body_bytes,
    ...(c.body_discarded ? { body_discarded: true } : {}),
    ...(c.body_omitted ? { body_omitted: true } : {}),
    ...(c.redacted ? { redacted: true } : {}),
    ...(c.redaction_note !== undefined ? { redaction_note: c.redaction_note } : {}),
    ...(c.hasRawBody ? { raw_body_kept: true } : {}),
    verdict: c.verdict,
    ...(f !== undefined
      ? {
          forward: {
            url: f.url,
            status: f.status,
            body_bytes: f.body_bytes,
            body_truncated: f.body_truncated,
            latency_ms: f.latency_ms,
            error: f.error,
          },
        }
      : {}),
  };
}

/** One SSE message for a capture. JSON.stringify escapes every line break, so `data:` is one line. */
function message(run: string, capture: SummarySource): string {
  return `id: ${run}:${capture.sequence}\nevent: delivery\ndata: ${JSON.stringify(deliverySummary(capture))}\n\n`;
}

/** A short id for one run of listen (not a secret: it only tells runs apart). */
export function createRunId(): string {
  return randomBytes(9).toString('base64url');
}

/** The sequence a browser reconnecting to this `run` last saw, or 0 (send everything). */
export function lastEventId(req: IncomingMessage, run: string): number {
  const header = req.headers['last-event-id'];
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('last_event_id');
  const text = (typeof header === 'string' ? header : (query ?? '')).trim();
  const m = /^([A-Za-z0-9_-]{1,64}):(\d{1,15})$/.exec(text);
  return m !== null && m[1] === run ? Number(m[2]) : 0;
}

/**
 * The connected browsers. With none connected, a recorded delivery costs one size check: no
 * summary is built. Each browser gets the same text; one that stops reading is dropped once its
 * backlog passes the cap, so a stalled tab cannot grow listen's memory.
 */
export class InspectorStream {
  private readonly clients = new Map<ServerResponse, number>();
  private ping: NodeJS.Timeout | undefined;
  private closed = false;
  /** This run of listen: in every event id, and in the `hello` the stream starts with. */
  readonly run = createRunId();

  constructor(
    private readonly history: History<ReceivedCapture>,
    private readonly limits = { backlogBytes: MAX_CLIENT_BACKLOG_BYTES, pingMs: PING_INTERVAL_MS },
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Starts a stream: the history after the browser's last event, then live deliveries. */
  connect(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'X-Accel-Buffering': 'no',
      ...(this.closed ? { Connection: 'close' } : {}),
    });
    if (req.method === 'HEAD' || this.closed) return void res.end();
    res.socket?.setNoDelay(true);
    const after = lastEventId(req, this.run);
    // Written in one go, synchronously: no delivery can be recorded between history and live.
    let last = 0;
    const parts: string[] = [];
    for (const capture of this.history.values()) {
      last = capture.sequence;
      if (capture.sequence > after) parts.push(message(this.run, capture));
    }
    const hello = `event: hello\ndata: ${JSON.stringify({ run: this.run, last_seq: last })}\n\n`;
    res.write(`retry: 2000\n\n${hello}${parts.join('')}`);
    // The history given at connect may be large; only a backlog beyond it means the browser stalled.
    this.clients.set(res, res.writableLength + this.limits.backlogBytes);
    res.on('close', () => this.drop(res));
    this.ping ??= setInterval(() => this.broadcast(': ping\n\n'), this.limits.pingMs).unref();
  }

  /** Called for every recorded capture, in sequence order. */
  recorded(capture: ReceivedCapture): void {
    if (this.clients.size === 0) return;
    this.broadcast(message(this.run, capture));
  }

  private broadcast(text: string): void {
    for (const [res, limit] of this.clients) {
      res.write(text);
      if (res.writableLength > limit) {
        this.drop(res);
        res.destroy();
      }
    }
  }

  private drop(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0 && this.ping !== undefined) {
      clearInterval(this.ping);
      this.ping = undefined;
    }
  }

  /** Ends every stream (listen is closing); later connections are answered and ended at once. */
  close(): void {
    this.closed = true;
    for (const res of [...this.clients.keys()]) {
      this.drop(res);
      res.end();
    }
  }
}
