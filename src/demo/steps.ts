import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeliveryResult } from '../delivery/deliver.js';
import { prepareRequest, type PrepareOptions, type WebhookRequest } from '../delivery/request.js';
import { buildEvent, buildFlow } from '../events/build.js';
import { EVENT_TYPES } from '../events/types.js';
import { captureBody, type Capture } from '../receiver/capture.js';
import { readCaptureFile } from '../receiver/capture-file.js';
import { startReceiver, type Receiver } from '../receiver/server.js';
import type { AttemptReport } from '../retry/run.js';
import { simulateRetries } from '../retry/simulate.js';
import { verifyWebhook } from '../verify/verdict.js';

/** Where the demo's steps report what happened; `report/demo.ts` renders it for a terminal. */
export interface DemoReporter {
  /** The receiver is up: where, and with which secret. */
  start(info: { url: string; secret: string }): void;
  /** Step `index` (from 0) begins. */
  step(index: number, step: DemoStep): void;
  /** A step did not go as expected. */
  stepFailed(step: DemoStep): void;
  /** One delivery and its answer; `expected` is a status class or an exact status. */
  delivery(req: WebhookRequest, res: DeliveryResult, met: boolean, expected: string): void;
  /** A remark on what a step showed, in plain words. */
  detail(text: string): void;
  /** The retry step's table: its titles, then one row per attempt. */
  attemptHeader(): void;
  attempt(a: AttemptReport<DeliveryResult>): void;
  /** A delivery as the receiver logged it, and a line of the receiver's counts. */
  received(capture: Capture): void;
  counts(text: string): void;
  /** A signature verdict on a capture (`label` says which body). */
  verdict(ok: boolean, label: string): void;
}

/** What every demo step can use: the running receiver, its secret, the reporter. */
export interface DemoContext {
  report: DemoReporter;
  receiver: Receiver;
  secret: string;
  /** Where the receiver writes its captures (for steps that read them back, e.g. verify). */
  saveDir: string;
  /** Sends one prepared request and reports it; `expected` is a status class or exact status. */
  send(req: WebhookRequest, expected?: string): Promise<{ res: DeliveryResult; met: boolean }>;
  /** Prepares a request to the demo receiver, signed with its secret unless told otherwise. */
  prepare(event: Parameters<typeof prepareRequest>[0], options?: Partial<PrepareOptions>): WebhookRequest;
}

/** One step of the demo: a title and what it does; resolves true when it went as expected. */
export interface DemoStep {
  id: string;
  title: string;
  run(ctx: DemoContext): Promise<boolean>;
}

export const DEMO_TIMEOUT_MS = 5_000;

/** Prepares and sends each item in turn; true when every one was accepted. */
async function sendEach<T>(ctx: DemoContext, items: readonly T[], prepare: (item: T) => WebhookRequest) {
  let ok = true;
  for (const item of items) ok = (await ctx.send(prepare(item))).met && ok;
  return ok;
}

async function duplicateStep(ctx: DemoContext): Promise<boolean> {
  const req = ctx.prepare(buildEvent('session.failed'));
  const first = await ctx.send(req);
  const second = await ctx.send(req);
  const recognised = second.met && second.res.responseBody === 'Already processed';
  if (recognised) ctx.report.detail('recognised: "Already processed"');
  return first.met && recognised;
}

async function retryStep(ctx: DemoContext): Promise<boolean> {
  const flaky = await startReceiver({ secret: ctx.secret, port: 0, failFirst: 3, closeGraceMs: 500 });
  try {
    const req = prepareRequest(buildEvent('session.verified'), { url: flaky.url, secret: ctx.secret });
    ctx.report.attemptHeader();
    const run = await simulateRetries(req, {
      speed: 3600,
      timeoutMs: DEMO_TIMEOUT_MS,
      onAttempt: (a) => ctx.report.attempt(a),
    });
    const delivered = run.outcome === 'delivered' && run.attempts.length === 4;
    // Every attempt must carry the same bytes, signature and event id (FaceSign resends, never rebuilds).
    const seen = new Set(
      flaky
        .deliveries()
        .map((d) => `${d.body_base64} ${d.headers['facesign-signature']} ${d.headers['facesign-event-id']}`),
    );
    const identical = seen.size === 1;
    if (delivered && identical)
      ctx.report.detail('delivered on attempt 4; all four attempts carried the identical body, signature and event id');
    return delivered && identical;
  } finally {
    await flaky.close();
  }
}

async function arrivedStep(ctx: DemoContext): Promise<boolean> {
  for (const capture of ctx.receiver.deliveries()) ctx.report.received(capture);
  const s = ctx.receiver.stats();
  ctx.report.counts(
    `${s.received} received: ${s.accepted} accepted, ${s.duplicates} duplicate, ${s.rejected} rejected`,
  );
  // The steps above sent 12 requests: 10 distinct valid events, one bad signature, one duplicate.
  return s.received === 12 && s.accepted === 10 && s.duplicates === 1 && s.rejected === 1;
}

async function verifyStep(ctx: DemoContext): Promise<boolean> {
  const file = readdirSync(ctx.saveDir)
    .filter((f) => f.endsWith('.json'))
    .sort()[0];
  if (!file) return false;
  const capture = readCaptureFile(join(ctx.saveDir, file));
  const body = captureBody(capture);
  const headers = { list: capture.raw_headers, complete: true };
  const good = verifyWebhook({ body, headers, secret: ctx.secret });
  ctx.report.verdict(good.signature.ok, file);
  // What `app.use(express.json())` and a later JSON.stringify do to a body before the HMAC sees it.
  const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 2));
  const bad = verifyWebhook({ body: reserialized, headers, secret: ctx.secret });
  ctx.report.verdict(bad.signature.ok, 'the same body, re-serialized with 2-space indents');
  if (bad.signature.cause) ctx.report.detail(`diagnosis: ${bad.signature.cause.message}`);
  return good.ok && !bad.signature.ok && bad.signature.cause !== undefined;
}

/** The demo's story, in order. Add a step here to show another command. */
export const DEMO_STEPS: DemoStep[] = [
  {
    id: 'six-events',
    title: 'Send all six event types, signed with the endpoint secret',
    run: (ctx) => sendEach(ctx, EVENT_TYPES, (type) => ctx.prepare(buildEvent(type))),
  },
  {
    id: 'flow',
    title: "A flow: one session's life, created → started → verified, with one vs_ id",
    run: (ctx) => sendEach(ctx, buildFlow('verified'), (event) => ctx.prepare(event)),
  },
  {
    id: 'bad-signature',
    title: 'A bad signature: a correct endpoint must reject it with 400',
    async run(ctx) {
      const { res, met } = await ctx.send(ctx.prepare(buildEvent('session.verified'), { signature: 'invalid' }), '400');
      if (met) ctx.report.detail(`rejected, as expected: ${JSON.stringify(res.responseBody ?? '')}`);
      return met;
    },
  },
  {
    id: 'duplicate',
    title: 'A duplicate: the same event id twice; the second is recognised, answered 200 and not processed again',
    run: duplicateStep,
  },
  {
    id: 'retry-sim',
    title:
      "FaceSign's retry schedule (5s, 30s, 2m, 10m, 1h) at 3600× speed, " +
      'against a receiver that fails the first 3 attempts',
    run: retryStep,
  },
  {
    id: 'arrived',
    title: 'What the receiver got (time, type, event id, session id, user id, verdict, answer)',
    run: arrivedStep,
  },
  {
    id: 'verify',
    title: 'verify: check a saved capture, then the same capture after a framework re-serialized its JSON',
    run: verifyStep,
  },
];
