import type { OptionValues } from 'commander';

/** One flag as data; turned into a commander Option only when its command is registered. */
export interface OptionSpec {
  flags: string;
  description: string;
  /** Parses (and validates) a value; gets the previous value too, for repeatable flags. */
  parse?: (value: string, previous: never) => unknown;
  default?: unknown;
  choices?: readonly string[];
}

export interface ArgumentSpec {
  /** `<name>` (required) or `[name]` (optional); the command's options get the value under `name`. */
  name: string;
  description: string;
  default?: string;
}

/** The options object a command's run function takes: flags under their camelCase names, arguments under theirs. */
export type CommandOptions = OptionValues;

/** A command as data: what commander shows and parses, and how it runs. */
export interface CommandDefinition {
  name: string;
  aliases?: readonly string[];
  description: string;
  arguments?: readonly ArgumentSpec[];
  /** In the order --help lists them: shared groups (src/cli/options.ts) and the command's own. */
  options: readonly OptionSpec[];
  /** Help text between the options and the examples. */
  notes?: string;
  examples: readonly string[];
  /** Help text after the examples. */
  footer?: string;
  /** Imports the command module (only now, so --help never loads it) and runs it; resolves to the exit code. */
  run(options: CommandOptions): Promise<number | void>;
}

/** The examples block of a help text. */
export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
