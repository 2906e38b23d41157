import type { OptionSpec } from './definition.js';
import { collect, numberArg } from './parse.js';

/*
 * Flags several commands share, written once. A group is a list of specs; a command lists the
 * groups and its own flags in the order its --help shows them.
 */

const TARGET_FORMS = 'localhost, :4000, 4000, host:port/path or a full URL';
const TARGET_DEFAULT =
  'default: $FACESIGN_WEBHOOKS_URL, else the route for the type or "to" in the project config, ' +
  'else localhost:3000/webhooks/facesign';

/** `--to`: the shorthands every sending command accepts, and where it sends without the flag. */
export function toOption(lead = 'where to send', fallback = TARGET_DEFAULT): OptionSpec {
  return { flags: '--to <target>', description: `${lead}: ${TARGET_FORMS} (${fallback})` };
}

/** `--secret`, with what happens when neither the flag nor the environment gives one. */
/** `--secret`; `config: false` for the commands that never read the project config (its secretEnv). */
export function secretOption(otherwise = '', { config = true } = {}): OptionSpec {
  const variable = config
    ? '$FACESIGN_WEBHOOK_SECRET or the variable the config\'s "secretEnv" names'
    : '$FACESIGN_WEBHOOK_SECRET';
  return {
    flags: '--secret <secret>',
    description: `the endpoint secret (default: ${variable}${otherwise})`,
  };
}
export const ASKED_ON_A_TERMINAL = ', else asked on a terminal';

export function timeoutOption(
  description = 'how long to wait for a full response (default: timeouts.delivery in the project config, else 10000)',
): OptionSpec {
  return { flags: '--timeout <ms>', description, parse: numberArg('--timeout', { min: 1, unit: 'ms' }) };
}

export function headerOption(description = 'add a request header; repeatable'): OptionSpec {
  return { flags: '--header <"Name: value">', description, parse: collect };
}

export function jsonOption(description = 'print NDJSON'): OptionSpec {
  return { flags: '--json', description };
}

export const FROM_IP_OPTION: OptionSpec = {
  flags: '--from-ip [ip]',
  description: 'set X-Forwarded-For to a documented FaceSign address (default 52.89.214.238)',
};

/** `--insecure` and `--ca`, on every command that sends (single deliveries go through undici). */
export const TLS_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--insecure',
    description: "accept the endpoint's TLS certificate unchecked (self-signed); prints a warning",
  },
  {
    flags: '--ca <file>',
    description: "trust the CA certificates in this PEM file (instead of Node's built-in list) for https:// targets",
  },
];

/** `--config FILE`, on every command that reads a project setting. */
export const CONFIG_OPTION: OptionSpec = {
  flags: '--config <file>',
  description:
    'read the project config from this file (a facesign-webhooks.config.json, or a package.json with a ' +
    '"facesign-webhooks" key) instead of searching up from the current folder',
};

/** Delivering to a target: TLS, target, secret, timeout, headers, the source address and --json. */
export const TARGET_OPTIONS: readonly OptionSpec[] = [
  ...TLS_OPTIONS,
  toOption(),
  secretOption(ASKED_ON_A_TERMINAL),
  timeoutOption(),
  headerOption(),
  FROM_IP_OPTION,
  jsonOption('print NDJSON, one object per line, on stdout'),
  CONFIG_OPTION,
];

/** Building an event: ids, overrides and a fixture file (`flow` pins no event id: it sends three). */
export function eventOptions({ eventId = true } = {}): OptionSpec[] {
  const id: OptionSpec[] = eventId
    ? [{ flags: '--event-id <id>', description: 'pin the event id (evt_…) instead of a fresh one' }]
    : [];
  return [
    ...id,
    { flags: '--session-id <id>', description: 'pin the session id (vs_…)' },
    { flags: '--user-id <id>', description: 'pin data.metadata.user_id' },
    {
      flags: '--set <path=value>',
      description: 'set a field (value is JSON if it parses, else a string); repeatable',
      parse: collect,
    },
    { flags: '--unset <path>', description: 'remove a field; repeatable', parse: collect },
    {
      flags: '--fixture <file>',
      description: "a JSON event (whole or partial) deep-merged over the type's fixture; - for stdin",
    },
  ];
}
