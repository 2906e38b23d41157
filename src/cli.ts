import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT } from './errors.js';
import { VERSION } from './version.js';

/*
 * Commander wiring only: each action imports its command module when it runs, so `--help` and
 * light commands never load undici or the prompts. This is the one place that sets the exit code.
 */

const collect = (value: string, previous: string[] = []) => [...previous, value];

function intArg(name: string, min = 0) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} takes a whole number${min > 0 ? ` of at least ${min}` : ''}.`);
    }
    return n;
  };
}

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Options for building an event: ids, overrides and a fixture file. */
function withEventOptions(cmd: Command, { eventId = true } = {}): Command {
  if (eventId) cmd.option('--event-id <id>', 'pin the event id (evt_…) instead of a fresh one');
  return cmd
    .option('--session-id <id>', 'pin the session id (vs_…)')
    .option('--user-id <id>', 'pin data.metadata.user_id')
    .option('--set <path=value>', 'set a field (value is JSON if it parses, else a string); repeatable', collect)
    .option('--unset <path>', 'remove a field; repeatable', collect)
    .option('--fixture <file>', "a JSON event (whole or partial) deep-merged over the type's fixture; - for stdin");
}

/** Options for delivering to a target. */
function withTargetOptions(cmd: Command): Command {
  return cmd
    .option('--to <target>', 'where to send: localhost, :4000, 4000, host:port/path or a full URL (default: $FACESIGN_WEBHOOKS_URL, else localhost:3000/webhooks/facesign)')
    .option('--secret <secret>', 'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET, else asked on a terminal)')
    .option('--timeout <ms>', 'how long to wait for a full response', intArg('--timeout', 1), 10_000)
    .option('--header <"Name: value">', 'add a request header; repeatable', collect)
    .option('--from-ip [ip]', 'set X-Forwarded-For to a documented FaceSign address (default 52.89.214.238)')
    .option('--json', 'print NDJSON, one object per line, on stdout');
}

type Runner = () => Promise<number | void> | number | void;

async function run(runner: Runner): Promise<void> {
  const code = await runner();
  process.exitCode = typeof code === 'number' ? code : EXIT.ok;
}

export function buildProgram(): Command {
  const program = new Command('facesign-webhooks')
    .description("Simulate FaceSign's signed webhooks for local development and CI.")
    .version(VERSION, '-v, --version')
    .option('--debug', 'print stack traces for unexpected errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .addHelpText('after', examples('facesign-webhooks demo', 'facesign-webhooks send session.verified --to localhost:3000', 'facesign-webhooks listen --port 3000'));

  program
    .command('events')
    .description('list the six event types and what triggers each')
    .option('--json', 'print NDJSON')
    .addHelpText('after', examples('facesign-webhooks events', 'facesign-webhooks events --json'))
    .action(async (opts) => run(async () => (await import('./commands/events.js')).runEvents(opts)));

  withEventOptions(
    program
      .command('fixtures')
      .alias('fixture')
      .argument('[type]', 'an event type, its short name (verified), or all')
      .description('print (or export with --out) a freshly built event'),
  )
    .option('--out <path>', 'write to a file (one type) or a directory (all) instead of stdout')
    .option('--json', 'print the event as one compact JSON line')
    .addHelpText('after', examples('facesign-webhooks fixtures session.failed', 'facesign-webhooks fixtures all --out ./fixtures-export', 'facesign-webhooks fixtures verified --set data.metadata.plan=pro'))
    .action(async (type, opts) => run(async () => (await import('./commands/fixtures.js')).runFixtures({ ...opts, type })));

  withTargetOptions(
    withEventOptions(
      program
        .command('send')
        .argument('[type]', 'an event type, its short name (verified), or all')
        .description('build, sign and POST events to your endpoint; report each response'),
    ),
  )
    .addOption(new Option('--signature <mode>', 'sign validly, or break it on purpose').choices(['valid', 'invalid', 'missing', 'malformed', 'tampered']).default('valid'))
    .option('--repeat <n>', 'deliver the identical request n times (same id, body and signature)', intArg('--repeat', 1), 1)
    .option('--expect <status>', 'what counts as success for the exit code: 2xx, 4xx, or an exact status', '2xx')
    .option('--dry-run', 'print the request instead of sending it')
    .option('--curl', 'print an equivalent curl command instead of sending')
    // @command-options send
    .addHelpText(
      'after',
      examples(
        'facesign-webhooks send session.verified --to localhost:3000 --secret whsec_test',
        'facesign-webhooks send all --to :4000',
        'facesign-webhooks send failed --signature invalid --expect 4xx',
        'facesign-webhooks send verified --repeat 2 --set data.metadata.user_id=usr_42',
        'facesign-webhooks send verified --dry-run --secret test',
      ),
    )
    .action(async (type, opts) => run(async () => (await import('./commands/send.js')).runSend({ ...opts, type })));

  withTargetOptions(
    withEventOptions(
      program
        .command('flow')
        .argument('<outcome>', 'verified, failed, cancelled or expired')
        .description("deliver one session's whole life: created → started → outcome, with one vs_ id"),
      { eventId: false },
    ),
  )
    .option('--shuffle', 'deliver the events out of order')
    .option('--seed <n>', 'seed for --shuffle, to repeat an order', intArg('--seed'))
    .option('--dry-run', 'print the requests instead of sending them')
    .option('--curl', 'print equivalent curl commands instead of sending')
    .addHelpText('after', examples('facesign-webhooks flow verified --to localhost:3000', 'facesign-webhooks flow failed --shuffle --seed 7'))
    .action(async (outcome, opts) => run(async () => (await import('./commands/flow.js')).runFlow({ ...opts, outcome })));

  program
    .command('sign')
    .description('print the signature of a body (or the full header set, or a ready curl)')
    .option('--payload <file>', 'the exact body bytes; - for stdin', '-')
    .option('--secret <secret>', 'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET)')
    .option('--headers', 'print the full header set FaceSign would send')
    .option('--curl', 'print a curl command that posts the body with those headers')
    .option('--to <target>', 'target for --curl (same shorthand as send)')
    .option('--json', 'print NDJSON')
    .addHelpText('after', examples('facesign-webhooks sign --payload event.json --secret whsec_test', 'cat event.json | facesign-webhooks sign --headers'))
    .action(async (opts) => run(async () => (await import('./commands/sign.js')).runSign(opts)));

  // @command retry-sim
  // @command verify
  // @command listen
  // @command replay
  // @command check
  // @command demo

  return program;
}

function printError(err: unknown, debug: boolean): number {
  if (err instanceof CliError) {
    if (err.message) process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (err instanceof CommanderError) {
    // Help and version end with code 0; every parse error is a usage error.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('  hint: this is unexpected; run again with --debug for details and report it\n');
  return EXIT.failed;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // A closed pipe (`… | head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    if (argv.length <= 2) {
      // @bare-invocation
      program.outputHelp({ error: true });
      process.exitCode = EXIT.usage;
      return;
    }
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = printError(err, debug);
  }
  // Safety net: a lingering socket or timer must never keep a finished command alive.
  setTimeout(() => process.exit(), 2_000).unref();
}

await main();
