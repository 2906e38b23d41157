/*
 * The inspector's actions, loaded on the first one (they reach undici, the verify diagnosis and
 * the report formatting). Each reuses what the CLI does: `replay` (planReplay, deliver), `verify`
 * (verifyWebhook, printVerdict), `send --curl` (curlCommand).
 */
import { deliver } from '../delivery/deliver.js';
import { displayUrl, resolveTarget } from '../delivery/target.js';
import { CliError } from '../errors.js';
import { planReplay, type ReplayItem } from '../replay/plan.js';
import { curlCommand } from '../report/delivery.js';
import { createOutput } from '../report/output.js';
import { printVerdict } from '../report/verify.js';
import { compareWithListen } from '../verify/listen-verdict.js';
import { verifyWebhook } from '../verify/verdict.js';
import { isRedactedWithoutRaw, signedBody, type ReceivedCapture } from './capture.js';
import type { ActionAnswer, InspectorContext } from './inspector-http.js';

/** How long a replay may take in all (connect, answer, body). */
export const REPLAY_TIMEOUT_MS = 10_000;
/** How much of the target's answer the page is shown. */
const PREVIEW_CHARS = 2_000;

export interface ActionContext extends InspectorContext {
  /** Aborted when listen closes: a replay under way ends at once. */
  signal: AbortSignal;
}

const fail = (status: number, error: string, extra: Record<string, unknown> = {}): ActionAnswer => ({
  status,
  body: { error, ...extra },
});
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The capture an action names (`seq`), or the answer saying why there is none. */
function pickCapture(body: unknown, ctx: InspectorContext): ReceivedCapture | ActionAnswer {
  const seq = (body as { seq?: unknown } | null)?.seq;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return fail(400, 'the body must be a JSON object such as {"seq": 1}');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return fail(400, 'seq must be the whole number of a delivery in the history (from 1)');
  return ctx.history.get(seq) ?? fail(404, `delivery ${seq} is not in the history`);
}

/** Why a capture holds nothing to send again, or undefined when it does. */
function notResendable(c: ReceivedCapture): string | undefined {
  const which = `delivery ${c.sequence}`;
  if (c.method !== 'POST') return `${which} was a ${c.method} request, not a delivery: there is nothing to send again`;
  if (c.body_discarded) return `${which}'s body was over the receiver's --max-body and was not kept`;
  if (c.body_omitted)
    return `${which}'s body is not in the history (over --history-bytes); its --save file has it: replay FILE`;
  return undefined;
}

/** The exact request a capture makes again (its bytes and headers; signed again with `resignWith`). */
function planOne(capture: ReceivedCapture, url: string, resignWith?: string): ReplayItem | ActionAnswer {
  const why = notResendable(capture);
  if (why !== undefined) return fail(409, why);
  try {
    return planReplay([{ file: `delivery ${capture.sequence}`, capture }], { url, resignWith, resignAll: true })[0]!;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    const redacted = isRedactedWithoutRaw(capture);
    return fail(409, oneLine(err.message), {
      ...(err.hint ? { hint: err.hint } : {}),
      ...(redacted
        ? { note: 'redacted capture: use "Re-sign and replay" to send its redacted body signed again' }
        : {}),
    });
  }
}

/**
 * `GET /__facesign/deliveries/<seq>/curl`: the `send --curl` command for the capture's bytes and
 * headers, to `url`. A body that is not UTF-8 cannot be written inline, and a redacted one is not
 * the signed bytes: both get an error instead.
 */
export function curlFor(capture: ReceivedCapture, url: string): string | { error: string } {
  const planned = planOne(capture, url);
  if (!('request' in planned)) return { error: String(planned.body.error) };
  const body = planned.request.body;
  if (!Buffer.from(body.toString('utf8'), 'utf8').equals(body))
    return { error: `delivery ${capture.sequence}'s body is not UTF-8 text: curl cannot send it inline; download it` };
  return curlCommand(planned.request);
}

/** Where a replay goes: the `to` typed in the page (the --to shorthand), else the forward target. */
function replayTarget(to: unknown, ctx: InspectorContext): { url: string; forward: boolean } | ActionAnswer {
  if (to === undefined || to === null || to === '') {
    if (ctx.settings.forwardTo !== undefined) return { url: ctx.settings.forwardTo, forward: true };
    return fail(400, 'no target: listen runs without --forward-to, so give a URL to replay to ("to")');
  }
  if (typeof to !== 'string') return fail(400, 'to must be a URL or a --to shorthand such as :4000/webhooks');
  try {
    const url = resolveTarget(to, {});
    return { url, forward: url === ctx.settings.forwardTo };
  } catch (err) {
    if (err instanceof CliError) return fail(400, err.message.replace(/^--to\b/, 'to'), { hint: err.hint });
    throw err;
  }
}

/**
 * `POST /__facesign/actions/replay` `{"seq", "to"?, "resign"?}`: sends the captured bytes again
 * (re-signed with listen's own secret when asked; the secret never leaves listen) and reports the
 * answer. `ok` is a 2xx from the target.
 */
export async function replayAction(body: unknown, ctx: ActionContext): Promise<ActionAnswer> {
  const capture = pickCapture(body, ctx);
  if (!('sequence' in capture)) return capture;
  const { to, resign } = body as { to?: unknown; resign?: unknown };
  if (resign !== undefined && typeof resign !== 'boolean') return fail(400, 'resign must be true or false');
  const secret = ctx.settings.secret;
  if (resign === true && secret === undefined)
    return fail(400, 'listen runs without a secret (--secret), so it cannot sign the delivery again');
  const target = replayTarget(to, ctx);
  if (!('url' in target)) return target;
  const planned = planOne(capture, target.url, resign === true ? secret : undefined);
  if (!('request' in planned)) return planned;
  const tls = target.forward ? ctx.settings.forwardTls : { insecure: false, ca: undefined };
  const res = await deliver(planned.request, {
    timeoutMs: REPLAY_TIMEOUT_MS,
    signal: ctx.signal,
    insecure: tls.insecure,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
  });
  return {
    status: 200,
    body: {
      ok: res.ok,
      to: displayUrl(target.url),
      resigned: planned.resigned,
      ...(res.status !== undefined ? { status: res.status } : {}),
      ...(res.responseHeaders !== undefined ? { headers: res.responseHeaders } : {}),
      ...(res.responseBody !== undefined ? { body_preview: res.responseBody.slice(0, PREVIEW_CHARS) } : {}),
      ...(res.location !== undefined ? { location: res.location } : {}),
      duration_ms: Math.round(res.latencyMs * 100) / 100,
      ...(res.error !== undefined ? { error: oneLine(res.error.message) } : {}),
    },
  };
}

/** An Output whose lines are collected, uncoloured, instead of printed. */
function collectingOutput() {
  const lines: string[] = [];
  const notes: string[] = [];
  const sink = (into: string[]) => ({
    write(text: string) {
      into.push(...text.replace(/\n$/, '').split('\n'));
      return true;
    },
  });
  const out = createOutput({
    json: false,
    stdout: sink(lines),
    stderr: sink(notes) as unknown as NodeJS.WritableStream,
    env: { NO_COLOR: '1' },
  });
  return { out, lines, notes };
}

/**
 * `POST /__facesign/actions/verify` `{"seq", "secret"?}`: the `verify` command's diagnosis of the
 * capture with a secret typed in the page (used for this answer only), or without one with the
 * secret listen holds, which never leaves listen (the page asks so for a signature listen rejected).
 */
export function verifyAction(body: unknown, ctx: InspectorContext): ActionAnswer {
  const capture = pickCapture(body, ctx);
  if (!('sequence' in capture)) return capture;
  const given = (body as { secret?: unknown }).secret;
  if (given !== undefined && (typeof given !== 'string' || given === ''))
    return fail(400, 'secret must be a non-empty string (or left out to use the secret listen holds)');
  const secret = given ?? ctx.settings.secret;
  if (secret === undefined)
    return fail(400, 'listen runs without a secret (--secret), so it cannot verify with its own: give "secret"');
  const why = notResendable(capture);
  if (why !== undefined) return fail(409, why.replace('send again', 'verify'));
  if (isRedactedWithoutRaw(capture))
    return fail(
      409,
      `delivery ${capture.sequence} is redacted (listen --redact): its body is not the signed bytes, so no ` +
        'secret can match it',
      { hint: 'run listen with --keep-raw (or --no-redact) to keep the received bytes' },
    );
  const verdict = verifyWebhook({
    body: signedBody(capture),
    headers: { list: capture.raw_headers, complete: true },
    method: capture.method,
    secret,
    inputNotes: capture.redacted
      ? ['the capture is redacted: its raw bytes (raw_body_base64, --keep-raw) were verified']
      : [],
  });
  const { out, lines, notes } = collectingOutput();
  printVerdict(out, verdict, {
    source: 'capture',
    input: `delivery ${capture.sequence}`,
    listen: compareWithListen(capture.verdict, verdict),
  });
  return {
    status: 200,
    body: {
      valid: verdict.signature.ok,
      ok: verdict.ok,
      reason: verdict.signature.reason ?? null,
      lines,
      notes,
    },
  };
}
