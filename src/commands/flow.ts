import { buildFlow, FLOW_OUTCOMES, type FlowOutcome } from '../events/build.js';
import { resolveTarget } from '../delivery/target.js';
import { prepareRequest } from '../delivery/request.js';
import { closeSharedDispatcher, deliver, DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { EXIT, usageError } from '../errors.js';
import { createOutput } from '../report/output.js';
import { curlCommand, printDelivery, printRequest } from '../report/delivery.js';
import { resolveSecret } from '../secret.js';
import { watchInterrupt } from '../interrupt.js';
import { buildOptionsFrom, positiveInt, type EventFlags, type SendFlags } from './shared.js';

export interface FlowCommandOptions extends Omit<EventFlags, 'eventId'>, SendFlags {
  outcome: string;
  shuffle?: boolean;
  /** Makes `--shuffle` repeatable. */
  seed?: number;
  dryRun?: boolean;
  curl?: boolean;
}

/** A small seeded PRNG (mulberry32), so `--shuffle --seed N` gives the same order every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher–Yates shuffle that is guaranteed to change the order of two or more items. */
export function shuffleOrder<T>(items: T[], random: () => number): T[] {
  if (items.length < 2) return [...items];
  for (;;) {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    if (out.some((item, i) => item !== items[i])) return out;
  }
}

export async function runFlow(options: FlowCommandOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const outcome = options.outcome?.replace(/^session\./, '') as FlowOutcome;
  if (!(FLOW_OUTCOMES as readonly string[]).includes(outcome)) {
    throw usageError(`unknown flow outcome "${options.outcome}"`, `use one of: ${FLOW_OUTCOMES.join(', ')}`);
  }
  const timeoutMs = positiveInt(options.timeout, '--timeout', DEFAULT_TIMEOUT_MS);
  const url = resolveTarget(options.to);
  const secret = await resolveSecret(options.secret);
  let events = buildFlow(outcome, buildOptionsFrom(options));
  if (options.shuffle) {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    events = shuffleOrder(events, seededRandom(seed));
    out.note(out.ce.dim(`shuffled order (--seed ${seed}): ${events.map((e) => e.type).join(' → ')}`));
  }
  const requests = events.map((e) => prepareRequest(e, { url, secret, headers: options.header, fromIp: options.fromIp }));
  if (options.dryRun || options.curl) {
    for (const req of requests) {
      if (options.curl) {
        out.record({ type: 'curl', event_id: req.eventId, command: curlCommand(req) });
        out.line(curlCommand(req));
      } else printRequest(out, req);
      out.line('');
    }
    return EXIT.ok;
  }

  const interrupt = watchInterrupt();
  const sessionId = requests[0]?.sessionId ?? null;
  let delivered = 0;
  try {
    for (const req of requests) {
      if (interrupt.signal.aborted) break;
      const res = await deliver(req, { timeoutMs, signal: interrupt.signal });
      printDelivery(out, req, res, { met: res.ok, expected: '2xx' });
      if (!res.ok) {
        out.record({ type: 'summary', session_id: sessionId, outcome, delivered, total: requests.length, stopped_at: req.eventType });
        out.line(out.c.red(`flow stopped: ${req.eventType} was not accepted; ${delivered} of ${requests.length} delivered`));
        return EXIT.failed;
      }
      delivered++;
    }
    const interrupted = interrupt.signal.aborted && delivered < requests.length;
    out.record({ type: 'summary', session_id: sessionId, outcome, delivered, total: requests.length, stopped_at: null, interrupted });
    out.line(`${interrupted ? out.c.yellow('interrupted') : out.c.green('flow complete')}: session ${sessionId}, ${delivered} of ${requests.length} delivered`);
    return interrupted ? EXIT.interrupted : EXIT.ok;
  } finally {
    interrupt.dispose();
    await closeSharedDispatcher();
  }
}
