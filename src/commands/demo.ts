import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEvent, buildFlow } from '../events/build.js';
import { EVENT_TYPES } from '../events/types.js';
import { deliver, type DeliveryResult } from '../delivery/deliver.js';
import { prepareRequest, type PrepareOptions, type WebhookRequest } from '../delivery/request.js';
import { EXIT } from '../errors.js';
import { watchInterrupt } from '../interrupt.js';
import { startReceiver, type Receiver } from '../receiver/server.js';
import { captureBody, readCaptureFile } from '../receiver/capture.js';
import { verifyWebhook } from '../verify/verdict.js';
import { attemptHeader, printAttempt, simulateRetries } from './retry-sim.js';
import { printDelivery } from '../report/delivery.js';
import { createOutput, maskSecret, type Output } from '../report/output.js';
import { formatReceived, generateSecret } from './listen.js';

export interface DemoOptions {
  /** Keep the capture files the demo's receiver wrote (default: removed at the end). */
  keepCaptures?: boolean;
}

/** What every demo step can use: the running receiver, its secret, the output. */
export interface DemoContext {
  out: Output;
  receiver: Receiver;
  secret: string;
  /** Where the receiver writes its captures (for steps that read them back, e.g. verify). */
  saveDir: string;
  /** Sends one prepared request and prints it; `expected` is a status class or exact status. */
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

const DEMO_TIMEOUT_MS = 5_000;

/** The demo's story, in order. Add a step here to show another command (e.g. retry-sim, verify). */
export const DEMO_STEPS: DemoStep[] = [
  {
    id: 'six-events',
    title: 'Send all six event types, signed with the endpoint secret',
    async run(ctx) {
      let ok = true;
      for (const type of EVENT_TYPES) ok = (await ctx.send(ctx.prepare(buildEvent(type)))).met && ok;
      return ok;
    },
  },
  {
    id: 'flow',
    title: "A flow: one session's life, created → started → verified, with one vs_ id",
    async run(ctx) {
      let ok = true;
      for (const event of buildFlow('verified')) ok = (await ctx.send(ctx.prepare(event))).met && ok;
      return ok;
    },
  },
  {
    id: 'bad-signature',
    title: 'A bad signature: a correct endpoint must reject it with 400',
    async run(ctx) {
      const { res, met } = await ctx.send(ctx.prepare(buildEvent('session.verified'), { signature: 'invalid' }), '400');
      if (met) ctx.out.line(ctx.out.c.dim(`   rejected, as expected: ${JSON.stringify(res.responseBody ?? '')}`));
      return met;
    },
  },
  {
    id: 'duplicate',
    title: 'A duplicate: the same event id twice; the second is recognised, answered 200 and not processed again',
    async run(ctx) {
      const req = ctx.prepare(buildEvent('session.failed'));
      const first = await ctx.send(req);
      const second = await ctx.send(req);
      const recognised = second.met && second.res.responseBody === 'Already processed';
      if (recognised) ctx.out.line(ctx.out.c.dim('   recognised: "Already processed"'));
      return first.met && recognised;
    },
  },
  {
    id: 'retry-sim',
    title:
      "FaceSign's retry schedule (5s, 30s, 2m, 10m, 1h) at 3600× speed, against a receiver that fails the first 3 attempts",
    async run(ctx) {
      const flaky = await startReceiver({ secret: ctx.secret, port: 0, failFirst: 3, closeGraceMs: 500 });
      try {
        const req = prepareRequest(buildEvent('session.verified'), { url: flaky.url, secret: ctx.secret });
        ctx.out.line(ctx.out.c.dim(`     ${attemptHeader()}`));
        const run = await simulateRetries(req, {
          speed: 3600,
          timeoutMs: DEMO_TIMEOUT_MS,
          onAttempt: (a) => printAttempt(ctx.out, a, '   '),
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
          ctx.out.line(
            ctx.out.c.dim(
              '   delivered on attempt 4; all four attempts carried the identical body, signature and event id',
            ),
          );
        return delivered && identical;
      } finally {
        await flaky.close();
      }
    },
  },
  {
    id: 'arrived',
    title: 'What the receiver got (time, type, event id, session id, user id, verdict, answer)',
    async run(ctx) {
      const captures = ctx.receiver.deliveries();
      for (const capture of captures) ctx.out.line(`   ${formatReceived(ctx.out, capture)}`);
      const s = ctx.receiver.stats();
      ctx.out.line(
        `   ${s.received} received: ${s.accepted} accepted, ${s.duplicates} duplicate, ${s.rejected} rejected`,
      );
      // The steps above sent 12 requests: 10 distinct valid events, one bad signature, one duplicate.
      return s.received === 12 && s.accepted === 10 && s.duplicates === 1 && s.rejected === 1;
    },
  },

  {
    id: 'verify',
    title: 'verify: check a saved capture, then the same capture after a framework re-serialized its JSON',
    async run(ctx) {
      const file = readdirSync(ctx.saveDir)
        .filter((f) => f.endsWith('.json'))
        .sort()[0];
      if (!file) return false;
      const capture = readCaptureFile(join(ctx.saveDir, file));
      const body = captureBody(capture);
      const headers = { list: capture.raw_headers, complete: true };
      const good = verifyWebhook({ body, headers, secret: ctx.secret });
      ctx.out.line(`   ${good.signature.ok ? ctx.out.c.green('✔ valid') : ctx.out.c.red('✘ invalid')}    ${file}`);
      // What `app.use(express.json())` and a later JSON.stringify do to a body before the HMAC sees it.
      const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 2));
      const bad = verifyWebhook({ body: reserialized, headers, secret: ctx.secret });
      ctx.out.line(
        `   ${bad.signature.ok ? ctx.out.c.green('✔ valid') : ctx.out.c.red('✘ invalid')}  the same body, re-serialized with 2-space indents`,
      );
      if (bad.signature.cause) ctx.out.line(ctx.out.c.dim(`   diagnosis: ${bad.signature.cause.message}`));
      return good.ok && !bad.signature.ok && bad.signature.cause !== undefined;
    },
  },
];

/** The commands to try next, shown at the end. */
export const NEXT_COMMANDS: [string, string][] = [
  ['facesign-webhooks listen', 'terminal 1: this receiver on localhost:3000 (prints a secret to export)'],
  ['facesign-webhooks send session.verified --to localhost', 'terminal 2: one signed event'],
  ['facesign-webhooks flow failed --to localhost', 'a whole session that ends in failure'],
  ['facesign-webhooks send verified --signature invalid --expect 4xx', 'does your endpoint reject bad signatures?'],
  ['facesign-webhooks retry-sim --speed 3600', "FaceSign's retry schedule, an hour in a second"],
  ['facesign-webhooks check --to localhost:4000', 'a conformance suite for your endpoint (CI exit code)'],
  ['facesign-webhooks listen --save ./captures', 'keep every delivery; then `replay ./captures --to :4000`'],
  ['facesign-webhooks verify ./captures/000001-*.json', 'check a capture; explains exactly why a signature fails'],
];

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = createOutput({});
  const { c } = out;
  const secret = generateSecret();
  const saveDir = mkdtempSync(join(tmpdir(), 'facesign-demo-'));
  const receiver = await startReceiver({ secret, port: 0, saveDir, closeGraceMs: 1_000 });
  const interrupt = watchInterrupt();
  const indented: Output = { ...out, line: (text = '') => out.line(`   ${text}`) };
  const ctx: DemoContext = {
    out,
    receiver,
    secret,
    saveDir,
    prepare: (event, opts = {}) => prepareRequest(event, { url: receiver.url, secret, ...opts }),
    async send(req, expected = '2xx') {
      const res = await deliver(req, { timeoutMs: DEMO_TIMEOUT_MS, signal: interrupt.signal });
      const met = expected === '2xx' ? res.ok : res.status === Number(expected);
      printDelivery(indented, req, res, { met, expected });
      return { res, met };
    },
  };

  out.line(c.bold('facesign-webhooks demo'));
  out.line(`A receiver is listening on ${c.bold(receiver.url)} with a generated secret ${maskSecret(secret)};`);
  out.line('it checks each request the way a correct FaceSign handler would.');
  const failed: string[] = [];
  let interrupted = false;
  try {
    for (const [i, step] of DEMO_STEPS.entries()) {
      if (interrupt.signal.aborted) {
        interrupted = true;
        break;
      }
      out.line('');
      out.line(c.bold(`${i + 1}. ${step.title}`));
      const ok = await step.run(ctx);
      if (!ok) {
        failed.push(step.id);
        out.line(c.red(`   step "${step.id}" did not go as expected`));
      }
    }
  } finally {
    interrupt.dispose();
    await receiver.close();
    if (!options.keepCaptures) rmSync(saveDir, { recursive: true, force: true });
  }

  out.line('');
  if (interrupted) {
    out.line(c.yellow('interrupted'));
    return EXIT.interrupted;
  }
  if (failed.length > 0) {
    out.line(c.red(`demo finished with ${failed.length} unexpected step(s): ${failed.join(', ')}`));
    return EXIT.failed;
  }
  out.line(c.green('Everything behaved as a FaceSign integration should.'));
  out.line('');
  out.line(c.bold('Next, try:'));
  const width = Math.max(...NEXT_COMMANDS.map(([cmd]) => cmd.length));
  for (const [cmd, why] of NEXT_COMMANDS) out.line(`  ${cmd.padEnd(width)}  ${c.dim(`# ${why}`)}`);
  out.line(`  ${'facesign-webhooks <command> --help'.padEnd(width)}  ${c.dim('# every flag, with examples')}`);
  return EXIT.ok;
}
