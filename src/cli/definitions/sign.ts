import type { CommandDefinition } from '../definition.js';
import { jsonOption, secretOption } from '../options.js';

export const sign: CommandDefinition = {
  name: 'sign',
  description: 'print the signature of a body (or the full header set, or a ready curl)',
  options: [
    { flags: '--payload <file>', description: 'the exact body bytes; - for stdin (the default when piped)' },
    secretOption('', { config: false }),
    { flags: '--headers', description: 'print the full header set FaceSign would send' },
    { flags: '--curl', description: 'print a curl command that posts the body with those headers' },
    { flags: '--to <target>', description: 'target for --curl (same shorthand as send)' },
    jsonOption(),
  ],
  examples: [
    'facesign-webhooks sign --payload event.json --secret whsec_test',
    'cat event.json | facesign-webhooks sign --headers',
  ],
  run: async (options) => (await import('../../commands/sign.js')).runSign(options),
};
