import type { CommandDefinition } from '../definition.js';
import { CONFIG_OPTION, jsonOption, timeoutOption, TLS_OPTIONS, toOption } from '../options.js';
import { collect } from '../parse.js';

export const replay: CommandDefinition = {
  name: 'replay',
  description: 'resend captured deliveries byte for byte, with their original signature and event id, in arrival order',
  arguments: [{ name: '<capture>', description: 'a capture file, or a directory of them (as `listen --save` writes)' }],
  options: [
    toOption(),
    {
      flags: '--only <outcomes>',
      description:
        'replay only captures listen gave this verdict: accepted, duplicate, rejected, fault (comma-separated); ' +
        'repeatable',
      parse: collect,
    },
    {
      flags: '--type <types>',
      description: 'replay only these event types (short names accepted; comma-separated); repeatable',
      parse: collect,
    },
    {
      flags: '--event-id <ids>',
      description: 'replay only these event ids (comma-separated); repeatable',
      parse: collect,
    },
    {
      flags: '--resign',
      description:
        'sign each body again with --secret (or $FACESIGN_WEBHOOK_SECRET, or the variable the config\'s "secretEnv" ' +
        'names); captures whose signature listen did not ' +
        'find valid keep theirs',
    },
    {
      flags: '--resign-all',
      description:
        'like --resign, but also sign captures whose original signature was missing or invalid (tampered, wrong ' +
        'secret)',
    },
    { flags: '--secret <secret>', description: 'the secret for --resign' },
    timeoutOption(),
    {
      flags: '--expect <status>',
      description: 'what counts as success for the exit code: 2xx, 4xx, or an exact status',
      default: '2xx',
    },
    ...TLS_OPTIONS,
    jsonOption('print NDJSON, one object per replayed delivery, then a summary'),
    CONFIG_OPTION,
  ],
  examples: [
    'facesign-webhooks replay ./captures --to localhost:4000',
    'facesign-webhooks replay ./captures/000003-20261126T064112.123Z-evt_abc.json --to :4000',
    'facesign-webhooks replay ./captures --to :4000 --resign --secret whsec_new',
    'facesign-webhooks replay ./captures --to :4000 --only accepted --type failed,expired',
    'facesign-webhooks replay ./captures --to :4000 --event-id evt_0123456789abcdef01234567',
  ],
  run: async (options) => {
    const { runReplay } = await import('../../commands/replay.js');
    // The <capture> argument is required, so commander always fills it in.
    return runReplay(options as Parameters<typeof runReplay>[0]);
  },
};
