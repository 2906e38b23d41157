import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ReceivedCapture, recordedVerdict, type Capture, type CaptureExtras, type CaptureVerdict } from './capture.js';
import { createFaultPlan } from './faults.js';
import { createForwarder, forwardedVerdict, type Forwarder } from './forward.js';
import { judgedHeaders } from './headers.js';
import { createApiHandler } from './history-endpoint.js';
import { localHosts, urlHost } from './host-guard.js';
import { Inspector } from './inspector.js';
import { judgeRequest, targetPath, type JudgeContext, type Judgement } from './judge.js';
import { Ledger, type ReceiverStats } from './ledger.js';
import { listenError } from './listen-error.js';
import { redactInto } from './redact.js';
import { answer, answerBytes, refuseBadHttp, sleep } from './respond.js';
import {
  RECEIVER_API_PREFIX,
  resolveReceiverSettings,
  type ReceiverOptions,
  type ReceiverSettings,
} from './settings.js';
import { describeFsError, prepareSaveDir, writeCaptureFile } from './store.js';

// The receiver's public surface, whichever part defines it.
export { headersFromRaw } from './headers.js';
export { isLocalHost, localHosts, urlHost } from './host-guard.js';
export type { ReceiverStats } from './ledger.js';
export * from './settings.js';

export interface Receiver {
  /** The full webhook URL, e.g. http://127.0.0.1:PORT/webhooks/facesign. */
  url: string;
  /** The inspector page, e.g. http://127.0.0.1:PORT/; undefined with `ui: false`. */
  inspectorUrl: string | undefined;
  host: string;
  port: number;
  path: string;
  /** The bounded history, oldest first. */
  deliveries(): Capture[];
  stats(): ReceiverStats;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), writes every capture. */
  close(): Promise<void>;
}

/** Past the cap, the body is read and thrown away up to this much more, so the client sees the 413. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
const OVERFLOW_LINGER_MS = 2_000;
const EMPTY = Buffer.alloc(0);

/** A request as read off the socket, before judging. */
interface ReadRequest {
  receivedAt: number;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  body: Buffer;
  tooLarge: boolean;
  seen: number;
}

/**
 * One running receiver's HTTP side: reads each request, has it judged and recorded in the ledger,
 * answers it (now, later, or never), and closes without losing a capture.
 */
class ReceiverServer {
  readonly ledger: Ledger<ReceivedCapture>;
  readonly server: Server;
  /** The Host values the receiver's own endpoints answer to (known once listening). */
  hosts: string[] = [];
  port = 0;
  private closing = false;
  private sequence = 0;
  /** Requests still being read or answered; `close()` waits (up to its grace) for them. */
  private active = 0;
  private onDrained: (() => void) | undefined;
  /** Handlers that went asynchronous (capture files, a delay): `close()` lets every one finish. */
  private readonly jobs = new Set<Promise<void>>();
  private readonly hung = new Set<ServerResponse>();
  private readonly stopDelays = new AbortController();
  /** Save failures already reported, by kind: each kind is warned about once, then only counted. */
  private readonly saveFailuresSeen = new Set<string>();
  private readonly judgeContext: JudgeContext;
  readonly inspector: Inspector;
  private readonly serveApi: (req: IncomingMessage, res: ServerResponse, path: string) => void;

  constructor(
    private readonly settings: ReceiverSettings,
    private readonly options: Pick<ReceiverOptions, 'onDelivery' | 'onWarning'>,
    private readonly forwarder?: Forwarder,
  ) {
    const ledger = (this.ledger = new Ledger<ReceivedCapture>(settings));
    const faults = createFaultPlan(settings.faults, (id) => ledger.countAttempt(id));
    this.judgeContext = {
      path: settings.path,
      secret: settings.secret,
      maxBodyBytes: settings.maxBodyBytes,
      isProcessed: (id) => ledger.isProcessed(id),
      decideFault: (id) => faults.decide(id),
    };
    const inspector = (this.inspector = new Inspector(ledger.history, settings, () => this.port, this.options));
    this.serveApi = createApiHandler({
      ledger,
      hosts: () => this.hosts,
      port: () => this.port,
      closing: () => this.closing,
      warn: (message) => this.warn(message),
      inspector: (req, res, path) => inspector.handle(req, res, path),
    });
    this.server = createServer(
      {
        requestTimeout: settings.requestTimeoutMs,
        headersTimeout: settings.headersTimeoutMs,
        // Node checks the two timeouts above on this interval (30 s by default: too coarse).
        connectionsCheckingInterval: Math.min(1_000, settings.headersTimeoutMs),
        keepAliveTimeout: 5_000,
      },
      (req, res) => this.route(req, res),
    );
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
      refuseBadHttp(err, socket, ledger.stats),
    );
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  private answer(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
    answer(res, status, body, headers, this.closing);
  }

  /** The receiver's own endpoints under `/__facesign/`; every other request is a delivery. */
  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    if (url.startsWith(RECEIVER_API_PREFIX)) {
      const path = targetPath(url);
      if (path === RECEIVER_API_PREFIX || path?.startsWith(`${RECEIVER_API_PREFIX}/`))
        return this.serveApi(req, res, path);
    } else if (this.inspector.servesRoot(req)) return this.serveApi(req, res, '/');
    this.receive(req, res);
  }

  /** Records a judged delivery in the ledger and tells the inspector's browsers (if any). */
  private record(capture: ReceivedCapture): void {
    this.ledger.record(capture);
    this.inspector.recorded(capture);
  }

  private settle(): void {
    if (--this.active === 0 && this.onDrained) this.onDrained();
  }

  /** Reads one request's body (up to the cap), then judges, records and answers it. */
  private receive(req: IncomingMessage, res: ServerResponse): void {
    this.active++;
    const receivedAt = Date.now();
    const { remoteAddress, remotePort } = req.socket;
    const cap = this.settings.maxBodyBytes;
    const chunks: Buffer[] = [];
    let seen = 0;
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      if (!complete) {
        this.ledger.stats.incomplete++;
        return this.settle();
      }
      const tooLarge = seen > cap;
      const body = tooLarge ? EMPTY : Buffer.concat(chunks);
      try {
        this.process(req, res, { receivedAt, remoteAddress, remotePort, body, tooLarge, seen });
      } catch (err) {
        // Not expected for any request; the receiver must still answer and keep serving.
        this.warn(`request failed: ${(err as Error).message}`);
        this.answer(res, 500, 'Internal error in the receiver');
        this.settle();
      }
    };
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= cap) chunks.push(chunk);
      else if (chunks.length > 0) chunks.length = 0;
      if (seen > cap + DRAIN_LIMIT_BYTES && !done) {
        // A client that keeps sending far past the cap gets its 413 now; the rest is still read and
        // dropped for a moment (cutting at once can reset the socket before the 413 is read), then cut.
        this.answer(res, 413, `Payload too large: the limit is ${cap} bytes`, { Connection: 'close' });
        setTimeout(() => req.socket.destroy(), OVERFLOW_LINGER_MS).unref();
        finish(true);
      }
    });
    req.on('end', () => finish(true));
    req.on('error', () => finish(false));
    req.on('close', () => finish(req.complete));
  }

  /** Judges a request read whole, records its capture, and answers now or hands it to `finishSlowly`. */
  private process(req: IncomingMessage, res: ServerResponse, read: ReadRequest): void {
    const judgement = judgeRequest(
      {
        method: req.method ?? '',
        target: req.url ?? '',
        headers: judgedHeaders(req.rawHeaders),
        body: read.body,
        bodyTooLarge: read.tooLarge,
        bodyBytesSeen: read.seen,
      },
      this.judgeContext,
    );
    const hang = this.settings.hang && !read.tooLarge;
    const delayMs = hang ? 0 : this.settings.delayMs;
    if (this.forwarder !== undefined && !judgement.ownAnswer && !hang) {
      const { outcome, event_id } = judgement.verdict;
      // Remembered now: a resend arriving while the app still works on this one is a duplicate.
      if (outcome === 'accepted' && event_id !== null) this.ledger.markProcessed(event_id);
      return this.track(res, this.forward(this.forwarder, req, res, read, judgement, delayMs));
    }
    const capture = this.makeCapture(req, read, recordedVerdict(judgement, hang, delayMs));
    this.record(capture);
    if (this.settings.saveDir !== undefined || hang || delayMs > 0) {
      // The slow path: a file to write, or an answer to hold back.
      return this.track(res, this.finishSlowly(res, capture, judgement, hang, delayMs));
    }
    this.deliver(capture);
    this.answer(res, judgement.verdict.status, judgement.responseBody, judgement.headers);
    this.settle();
  }

  /** Runs an asynchronous handler to its end: `close()` waits for it; a failure still gets an answer. */
  private track(res: ServerResponse, work: Promise<void>): void {
    const job = work
      .catch((err: unknown) => {
        this.warn(`request failed: ${(err as Error).message}`);
        this.answer(res, 500, 'Internal error in the receiver');
      })
      .finally(() => {
        this.jobs.delete(job);
        this.settle();
      });
    this.jobs.add(job);
  }

  /** The capture of a judged request, numbered in the order recorded; its body redacted when asked. */
  private makeCapture(req: IncomingMessage, read: ReadRequest, verdict: CaptureVerdict, extras: CaptureExtras = {}) {
    const body =
      this.settings.redact && !read.tooLarge ? redactInto(extras, read.body, this.settings.keepRaw) : read.body;
    return new ReceivedCapture(
      ++this.sequence,
      read.receivedAt,
      read.remoteAddress ?? null,
      read.remotePort ?? null,
      req.method ?? '',
      req.url ?? '',
      req.rawHeaders.join('\0'),
      body,
      read.tooLarge,
      verdict,
      extras,
    );
  }

  /**
   * Passes a delivery to the app (after any --delay) and its answer back to the sender; the capture
   * records listen's own verdict beside the app's answer. Written to file before answering, as always.
   */
  private async forward(
    forwarder: Forwarder,
    req: IncomingMessage,
    res: ServerResponse,
    read: ReadRequest,
    judgement: Judgement,
    delayMs: number,
  ): Promise<void> {
    if (delayMs > 0) await sleep(delayMs, this.stopDelays.signal);
    const { method = 'POST', url: target = '', rawHeaders } = req;
    const got = await forwarder.forward({ method, target, rawHeaders, ...read }, this.stopDelays.signal);
    const verdict = forwardedVerdict(judgement.verdict, got, delayMs);
    const capture = this.makeCapture(req, read, verdict, { forward: got.record });
    this.record(capture);
    this.ledger.stats.forwarded++;
    if (got.record.error !== null) this.ledger.stats.forwardErrors++;
    if (this.settings.saveDir !== undefined) await this.save(this.settings.saveDir, capture);
    this.deliver(capture);
    answerBytes(res, got.status, got.headers, got.body, this.closing);
  }

  /** Tells the caller about a recorded delivery; a failing callback never breaks the receiver. */
  private deliver(capture: Capture): void {
    try {
      this.options.onDelivery?.(capture);
    } catch (err) {
      this.warn(`onDelivery failed: ${(err as Error).message}`);
    }
  }

  private async finishSlowly(
    res: ServerResponse,
    capture: ReceivedCapture,
    judgement: Judgement,
    hang: boolean,
    delayMs: number,
  ): Promise<void> {
    if (this.settings.saveDir !== undefined) await this.save(this.settings.saveDir, capture);
    this.deliver(capture);
    if (hang) {
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      if (this.closing) res.destroy();
      return;
    }
    if (delayMs > 0) await sleep(delayMs, this.stopDelays.signal);
    this.answer(res, judgement.verdict.status, judgement.responseBody, judgement.headers);
  }

  /** Writes a capture file; a failure is counted (and warned about once per kind), never thrown. */
  private async save(dir: string, capture: ReceivedCapture): Promise<void> {
    const stats = this.ledger.stats;
    try {
      await writeCaptureFile(dir, capture, capture.bodyBuffer);
      stats.saved++;
    } catch (err) {
      stats.saveErrors++;
      const kind = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (this.saveFailuresSeen.has(kind)) return;
      this.saveFailuresSeen.add(kind);
      this.warn(
        `could not write capture #${capture.sequence} to ${dir}: ${describeFsError(err)}; the delivery is ` +
          `still answered and in the history, and further ${kind} failures are only counted`,
      );
    }
  }

  async listen(): Promise<void> {
    const { host, port } = this.settings;
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port));
      server.once('error', onError);
      server.listen({ port, host, backlog: 2048 }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.warn(`server error: ${err.message}`));
    this.port = (server.address() as AddressInfo).port;
    this.hosts = localHosts(host, this.port);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.inspector.close();
    const server = this.server;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const res of this.hung) res.destroy();
    const drained = new Promise<void>((resolve) => (this.active === 0 ? resolve() : (this.onDrained = resolve)));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.settings.closeGraceMs).unref());
    await Promise.race([drained, grace]);
    this.stopDelays.abort();
    server.closeAllConnections();
    // Every handler finishes its capture write even when its connection was cut.
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
    await this.forwarder?.close();
    await serverClosed;
  }
}

/**
 * Starts the built-in receiver: judges every request like a correct FaceSign handler, records
 * it (bounded history, optional capture files) and answers, with the faults it was asked to
 * inject. Resolves once it accepts connections. Bad options are `FieldError`s naming the option.
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const settings = resolveReceiverSettings(options);
  if (settings.saveDir !== undefined) prepareSaveDir(settings.saveDir);
  const forwarder =
    settings.forwardTo !== undefined
      ? await createForwarder(settings.forwardTo, settings.forwardTimeoutMs, settings.forwardTls)
      : undefined;
  const receiver = new ReceiverServer(settings, options, forwarder);
  try {
    await receiver.listen();
  } catch (err) {
    await forwarder?.close();
    throw err;
  }
  const history = receiver.ledger.history;
  let closed: Promise<void> | undefined;
  const base = `http://${urlHost(settings.host)}:${receiver.port}`;
  return {
    url: `${base}${settings.path}`,
    inspectorUrl: receiver.inspector.pageUrl(base),
    host: settings.host,
    port: receiver.port,
    path: settings.path,
    deliveries: () => [...history.values()].map((c) => c.toJSON()),
    stats: () => ({ ...receiver.ledger.stats }),
    close: () => (closed ??= receiver.close()),
  };
}
