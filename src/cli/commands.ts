import type { CommandDefinition } from './definition.js';
import { check } from './definitions/check.js';
import { config } from './definitions/config.js';
import { demo } from './definitions/demo.js';
import { events } from './definitions/events.js';
import { fixtures } from './definitions/fixtures.js';
import { flow } from './definitions/flow.js';
import { listen } from './definitions/listen.js';
import { replay } from './definitions/replay.js';
import { retrySim } from './definitions/retry-sim.js';
import { schema } from './definitions/schema.js';
import { send } from './definitions/send.js';
import { sign } from './definitions/sign.js';
import { verify } from './definitions/verify.js';

/** Every command, in the order --help lists them. Adding a command means adding a definition here. */
export const COMMANDS: readonly CommandDefinition[] = [
  events,
  fixtures,
  send,
  flow,
  sign,
  retrySim,
  verify,
  listen,
  replay,
  check,
  schema,
  config,
  demo,
];

export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.name);

/** The command a name or alias (`fixture`) stands for. */
export function findCommand(name: string | undefined): CommandDefinition | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name ?? ''));
}
