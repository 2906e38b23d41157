import type { CommandDefinition } from '../definition.js';
import { CONFIG_OPTION, jsonOption, secretOption } from '../options.js';
import { numberArg } from '../parse.js';

export const listen: CommandDefinition = {
  name: 'listen',
  description: 'the built-in test receiver: verifies signatures, de-duplicates, logs, captures, injects faults',
  options: [
    {
      flags: '--port <n>',
      description: 'port to listen on; 0 picks a free one (default: listen.port in the project config, else 3000)',
      parse: numberArg('--port'),
    },
    { flags: '--host <address>', description: 'address to bind', default: '127.0.0.1' },
    {
      flags: '--path <path>',
      description: 'the webhook path (default: listen.path in the project config, else /webhooks/facesign)',
    },
    secretOption(', else one is generated and printed once (with --forward-to: none, signatures are not checked)'),
    {
      flags: '--forward-to <target>',
      description:
        "pass every delivery on to your app, byte for byte, and answer with the app's answer: " +
        'localhost, :4000, 4000, host:port/path or a full URL (a user:password@ in it is sent as Basic auth ' +
        'when the delivery has no Authorization header)',
    },
    {
      flags: '--insecure',
      description:
        "with an https:// --forward-to: accept the app's certificate unchecked (self-signed); prints a warning",
    },
    {
      flags: '--ca <file>',
      description: "with an https:// --forward-to: trust the CA certificates in this PEM file (instead of Node's list)",
    },
    {
      flags: '--forward-timeout <ms>',
      description:
        'how long the app may take to answer a forwarded delivery; then the sender gets 504 ' +
        '(default: timeouts.forward in the project config, else 10000)',
      parse: numberArg('--forward-timeout', { min: 1, unit: 'ms' }),
    },
    {
      flags: '--fail-first <n>',
      description: 'answer --fail-status to the first n attempts of each event id',
      parse: numberArg('--fail-first'),
    },
    {
      flags: '--fail-status <code>',
      description: 'status for --fail-first and --fail-rate (300-599)',
      parse: numberArg('--fail-status'),
      default: 500,
    },
    {
      flags: '--status <code>',
      description: 'always answer this status (a 2xx one still processes the event)',
      parse: numberArg('--status'),
    },
    {
      flags: '--delay <ms>',
      description: 'hold every answer back this long',
      parse: numberArg('--delay', { unit: 'ms' }),
    },
    { flags: '--hang', description: "never answer (to test a sender's timeout)" },
    {
      flags: '--fail-rate <p>',
      description: 'fail this share of deliveries with --fail-status: 0 to 1, or a percentage (30%)',
    },
    { flags: '--seed <n>', description: 'seed for --fail-rate, to repeat a run', parse: numberArg('--seed') },
    {
      flags: '--save <dir>',
      description: 'write each delivery to DIR as a capture file (JSON, raw body in base64), in arrival order',
    },
    {
      flags: '--redact',
      description:
        'replace personal data (names, dates of birth, document numbers, verified_outputs…) in the history ' +
        'and capture files (default: on with --save and --forward-to)',
    },
    { flags: '--no-redact', description: 'keep captures as received, personal data included' },
    { flags: '--keep-raw', description: 'with --redact: keep the received bytes too (raw_body_base64), to verify' },
    {
      flags: '--max-body <size>',
      description: 'answer 413 to bodies over this size (bytes, or 512kb, 2mb)',
      default: '1mb',
    },
    {
      flags: '--exit-after <n>',
      description: 'exit 0 after n accepted deliveries',
      parse: numberArg('--exit-after', { min: 1 }),
    },
    {
      flags: '--max-wait <seconds>',
      description: 'stop after this long; exit 1 if --exit-after was not reached',
      parse: numberArg('--max-wait', { unit: 's' }),
    },
    {
      flags: '--history <n>',
      description: 'how many deliveries GET /__facesign/deliveries keeps',
      parse: numberArg('--history'),
      default: 1000,
    },
    {
      flags: '--history-bytes <size>',
      description: 'the most body bytes the history keeps (oldest dropped first)',
      default: '64mb',
    },
    {
      flags: '--no-ui',
      description: 'no inspector page: / and /__facesign/ui, /stream and /actions answer 404 (the JSON history stays)',
    },
    jsonOption('print NDJSON: a ready object, one object per delivery, then a summary'),
    CONFIG_OPTION,
  ],
  notes:
    '\nVerdicts: wrong path 404, wrong method 405, body over --max-body 413, bad or missing signature 400,\n' +
    '  invalid JSON 400, duplicate event id 200 "Already processed", else 200 "OK".\n' +
    'With --forward-to, listen answers wrong paths, methods, sizes and injected faults itself; every other\n' +
    "  request goes to the app, whose answer the sender gets (listen's verdict is only reported);\n" +
    '  app down or crashing: 502, app too slow (--forward-timeout): 504.\n',
  examples: [
    'facesign-webhooks listen',
    'facesign-webhooks listen --port 4000 --secret whsec_test --save ./captures',
    'facesign-webhooks listen --fail-first 2 --fail-status 503',
    'facesign-webhooks listen --forward-to :4000/webhooks --secret whsec_test --save ./captures',
    'facesign-webhooks listen --forward-to https://localhost:8443/webhooks --ca ./dev-ca.pem',
    'facesign-webhooks listen --port 0 --json --exit-after 3 --max-wait 30',
    'facesign-webhooks listen --no-ui             # no inspector page at http://127.0.0.1:3000/',
    'curl -s localhost:3000/__facesign/deliveries',
    "curl -s 'localhost:3000/__facesign/deliveries?since=100&limit=50'",
  ],
  run: async (options) => (await import('../../commands/listen.js')).runListen(options),
};
