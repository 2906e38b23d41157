import type { Command } from 'commander';
import { FieldError } from '../errors.js';

/*
 * Core functions name their own fields in errors (`port must be …`); the CLI shows the flag the
 * user typed (`--port must be …`). A field named like a flag's camelCase (`failStatus`) maps by
 * itself; these are the core fields whose names differ from the flag that feeds them.
 */
const CORE_FIELD_FLAGS: Readonly<Record<string, string>> = {
  maxBodyBytes: '--max-body',
  delayMs: '--delay',
  historyLimit: '--history',
  historyMaxBytes: '--history-bytes',
  maxWaitMs: '--max-wait',
  timeoutMs: '--timeout',
  forwardTimeoutMs: '--forward-timeout',
  forwardInsecure: '--insecure',
  forwardCa: '--ca',
};

/** The flag a field error stands for, among the flags the program's commands define. */
export function flagForField(program: Command, field: string): string | undefined {
  for (const command of [program, ...program.commands]) {
    const option = command.options.find((o) => o.attributeName() === field);
    if (option?.long) return option.long;
  }
  return CORE_FIELD_FLAGS[field];
}

/** The message of an error as the user should read it: a field error speaks of its flag. */
export function messageWithFlag(err: Error, program: Command): string {
  if (!(err instanceof FieldError)) return err.message;
  const flag = flagForField(program, err.field);
  const rest = err.message.slice(err.field.length);
  return flag && err.message.startsWith(err.field) && !/^[\w-]/.test(rest) ? flag + rest : err.message;
}
