import type { CommandDefinition } from '../definition.js';
import { CONFIG_OPTION, eventOptions, jsonOption } from '../options.js';

export const fixtures: CommandDefinition = {
  name: 'fixtures',
  aliases: ['fixture'],
  description: 'print (or export with --out) a freshly built event',
  arguments: [{ name: '[type]', description: 'an event type, its short name (verified), or all' }],
  options: [
    ...eventOptions(),
    { flags: '--out <path>', description: 'write to a file (one type) or a directory (all) instead of stdout' },
    jsonOption('print the event as one compact JSON line'),
    CONFIG_OPTION,
  ],
  examples: [
    'facesign-webhooks fixtures session.failed',
    'facesign-webhooks fixtures all --out ./fixtures-export',
    'facesign-webhooks fixtures verified --set data.metadata.plan=pro',
  ],
  run: async (options) => (await import('../../commands/fixtures.js')).runFixtures(options),
};
