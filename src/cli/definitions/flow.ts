import type { CommandDefinition } from '../definition.js';
import { eventOptions, TARGET_OPTIONS } from '../options.js';
import { numberArg } from '../parse.js';

export const flow: CommandDefinition = {
  name: 'flow',
  description: "deliver one session's whole life: created → started → outcome, with one vs_ id",
  arguments: [{ name: '<outcome>', description: 'verified, failed, cancelled or expired' }],
  options: [
    ...eventOptions({ eventId: false }),
    ...TARGET_OPTIONS,
    { flags: '--shuffle', description: 'deliver the events out of order' },
    { flags: '--seed <n>', description: 'seed for --shuffle, to repeat an order', parse: numberArg('--seed') },
    { flags: '--dry-run', description: 'print the requests instead of sending them' },
    { flags: '--curl', description: 'print equivalent curl commands instead of sending' },
  ],
  examples: ['facesign-webhooks flow verified --to localhost:3000', 'facesign-webhooks flow failed --shuffle --seed 7'],
  run: async (options) => {
    const { runFlow } = await import('../../commands/flow.js');
    // The <outcome> argument is required, so commander always fills it in.
    return runFlow(options as Parameters<typeof runFlow>[0]);
  },
};
