import type { CommandDefinition } from '../definition.js';

export const demo: CommandDefinition = {
  name: 'demo',
  description:
    'the whole story in a few seconds: a local receiver, all six events, a flow, a bad signature, a duplicate',
  options: [],
  examples: ['facesign-webhooks demo', 'npm run demo'],
  run: async (options) => (await import('../../commands/demo.js')).runDemo(options),
};
