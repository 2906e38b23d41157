import type { CommandDefinition } from '../definition.js';
import { jsonOption } from '../options.js';

export const schema: CommandDefinition = {
  name: 'schema',
  description:
    'print JSON Schema (draft 2020-12) for the envelope and the six events, or an OpenAPI 3.1 document of the webhooks',
  arguments: [
    { name: '[type]', description: 'an event type or its short name (verified), envelope, or all', default: 'all' },
  ],
  options: [
    {
      flags: '--format <format>',
      description: 'json-schema, or openapi (a webhooks section, one entry per event type)',
      choices: ['json-schema', 'openapi'],
      default: 'json-schema',
    },
    {
      flags: '--out <dir>',
      description:
        'write the documents to this directory instead of stdout (all: one file per type, the envelope and the ' +
        'combined schema)',
    },
    jsonOption('print the document as one compact line (with --out: one NDJSON record per file written)'),
  ],
  notes: "\nDescriptions mark the simulator's assumptions (fields FaceSign's docs do not show).\n",
  examples: [
    'facesign-webhooks schema                                # all six: $defs per type, oneOf on type',
    'facesign-webhooks schema verified > session.verified.schema.json',
    'facesign-webhooks schema envelope',
    'facesign-webhooks schema all --out ./schemas',
    'facesign-webhooks schema --format openapi > facesign-webhooks.openapi.json',
  ],
  run: async (options) => (await import('../../commands/schema.js')).runSchema(options),
};
