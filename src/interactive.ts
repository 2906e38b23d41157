import { buildEvent } from './events/build.js';
import { parseSetValue, setPath, type JsonObject } from './events/json.js';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, type EventType } from './events/types.js';
import type { ProjectSettings } from './config/resolve.js';
import { displayUrl, resolveTarget } from './delivery/target.js';
import { CliError } from './errors.js';
import { resolveSecret } from './secret.js';
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

/** Asks for an event type, the six shown with what triggers each, then `all`. */
export function askEventType(defaultType: EventType = 'session.verified'): Promise<EventType | 'all'> {
  return promptSelect<EventType | 'all'>(
    'Event type',
    [
      ...EVENT_TYPES.map((t) => ({ value: t, name: t, description: `sent when ${EVENT_DESCRIPTIONS[t]}` })),
      { value: 'all', name: 'all', description: 'the six types in order, each to its own target' },
    ],
    defaultType,
  );
}

/** Asks where the endpoint is, validating the `--to` shorthand as it is typed; blank keeps the default. */
export function askTarget(
  message = 'Target (where your webhook endpoint listens)',
  defaultValue?: string,
): Promise<string> {
  const validate = (v: string) => (v.trim() === '' ? true : describeTarget(v));
  return promptInput(message, { default: defaultValue, validate });
}

/**
 * The target question for `type`, its default where the run would send without an answer (the
 * config's route for the type, else its `to`, else localhost). Accepting the default returns
 * undefined, so the routes stay in effect (for other types and `all`); a typed target holds for
 * every type. Not asked when --to or $FACESIGN_WEBHOOKS_URL already names one.
 */
async function askTargetFor(type: EventType | 'all', settings: ProjectSettings): Promise<string | undefined> {
  const { kind } = settings.target().source;
  if (kind === 'flag' || kind === 'env') return undefined;
  if (type === 'all' && settings.routed) {
    const file = settings.config?.label ?? 'the config';
    return (await askTarget(`Target (blank: each type to its route in ${file})`)).trim() || undefined;
  }
  const resolved = type === 'all' ? settings.target() : settings.target(type);
  const shown = displayUrl(resolved.value);
  const { source } = resolved;
  const why =
    source.kind === 'config' ? `default from ${source.label}, ${source.key}` : 'where your webhook endpoint listens';
  const answer = (await askTarget(`Target (${why})`, shown)).trim();
  if (answer === '' || answer === shown) return undefined;
  // A typed URL that is where the route already points keeps the routes too.
  return resolveTarget(answer, {}) === resolved.value ? undefined : answer;
}

/** What guided send remembers between rounds: the target once chosen, and the secret. */
export interface GuidedSession {
  targetChosen?: boolean;
}

/**
 * Guided mode's questions (np's ui.js pattern): asks only for what the options lack, in the
 * README's order — event type, target (no --to and no $FACESIGN_WEBHOOKS_URL; asked once per
 * session), secret (no --secret and nothing in the variable the config's `secretEnv` names),
 * optional overrides — and returns the options filled in. The caller then runs the normal path
 * with every flag the user gave. Only on a terminal.
 */
export async function askSendInputs<T extends SendInputs>(
  options: T,
  settings: ProjectSettings,
  session: GuidedSession = {},
): Promise<T> {
  const type = await askEventType();
  const to = options.to ?? (session.targetChosen ? undefined : await askTargetFor(type, settings));
  session.targetChosen = true;
  const envName = settings.secretEnv.value;
  const secret =
    options.secret ?? (process.env[envName] ? undefined : await resolveSecret(undefined, process.env, envName));
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
