import { buildEvent, resolveEventType, type FaceSignEvent } from '../events/build.js';
import { EVENT_TYPES, type EventType } from '../events/types.js';
import { resolveTarget } from '../delivery/target.js';
import { prepareRequest, type SignatureMode, type WebhookRequest } from '../delivery/request.js';
import { closeSharedDispatcher, deliver, DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { parseExpectation, type Expectation } from '../delivery/expect.js';
import { usageError, EXIT } from '../errors.js';
import { createOutput, type Output } from '../report/output.js';
import { printDelivery, printPreviews } from '../report/delivery.js';
import { resolveSecret } from '../secret.js';
import { canPrompt } from '../prompts.js';
import { watchInterrupt } from '../interrupt.js';
import { buildOptionsFrom, positiveInt, readFixtureFile, type EventFlags, type SendFlags } from './shared.js';

export interface SendOptions extends EventFlags, SendFlags {
  /** An event type, its short name (`verified`), or `all`. */
  type?: string;
  signature?: SignatureMode;
  repeat?: number;
  expect?: string;
  dryRun?: boolean;
  curl?: boolean;
  /** Load mode: send this many distinct events… */
  count?: number;
  /** …with this many in flight (default 16). */
  concurrency?: number;
}

/** Which types to send: the argument, `all`, or the type named in a `--fixture` file. */
function resolveTypes(type: string | undefined, fixtureType: unknown): EventType[] {
  if (type === 'all') return [...EVENT_TYPES];
  if (type !== undefined) return [resolveEventType(type)];
  if (typeof fixtureType === 'string') return [resolveEventType(fixtureType)];
  throw usageError('no event type given', `name one: facesign-webhooks send session.verified (types: ${EVENT_TYPES.join(', ')}, or all)`);
}

/** Sends each request (`repeat` times, identically) and prints a line per delivery; returns how many missed. */
export async function sendAll(
  out: Output,
  requests: WebhookRequest[],
  options: { repeat: number; timeoutMs: number; expect: Expectation; signal?: AbortSignal },
): Promise<{ sent: number; missed: number; interrupted: boolean }> {
  let sent = 0;
  let missed = 0;
  for (const req of requests) {
    for (let i = 1; i <= options.repeat; i++) {
      if (options.signal?.aborted) return { sent, missed, interrupted: true };
      const res = await deliver(req, { timeoutMs: options.timeoutMs, signal: options.signal });
      const met = !res.error && options.expect.matches(res.status);
      sent++;
      if (!met) missed++;
      printDelivery(out, req, res, { met, expected: options.expect.label, repeat: i, repeatOf: options.repeat });
    }
  }
  return { sent, missed, interrupted: options.signal?.aborted ?? false };
}

/**
 * A deliberately bad signature sent without `--expect`: the default 2xx would call an endpoint
 * that rightly rejects it a failure, so say how to make rejection the success condition.
 */
export function negativeSignatureHint(options: Pick<SendOptions, 'signature' | 'expect'>): string | undefined {
  const mode = options.signature ?? 'valid';
  if (mode === 'valid' || options.expect !== undefined) return undefined;
  return `--signature ${mode} expects your endpoint to reject it: add --expect 4xx to make that the success condition`;
}

export async function runSend(options: SendOptions): Promise<number> {
  if (options.type === undefined && options.fixture === undefined && canPrompt()) {
    return (await import('./interactive.js')).runInteractive(options);
  }
  const out = createOutput({ json: options.json });
  const fixture = options.fixture ? readFixtureFile(options.fixture) : undefined;
  const types = resolveTypes(options.type, fixture?.type);
  const expect = parseExpectation(options.expect);
  const repeat = positiveInt(options.repeat, '--repeat', 1);
  const timeoutMs = positiveInt(options.timeout, '--timeout', DEFAULT_TIMEOUT_MS);
  const url = resolveTarget(options.to);
  const secret = await resolveSecret(options.secret);
  const buildOptions = buildOptionsFrom(options, fixture);
  const hint = negativeSignatureHint(options);
  if (options.count !== undefined && !options.dryRun && !options.curl) {
    const count = positiveInt(options.count, '--count', 1);
    const concurrency = positiveInt(options.concurrency, '--concurrency', 16);
    const { runLoadMode } = await import('./send-load.js');
    const code = await runLoadMode({ out, types, url, secret, build: buildOptions, count, concurrency, timeoutMs, expect, options });
    if (hint) out.note(out.ce.yellow(`hint: ${hint}`));
    return code;
  }
  const events: FaceSignEvent[] = types.map((type) => buildEvent(type, buildOptions));
  const requests = events.map((event) =>
    prepareRequest(event, { url, secret, signature: options.signature, headers: options.header, fromIp: options.fromIp }),
  );

  if (options.dryRun || options.curl) {
    printPreviews(out, requests, Boolean(options.curl));
    return EXIT.ok;
  }

  const interrupt = watchInterrupt();
  try {
    const result = await sendAll(out, requests, { repeat, timeoutMs, expect, signal: interrupt.signal });
    const summary = { type: 'summary', sent: result.sent, met: result.sent - result.missed, missed: result.missed, expected: expect.label, interrupted: result.interrupted };
    out.record(summary);
    if (result.sent > 1 || result.interrupted) {
      const { c } = out;
      const tail = result.missed ? c.red(`${result.missed} did not`) : c.green('all did');
      out.line(`${result.sent} ${result.sent === 1 ? 'delivery' : 'deliveries'}, expected ${expect.label}: ${tail}${result.interrupted ? c.yellow(' (interrupted)') : ''}`);
    }
    if (hint) out.note(out.ce.yellow(`hint: ${hint}`));
    if (result.interrupted) return EXIT.interrupted;
    return result.missed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    interrupt.dispose();
    await closeSharedDispatcher();
  }
}
