import type { CommandDefinition } from '../definition.js';
import { headerOption, jsonOption, secretOption } from '../options.js';

export const verify: CommandDefinition = {
  name: 'verify',
  description: "check a received webhook's signature and shape; explain exactly why a signature fails",
  arguments: [{ name: '[capture]', description: 'a capture file written by `listen --save`' }],
  options: [
    {
      flags: '--request <file>',
      description: 'a raw HTTP request saved as text (request line, headers, blank line, body); - for stdin',
    },
    { flags: '--payload <file>', description: 'the exact body bytes; - for stdin (with --signature or --header)' },
    { flags: '--signature <hex>', description: 'the FaceSign-Signature value to check, with --payload' },
    headerOption('a received header, with --payload (FaceSign-Signature, FaceSign-Event-Id, Content-Type); repeatable'),
    secretOption('', { config: false }),
    { flags: '--strict', description: 'fail (exit 1) on shape warnings too' },
    jsonOption('print the verdict as one JSON object'),
  ],
  examples: [
    'facesign-webhooks verify captures/000001-20261126T064112.123Z-evt_abc.json --secret whsec_test',
    'facesign-webhooks verify --request request.http --strict',
    'facesign-webhooks verify --payload body.json --signature ' +
      '4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3 --secret mysecret',
    'cat body.json | facesign-webhooks verify --payload - --header "FaceSign-Signature: $SIG" --header ' +
      '"FaceSign-Event-Id: evt_123" --json',
  ],
  footer: '\nExit codes: 0 valid, 1 invalid (or warnings under --strict), 2 unreadable input or no secret.\n',
  run: async (options) => (await import('../../commands/verify.js')).runVerify(options),
};
