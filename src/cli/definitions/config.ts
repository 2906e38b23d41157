import type { CommandDefinition } from '../definition.js';
import { CONFIG_OPTION, jsonOption, secretOption, timeoutOption, toOption } from '../options.js';
import { numberArg } from '../parse.js';

export const config: CommandDefinition = {
  name: 'config',
  description: 'print the resolved project configuration and where each value came from; --init writes a starter file',
  options: [
    CONFIG_OPTION,
    {
      flags: '--init',
      description: 'write a commented starter facesign-webhooks.config.json here (or to --config FILE)',
    },
    { flags: '--force', description: 'with --init: replace an existing file' },
    toOption('the default target, as the sending commands take it'),
    secretOption(),
    timeoutOption('the delivery timeout, as the sending commands take it'),
    {
      flags: '--forward-timeout <ms>',
      description: "listen's --forward-timeout",
      parse: numberArg('--forward-timeout', { min: 1, unit: 'ms' }),
    },
    { flags: '--schedule <delays>', description: "retry-sim's --schedule, e.g. 5s,30s,2m,10m,1h" },
    { flags: '--port <n>', description: "listen's --port", parse: numberArg('--port') },
    { flags: '--path <path>', description: "listen's --path" },
    jsonOption("print one JSON object: each setting with its source, the routes and each type's target"),
  ],
  notes:
    '\nPrecedence: flag > environment ($FACESIGN_WEBHOOKS_URL, the secret variable) > config file > default.\n' +
    'The config is facesign-webhooks.config.json or the "facesign-webhooks" key of package.json, in the\n' +
    '  current folder or the nearest one above it (within the git repository). The secret is masked.\n',
  examples: [
    'facesign-webhooks config',
    'facesign-webhooks config --init',
    'facesign-webhooks config --to :4000 --json',
    'facesign-webhooks config --config ci/facesign-webhooks.config.json',
  ],
  run: async (options) => (await import('../../commands/config.js')).runConfig(options),
};
