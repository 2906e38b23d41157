import type { CommandDefinition } from '../definition.js';
import {
  CONFIG_OPTION,
  eventOptions,
  FROM_IP_OPTION,
  headerOption,
  jsonOption,
  secretOption,
  timeoutOption,
  TLS_OPTIONS,
  toOption,
} from '../options.js';
import { numberArg } from '../parse.js';

export const retrySim: CommandDefinition = {
  name: 'retry-sim',
  description:
    "deliver one event on FaceSign's retry schedule (5s, 30s, 2m, 10m, 1h), in real time or compressed; report every " +
    'attempt',
  arguments: [{ name: '[type]', description: 'an event type or its short name (default: session.verified)' }],
  options: [
    ...eventOptions(),
    toOption('your endpoint', 'default: a built-in receiver that fails the first --fail-first attempts'),
    secretOption('; generated for the built-in receiver'),
    {
      flags: '--speed <n>',
      description: 'compress time n-fold: 1 is real time, 3600 turns the hour into a second (default: 1)',
    },
    {
      flags: '--schedule <delays>',
      description:
        'replace the delays before each retry, e.g. 5s,30s,2m,10m,1h (units ms, s, m, h; ' +
        "default: retry.schedule in the project config, else FaceSign's 5s,30s,2m,10m,1h)",
    },
    timeoutOption(
      'how long to wait for a full response, in real time (never compressed) ' +
        '(default: timeouts.delivery in the project config, else 10000)',
    ),
    {
      flags: '--expect <outcome>',
      description: 'what exits 0: the delivery succeeding, or being marked failed',
      choices: ['delivered', 'failed'],
      default: 'delivered',
    },
    {
      flags: '--fail-first <n>',
      description: 'built-in receiver only: answer 500 to the first n attempts (default: 3)',
      parse: numberArg('--fail-first'),
    },
    headerOption(),
    FROM_IP_OPTION,
    ...TLS_OPTIONS,
    jsonOption('print NDJSON: one object per attempt, then a summary'),
    CONFIG_OPTION,
  ],
  examples: [
    'facesign-webhooks retry-sim --speed 1000',
    'facesign-webhooks retry-sim session.failed --to localhost:3000 --secret whsec_test --speed 3600',
    'facesign-webhooks retry-sim --to :4000 --schedule 1s,2s,4s --expect failed',
    'facesign-webhooks retry-sim --fail-first 6 --speed 3600 --json',
  ],
  run: async (options) => (await import('../../commands/retry-sim.js')).runRetrySim(options),
};
