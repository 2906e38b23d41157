import type { CommandDefinition } from '../definition.js';
import { eventOptions, TARGET_OPTIONS } from '../options.js';
import { numberArg } from '../parse.js';

export const send: CommandDefinition = {
  name: 'send',
  description: 'build, sign and POST events to your endpoint; report each response',
  arguments: [{ name: '[type]', description: 'an event type, its short name (verified), or all' }],
  options: [
    ...eventOptions(),
    ...TARGET_OPTIONS,
    {
      flags: '--signature <mode>',
      description: 'sign validly, or break it on purpose',
      choices: ['valid', 'invalid', 'missing', 'malformed', 'tampered'],
      default: 'valid',
    },
    {
      flags: '--repeat <n>',
      description: 'deliver the identical request n times (same id, body and signature) (default: 1)',
      parse: numberArg('--repeat', { min: 1 }),
    },
    {
      flags: '--expect <status>',
      description: 'what counts as success for the exit code: 2xx, 4xx, or an exact status (default: 2xx)',
    },
    { flags: '--dry-run', description: 'print the request instead of sending it' },
    { flags: '--curl', description: 'print an equivalent curl command instead of sending' },
    {
      flags: '--count <n>',
      description: 'load mode: send n distinct events (fresh ids, each signed) and report rates and latency',
      parse: numberArg('--count', { min: 1 }),
    },
    {
      flags: '--concurrency <n>',
      description: 'load mode: requests in flight at once (default: 16)',
      parse: numberArg('--concurrency', { min: 1 }),
    },
  ],
  examples: [
    'facesign-webhooks send session.verified --to localhost:3000 --secret whsec_test',
    'facesign-webhooks send all --to :4000',
    'facesign-webhooks send failed --signature invalid --expect 4xx',
    'facesign-webhooks send verified --repeat 2 --set data.metadata.user_id=usr_42',
    'facesign-webhooks send verified --dry-run --secret test',
    'facesign-webhooks send all --count 20000 --concurrency 64 --to :3000',
    'facesign-webhooks send verified --to https://localhost:8443/hooks --ca ./dev-ca.pem',
    'HTTPS_PROXY=http://127.0.0.1:8080 facesign-webhooks send verified --to https://staging.example.com/hooks',
  ],
  run: async (options) => (await import('../../commands/send.js')).runSend(options),
};
