import type { CommandDefinition } from '../definition.js';
import { jsonOption } from '../options.js';

export const events: CommandDefinition = {
  name: 'events',
  description: 'list the six event types and what triggers each',
  options: [jsonOption()],
  examples: ['facesign-webhooks events', 'facesign-webhooks events --json'],
  run: async (options) => (await import('../../commands/events.js')).runEvents(options),
};
