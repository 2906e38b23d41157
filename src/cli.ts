import { Command, CommanderError, Option, type OutputConfiguration } from 'commander';
import { COMMAND_NAMES, COMMANDS, findCommand } from './cli/commands.js';
import { examples, type CommandDefinition, type CommandOptions, type OptionSpec } from './cli/definition.js';
import { messageWithFlag } from './cli/fields.js';
import { CliError, EXIT } from './errors.js';
import { safeText } from './report/text.js';
import { VERSION } from './version.js';

/*
 * The program, built from the table of command definitions (src/cli/commands.ts). A command's
 * module is imported only when it runs, so `--help` and light commands never load the network code
 * or the prompts. The bin calls main(); this is the one place that reads argv and sets the exit code.
 */

export { COMMAND_NAMES };

/** Runs a parsed command: real runs import and run it; tests capture the options instead. */
export type RunHook = (command: CommandDefinition, options: CommandOptions) => Promise<unknown> | unknown;

export interface ProgramSettings {
  /** Register only this command (a run names one; wiring the other eleven costs a quarter of a start). */
  only?: string;
  onRun?: RunHook;
  /** Where commander writes help and parse errors (tests capture them). */
  output?: OutputConfiguration;
}

async function runCommand(command: CommandDefinition, options: CommandOptions): Promise<void> {
  const code = await command.run(options);
  process.exitCode = typeof code === 'number' ? code : EXIT.ok;
}

function toOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) option.argParser(spec.parse as (value: string, previous: unknown) => unknown);
  if (spec.default !== undefined) option.default(spec.default);
  return option;
}

/** An argument's key in the options object: `[type]` → `type`. */
const argumentKey = (name: string) => name.slice(1, -1);

function addCommand(program: Command, definition: CommandDefinition, onRun: RunHook): void {
  const cmd = program.command(definition.name).description(definition.description);
  for (const alias of definition.aliases ?? []) cmd.alias(alias);
  for (const arg of definition.arguments ?? []) cmd.argument(arg.name, arg.description, arg.default);
  for (const spec of definition.options) cmd.addOption(toOption(spec));
  cmd.addHelpText('after', (definition.notes ?? '') + examples(definition.examples) + (definition.footer ?? ''));
  cmd.action(async () => {
    const args = Object.fromEntries(
      (definition.arguments ?? []).map((arg, i) => [argumentKey(arg.name), cmd.processedArgs[i]]),
    );
    await onRun(definition, { ...cmd.opts(), ...args });
  });
}

/** The program with every command, or with only `only`; parsing runs `onRun` (by default, the command). */
export function buildProgram({ only, onRun = runCommand, output }: ProgramSettings = {}): Command {
  const program = new Command('facesign-webhooks')
    .description("Simulate FaceSign's signed webhooks for local development and CI.")
    .version(VERSION, '-v, --version')
    .option('--debug', 'print stack traces for unexpected errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str), ...output })
    .addHelpText(
      'after',
      examples([
        'facesign-webhooks demo',
        'facesign-webhooks send session.verified --to localhost:3000',
        'facesign-webhooks listen --port 3000',
      ]),
    );
  for (const definition of COMMANDS)
    if (only === undefined || only === definition.name) addCommand(program, definition, onRun);
  return program;
}

/** Prints an error as one line (plus a hint) on stderr and returns the exit code it stands for. */
export function printError(err: unknown, program: Command, debug: boolean): number {
  if (err instanceof CliError) {
    // Messages may quote a file, a capture or a server's answer: escaped, one line each.
    if (err.message) process.stderr.write(`error: ${safeText(messageWithFlag(err, program))}\n`);
    if (err.hint) process.stderr.write(`  hint: ${safeText(err.hint)}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (err instanceof CommanderError) {
    // Help and version end with code 0; every parse error is a usage error.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${safeText(message)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('  hint: this is unexpected; run again with --debug for details and report it\n');
  return EXIT.failed;
}

/** The CLI: parses argv, runs the command it names, prints any error and exits. The bin calls it. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // A closed pipe (`… | head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });
  const program = buildProgram({ only: findCommand(argv[2])?.name });
  const debug = argv.includes('--debug');
  try {
    if (argv.length > 2) await program.parseAsync(argv);
    else if ((await import('./prompts.js')).canPrompt()) {
      // Bare on a terminal: guided send (asks the type, target, secret and overrides).
      await runCommand(findCommand('send')!, {});
    } else {
      program.outputHelp({ error: true });
      process.stderr.write('\nerror: no command given (and no terminal to ask on)\n');
      process.exitCode = EXIT.usage;
    }
  } catch (err) {
    process.exitCode = printError(err, program, debug);
  }
  // A finished command is finished: lingering keep-alive sockets or library timers must not hold
  // the process. Output is flushed first.
  await flushOutput();
  process.exit();
}

function flushOutput(): Promise<void> {
  const pending = [process.stdout, process.stderr].filter((s) => s.writableLength > 0);
  return Promise.all(pending.map((s) => new Promise<void>((resolve) => s.write('', () => resolve())))).then(
    () => undefined,
  );
}
