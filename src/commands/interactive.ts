import { buildEvent, type BuildOptions } from '../events/build.js';
import { setPath, type JsonObject } from '../events/json.js';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, type EventType } from '../events/types.js';
import { resolveTarget, TARGET_ENV } from '../delivery/target.js';
import { prepareRequest } from '../delivery/request.js';
import { DEFAULT_TIMEOUT_MS } from '../delivery/deliver.js';
import { parseExpectation } from '../delivery/expect.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { createOutput } from '../report/output.js';
import { resolveSecret } from '../secret.js';
import { canPrompt, promptConfirm, promptInput, promptSelect } from '../prompts.js';
import { sendAll, type SendOptions } from './send.js';
import { tlsOptionsFrom } from './shared.js';
import { parseSetValue } from '../events/json.js';

/** Checks one `path=value` override against a throwaway event, so typos are caught at the prompt. */
export function validateOverride(line: string): true | string {
  const eq = line.indexOf('=');
  if (eq <= 0) return 'write it as path=value, e.g. data.metadata.user_id=usr_42';
  try {
    setPath(buildEvent('session.created') as unknown as JsonObject, line.slice(0, eq), parseSetValue(line.slice(eq + 1)));
    return true;
  } catch (err) {
    return err instanceof CliError ? err.message : String(err);
  }
}

function describeTarget(value: string): true | string {
  try {
    resolveTarget(value);
    return true;
  } catch (err) {
    return err instanceof CliError ? `${err.message}${err.hint ? ` — ${err.hint}` : ''}` : String(err);
  }
}

/** Asks for an event type, the six shown with what triggers each. */
export function askEventType(defaultType: EventType = 'session.verified'): Promise<EventType> {
  return promptSelect<EventType>(
    'Event type',
    EVENT_TYPES.map((t) => ({ value: t, name: t, description: `sent when ${EVENT_DESCRIPTIONS[t]}` })),
    defaultType,
  );
}

/** Asks where the endpoint is, validating the `--to` shorthand as it is typed. */
export function askTarget(message = 'Target (where your webhook endpoint listens)', defaultValue = process.env[TARGET_ENV] ?? 'localhost'): Promise<string> {
  return promptInput(message, { default: defaultValue, validate: (v) => (v.trim() === '' ? true : describeTarget(v)) });
}

/**
 * The guided mode: pick an event type, a target and a secret (each only when not already given),
 * optional overrides; send, report, and offer to send another. Only on a terminal.
 */
export async function runInteractive(options: SendOptions = {}): Promise<number> {
  if (!canPrompt()) {
    throw usageError('nothing to do: no command and no terminal to ask on', 'run `facesign-webhooks --help`, or e.g. `facesign-webhooks send session.verified --to localhost:3000`');
  }
  const out = createOutput({ json: options.json });
  const expect = parseExpectation(options.expect);
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
  let type = options.type as EventType | undefined;
  const url = resolveTarget(options.to ?? ((await askTarget()) || undefined));
  const secret = await resolveSecret(options.secret);
  const tls = tlsOptionsFrom(options, out.note);
  let missed = 0;
  {
    for (;;) {
      type ??= await askEventType();
      const set = [...(options.set ?? [])];
      if (await promptConfirm('Override any fields?', false)) {
        for (;;) {
          const line = (await promptInput('Override (path=value, blank to finish)', { validate: (v) => (v.trim() === '' ? true : validateOverride(v.trim())) })).trim();
          if (line === '') break;
          set.push(line);
        }
      }
      const build: BuildOptions = { eventId: options.eventId, sessionId: options.sessionId, userId: options.userId, set, unset: options.unset };
      const req = prepareRequest(buildEvent(type, build), { url, secret, signature: options.signature, headers: options.header, fromIp: options.fromIp });
      const result = await sendAll(out, [req], { repeat: options.repeat ?? 1, timeoutMs, expect, tls });
      missed += result.missed;
      if (!(await promptConfirm('Send another?', false))) break;
      type = undefined;
    }
  }
  return missed > 0 ? EXIT.failed : EXIT.ok;
}
