import { buildFlow, FLOW_OUTCOMES, type FlowOutcome } from '../events/build.js';
import type { EventType } from '../events/types.js';
import { closestName, suggestEventType } from '../events/suggest.js';
import { projectSettings } from '../config/index.js';
import { prepareRequest } from '../delivery/request.js';
import { deliver } from '../delivery/deliver.js';
import { EXIT, usageError } from '../errors.js';
import { createSeededRandom, shuffleOrder } from '../random.js';
import { createOutput } from '../report/output.js';
import { printDelivery, printPreviews } from '../report/delivery.js';
import { flowSummaryRecord } from '../report/send.js';
import { safeText } from '../report/text.js';
import { resolveSecret } from '../secret.js';
import { watchInterrupt } from '../interrupt.js';
import {
  buildOptionsFrom,
  checkPreviewFlags,
  eventIdSource,
  timeoutFlag,
  tlsOptionsFrom,
  withConfigFixture,
  type EventFlags,
  type SendFlags,
} from './shared.js';

export interface FlowCommandOptions extends Omit<EventFlags, 'eventId'>, SendFlags {
  outcome: string;
  shuffle?: boolean;
  /** Makes `--shuffle` repeatable. */
  seed?: number;
  dryRun?: boolean;
  curl?: boolean;
}

/** `--shuffle --seed N` gives the same order every run. */
export { createSeededRandom as seededRandom, shuffleOrder } from '../random.js';

/** Flags that would be silently ignored together are a usage error naming both. Pure. */
export function checkFlowFlags(options: Omit<FlowCommandOptions, 'outcome'>): void {
  checkPreviewFlags(
    options,
    [
      ['--timeout', options.timeout],
      ['--insecure', options.insecure],
      ['--ca', options.ca],
    ],
    { requests: 'requests', them: 'them', commands: 'commands' },
  );
  if (options.seed !== undefined && !options.shuffle)
    throw usageError('--seed only orders --shuffle', 'add --shuffle to deliver out of order, or drop --seed');
}

/** `verified`, `session.verified` or `Verified`; anything else is a usage error with the nearest outcome. */
export function parseOutcome(value: string | undefined): FlowOutcome {
  const name = (value ?? '')
    .trim()
    .toLowerCase()
    .replace(/^session\./, '');
  if ((FLOW_OUTCOMES as readonly string[]).includes(name)) return name as FlowOutcome;
  const list = `outcomes: ${FLOW_OUTCOMES.join(', ')}`;
  if (name === 'created' || name === 'started') {
    throw usageError(
      `unknown flow outcome "${value}": every flow starts with created and started`,
      `name how it ends (${list})`,
    );
  }
  const near = closestName(name, FLOW_OUTCOMES, (o) => [o]) ?? suggestEventType(name)?.replace(/^session\./, '');
  const hint =
    near && (FLOW_OUTCOMES as readonly string[]).includes(near)
      ? `did you mean ${near}? (${list})`
      : `use one of the ${list}`;
  throw usageError(`unknown flow outcome "${value}"`, hint);
}

export async function runFlow(options: FlowCommandOptions): Promise<number> {
  const out = createOutput({ json: options.json });
  const outcome = parseOutcome(options.outcome);
  checkFlowFlags(options);
  const settings = projectSettings(options.config, {
    to: options.to,
    timeoutMs: timeoutFlag(options.timeout),
  });
  const timeoutMs = settings.timeoutMs.value;
  settings.target(`session.${outcome}`); // a bad target fails before the secret is asked
  const secret = await resolveSecret(options.secret, process.env, settings.secretEnv.value);
  const base = buildOptionsFrom(options);
  // The project config's overrides for each stage's type, merged under --fixture and --set.
  const fixtureFor = (type: EventType) => withConfigFixture(base, settings.fixture(type)).fixture;
  let events = buildFlow(outcome, { ...base, fixtureFor });
  if (options.shuffle) {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    events = shuffleOrder(events, createSeededRandom(seed));
    out.note(out.ce.dim(`shuffled order (--seed ${seed}): ${events.map((e) => e.type).join(' → ')}`));
  }
  const requests = events.map((e) =>
    prepareRequest(e, {
      url: settings.target(e.type).value,
      secret,
      headers: options.header,
      fromIp: options.fromIp,
      eventIdSource: eventIdSource(options),
    }),
  );
  if (options.dryRun || options.curl) {
    printPreviews(out, requests, Boolean(options.curl));
    return EXIT.ok;
  }

  const tls = tlsOptionsFrom(options, out.note);
  const interrupt = watchInterrupt();
  const sessionId = requests[0]?.sessionId ?? null;
  let delivered = 0;
  try {
    for (const req of requests) {
      if (interrupt.signal.aborted) break;
      const res = await deliver(req, { ...tls, timeoutMs, signal: interrupt.signal });
      printDelivery(out, req, res, { met: res.ok, expected: '2xx', showUrl: settings.routed });
      if (!res.ok) {
        out.record(
          flowSummaryRecord({ sessionId, outcome, delivered, total: requests.length, stoppedAt: req.eventType }),
        );
        out.line(
          out.c.red(`flow stopped: ${req.eventType} was not accepted; ${delivered} of ${requests.length} delivered`),
        );
        return EXIT.failed;
      }
      delivered++;
    }
    const interrupted = interrupt.signal.aborted && delivered < requests.length;
    out.record(
      flowSummaryRecord({ sessionId, outcome, delivered, total: requests.length, stoppedAt: null, interrupted }),
    );
    const head = interrupted ? out.c.yellow('interrupted') : out.c.green('flow complete');
    out.line(`${head}: session ${safeText(sessionId)}, ${delivered} of ${requests.length} delivered`);
    return interrupted ? EXIT.interrupted : EXIT.ok;
  } finally {
    interrupt.dispose();
  }
}
