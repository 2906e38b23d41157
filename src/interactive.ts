import { buildEvent } from './events/build.js';
import { parseSetValue, setPath, type JsonObject } from './events/json.js';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, type EventType } from './events/types.js';
import { resolveTarget, TARGET_ENV } from './delivery/target.js';
import { CliError } from './errors.js';
import { resolveSecret, SECRET_ENV } from './secret.js';
import { promptConfirm, promptInput, promptSelect } from './prompts.js';

/*
 * Guided mode's questions. Each asks only for what the options lack and returns the options
 * filled in; the command then runs its normal path with every flag the user gave.
 */

/** The options guided `send` fills in. */
export interface SendInputs {
  type?: string;
  to?: string;
  secret?: string;
  set?: string[];
}

/** Checks one `path=value` override against a throwaway event, so typos are caught at the prompt. */
export function validateOverride(line: string): true | string {
  const eq = line.indexOf('=');
  if (eq <= 0) return 'write it as path=value, e.g. data.metadata.user_id=usr_42';
  try {
    setPath(
      buildEvent('session.created') as unknown as JsonObject,
      line.slice(0, eq),
      parseSetValue(line.slice(eq + 1)),
    );
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
export function askTarget(
  message = 'Target (where your webhook endpoint listens)',
  defaultValue = process.env[TARGET_ENV] ?? 'localhost',
): Promise<string> {
  const validate = (v: string) => (v.trim() === '' ? true : describeTarget(v));
  return promptInput(message, { default: defaultValue, validate });
}

/**
 * Guided mode's questions (np's ui.js pattern): asks only for what the options lack, in the
 * README's order — event type, target (no --to and no $FACESIGN_WEBHOOKS_URL), secret (no --secret
 * and no $FACESIGN_WEBHOOK_SECRET), optional overrides — and returns the options filled in. The
 * caller then runs the normal path with every flag the user gave. Only on a terminal.
 */
export async function askSendInputs<T extends SendInputs>(options: T): Promise<T> {
  const type = await askEventType();
  const to = options.to ?? (process.env[TARGET_ENV] ? undefined : (await askTarget()).trim() || undefined);
  const secret = options.secret ?? (process.env[SECRET_ENV] ? undefined : await resolveSecret(undefined));
  const set = [...(options.set ?? [])];
  if (await promptConfirm('Override any fields?', false)) {
    for (;;) {
      const line = (
        await promptInput('Override (path=value, blank to finish)', {
          validate: (v) => (v.trim() === '' ? true : validateOverride(v.trim())),
        })
      ).trim();
      if (line === '') break;
      set.push(line);
    }
  }
  return { ...options, type, to, secret, set };
}

export function askSendAnother(): Promise<boolean> {
  return promptConfirm('Send another?', false);
}
