import type { CommandDefinition } from '../definition.js';
import {
  ASKED_ON_A_TERMINAL,
  CONFIG_OPTION,
  headerOption,
  jsonOption,
  secretOption,
  timeoutOption,
  TLS_OPTIONS,
  toOption,
} from '../options.js';
import { collect, numberArg } from '../parse.js';

export const check: CommandDefinition = {
  name: 'check',
  description:
    'a conformance suite for your webhook endpoint: signatures, duplicates, bad input, a burst; exit 1 if any case ' +
    'fails',
  options: [
    toOption('your endpoint'),
    secretOption(ASKED_ON_A_TERMINAL),
    timeoutOption(
      'how long to wait for each full response (default: timeouts.delivery in the project config, else 10000)',
    ),
    {
      flags: '--only <ids>',
      description:
        'run only these cases (comma-separated; groups: valid = the six valid.*, raw-body = the four raw-body.*); ' +
        'repeatable',
      parse: collect,
    },
    { flags: '--skip <ids>', description: 'skip these cases (comma-separated); repeatable', parse: collect },
    {
      flags: '--burst <n>',
      description: 'how many distinct events the burst case sends at once (1-500, default 20)',
      parse: numberArg('--burst', { min: 1 }),
    },
    {
      flags: '--reporter <name>',
      description:
        'human (a table) or junit (XML; to --output, else stdout) (default: junit with --output, else human)',
    },
    { flags: '--output <file>', description: 'write the JUnit XML report here (the table still prints)' },
    headerOption('add a request header to every case; repeatable'),
    ...TLS_OPTIONS,
    jsonOption('print NDJSON on stdout: one object per case, then a summary'),
    CONFIG_OPTION,
  ],
  notes:
    '\nCases: valid.session.created … valid.session.expired, raw-body.utf8, raw-body.escapes,\n' +
    '  raw-body.whitespace, raw-body.numbers, duplicate, wrong-secret, no-signature, malformed-signature,\n' +
    '  tampered-body, unknown-type, burst\n' +
    'Exit: 0 nothing failed (warnings allowed), 1 a case failed or the endpoint is unreachable, 2 usage\n',
  examples: [
    'facesign-webhooks check --to localhost:3000 --secret whsec_test',
    'facesign-webhooks check --to :4000 --reporter junit --output reports/facesign-check.xml',
    'facesign-webhooks check --only valid,duplicate,burst --burst 50',
    'facesign-webhooks check --skip burst --json',
  ],
  run: async (options) => (await import('../../commands/check.js')).runCheckCommand(options),
};
