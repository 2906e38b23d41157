import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT } from './errors.js';
import { safeText } from './report/text.js';
import { VERSION } from './version.js';
import { MAX_TIMER_MS } from './retry/clock.js';

/*
 * Commander wiring only: each action imports its command module when it runs, so `--help` and
 * light commands never load the network code or the prompts. This is the one place that sets the exit code.
 */

const collect = (value: string, previous: string[] = []) => [...previous, value];

function intArg(name: string, min = 0, max?: { value: number; why: string }) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} takes a whole number${min > 0 ? ` of at least ${min}` : ''}.`);
    }
    if (max && n > max.value) throw new InvalidArgumentError(`${name} can be at most ${max.value} (${max.why}).`);
    return n;
  };
}

/** A whole number from min to max: listen's flags checked in flag terms (the receiver names its fields). */
function rangeArg(name: string, min: number, max: number) {
  return (value: string) => {
    const n = intArg(name)(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max} (got ${n}).`);
    return n;
  };
}

/** listen's webhook path: starts with / and holds no spaces, ? or #. */
function pathArg(value: string): string {
  if (!value.startsWith('/') || /[\s?#]/.test(value))
    throw new InvalidArgumentError(
      `--path "${value}" must start with / and hold no spaces, ? or # (e.g. /webhooks/facesign).`,
    );
  return value;
}

// A Node timer holds at most 2^31-1 ms; a longer one fires after 1 ms, so such values are refused.
const TIMER_LIMIT = { value: MAX_TIMER_MS, why: 'ms, about 24.8 days: the longest a timer holds' };
const timeoutArg = intArg('--timeout', 1, TIMER_LIMIT);

/** Seconds, decimals allowed, at most what a timer holds. */
function secondsArg(name: string) {
  const maxSeconds = Math.floor(MAX_TIMER_MS / 1000);
  return (value: string) => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} takes a positive number of seconds.`);
    if (n > maxSeconds)
      throw new InvalidArgumentError(
        `${name} can be at most ${maxSeconds} (seconds, about 24.8 days: the longest a timer holds).`,
      );
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

const INSECURE_HELP = "accept the endpoint's TLS certificate unchecked (self-signed); prints a warning";
const CA_HELP = "trust the CA certificates in this PEM file (instead of Node's built-in list) for https:// targets";

/** `--insecure` and `--ca`, on every command that sends (single deliveries go through undici). */
function withTlsOptions(cmd: Command): Command {
  return cmd.option('--insecure', INSECURE_HELP).option('--ca <file>', CA_HELP);
}

/** Options for delivering to a target. */
function withTargetOptions(cmd: Command): Command {
  return withTlsOptions(cmd)
    .option(
      '--to <target>',
      'where to send: localhost, :4000, 4000, host:port/path or a full URL (default: $FACESIGN_WEBHOOKS_URL, else localhost:3000/webhooks/facesign)',
    )
    .option('--secret <secret>', 'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET, else asked on a terminal)')
    .option('--timeout <ms>', 'how long to wait for a full response (default: 10000)', timeoutArg)
    .option('--header <"Name: value">', 'add a request header; repeatable', collect)
    .option('--from-ip [ip]', 'set X-Forwarded-For to a documented FaceSign address (default 52.89.214.238)')
    .option('--json', 'print NDJSON, one object per line, on stdout');
}

type Runner = () => Promise<number | void> | number | void;

async function run(runner: Runner): Promise<void> {
  const code = await runner();
  process.exitCode = typeof code === 'number' ? code : EXIT.ok;
}

/** The command names, for registering only the one a run asks for. */
export const COMMAND_NAMES = [
  'events',
  'fixtures',
  'send',
  'flow',
  'sign',
  'retry-sim',
  'verify',
  'listen',
  'replay',
  'check',
  'demo',
  'schema',
] as const;

/**
 * The program with every command, or with only `only`: a run names one command, and wiring the
 * other ten (their options and help) cost about a quarter of a start.
 */
export function buildProgram(only?: string): Command {
  const wants = (name: string) => only === undefined || only === name;
  const program = new Command('facesign-webhooks')
    .description("Simulate FaceSign's signed webhooks for local development and CI.")
    .version(VERSION, '-v, --version')
    .option('--debug', 'print stack traces for unexpected errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .addHelpText(
      'after',
      examples(
        'facesign-webhooks demo',
        'facesign-webhooks send session.verified --to localhost:3000',
        'facesign-webhooks listen --port 3000',
      ),
    );

  if (wants('events')) {
    program
      .command('events')
      .description('list the six event types and what triggers each')
      .option('--json', 'print NDJSON')
      .addHelpText('after', examples('facesign-webhooks events', 'facesign-webhooks events --json'))
      .action(async (opts) => run(async () => (await import('./commands/events.js')).runEvents(opts)));
  }

  if (wants('fixtures')) {
    withEventOptions(
      program
        .command('fixtures')
        .alias('fixture')
        .argument('[type]', 'an event type, its short name (verified), or all')
        .description('print (or export with --out) a freshly built event'),
    )
      .option('--out <path>', 'write to a file (one type) or a directory (all) instead of stdout')
      .option('--json', 'print the event as one compact JSON line')
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks fixtures session.failed',
          'facesign-webhooks fixtures all --out ./fixtures-export',
          'facesign-webhooks fixtures verified --set data.metadata.plan=pro',
        ),
      )
      .action(async (type, opts) =>
        run(async () => (await import('./commands/fixtures.js')).runFixtures({ ...opts, type })),
      );
  }

  if (wants('send')) {
    withTargetOptions(
      withEventOptions(
        program
          .command('send')
          .argument('[type]', 'an event type, its short name (verified), or all')
          .description('build, sign and POST events to your endpoint; report each response'),
      ),
    )
      .addOption(
        new Option('--signature <mode>', 'sign validly, or break it on purpose')
          .choices(['valid', 'invalid', 'missing', 'malformed', 'tampered'])
          .default('valid'),
      )
      .option(
        '--repeat <n>',
        'deliver the identical request n times (same id, body and signature) (default: 1)',
        intArg('--repeat', 1),
      )
      .option(
        '--expect <status>',
        'what counts as success for the exit code: 2xx, 4xx, or an exact status (default: 2xx)',
      )
      .option('--dry-run', 'print the request instead of sending it')
      .option('--curl', 'print an equivalent curl command instead of sending')
      .option(
        '--count <n>',
        'load mode: send n distinct events (fresh ids, each signed) and report rates and latency',
        intArg('--count', 1),
      )
      .option('--concurrency <n>', 'load mode: requests in flight at once (default: 16)', intArg('--concurrency', 1))
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks send session.verified --to localhost:3000 --secret whsec_test',
          'facesign-webhooks send all --to :4000',
          'facesign-webhooks send failed --signature invalid --expect 4xx',
          'facesign-webhooks send verified --repeat 2 --set data.metadata.user_id=usr_42',
          'facesign-webhooks send verified --dry-run --secret test',
          'facesign-webhooks send all --count 20000 --concurrency 64 --to :3000',
          'facesign-webhooks send verified --to https://localhost:8443/hooks --ca ./dev-ca.pem',
          'HTTPS_PROXY=http://127.0.0.1:8080 facesign-webhooks send verified --to https://staging.example.com/hooks',
        ),
      )
      .action(async (type, opts) => run(async () => (await import('./commands/send.js')).runSend({ ...opts, type })));
  }

  if (wants('flow')) {
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
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks flow verified --to localhost:3000',
          'facesign-webhooks flow failed --shuffle --seed 7',
        ),
      )
      .action(async (outcome, opts) =>
        run(async () => (await import('./commands/flow.js')).runFlow({ ...opts, outcome })),
      );
  }

  if (wants('sign')) {
    program
      .command('sign')
      .description('print the signature of a body (or the full header set, or a ready curl)')
      .option('--payload <file>', 'the exact body bytes; - for stdin (the default when piped)')
      .option('--secret <secret>', 'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET)')
      .option('--headers', 'print the full header set FaceSign would send')
      .option('--curl', 'print a curl command that posts the body with those headers')
      .option('--to <target>', 'target for --curl (same shorthand as send)')
      .option('--json', 'print NDJSON')
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks sign --payload event.json --secret whsec_test',
          'cat event.json | facesign-webhooks sign --headers',
        ),
      )
      .action(async (opts) => run(async () => (await import('./commands/sign.js')).runSign(opts)));
  }

  // @command retry-sim
  if (wants('retry-sim')) {
    withEventOptions(
      program
        .command('retry-sim')
        .argument('[type]', 'an event type or its short name (default: session.verified)')
        .description(
          "deliver one event on FaceSign's retry schedule (5s, 30s, 2m, 10m, 1h), in real time or compressed; report every attempt",
        ),
    )
      .option(
        '--to <target>',
        'your endpoint: localhost, :4000, 4000, host:port/path or a full URL (default: a built-in receiver that fails the first --fail-first attempts)',
      )
      .option(
        '--secret <secret>',
        'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET; generated for the built-in receiver)',
      )
      .option('--speed <n>', 'compress time n-fold: 1 is real time, 3600 turns the hour into a second (default: 1)')
      .option('--schedule <delays>', 'replace the delays before each retry, e.g. 5s,30s,2m,10m,1h (units ms, s, m, h)')
      .option(
        '--timeout <ms>',
        'how long to wait for a full response, in real time (never compressed) (default: 10000)',
        timeoutArg,
      )
      .addOption(
        new Option('--expect <outcome>', 'what exits 0: the delivery succeeding, or being marked failed')
          .choices(['delivered', 'failed'])
          .default('delivered'),
      )
      .option(
        '--fail-first <n>',
        'built-in receiver only: answer 500 to the first n attempts (default: 3)',
        intArg('--fail-first'),
      )
      .option('--header <"Name: value">', 'add a request header; repeatable', collect)
      .option('--from-ip [ip]', 'set X-Forwarded-For to a documented FaceSign address (default 52.89.214.238)')
      .option('--insecure', INSECURE_HELP)
      .option('--ca <file>', CA_HELP)
      .option('--json', 'print NDJSON: one object per attempt, then a summary')
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks retry-sim --speed 1000',
          'facesign-webhooks retry-sim session.failed --to localhost:3000 --secret whsec_test --speed 3600',
          'facesign-webhooks retry-sim --to :4000 --schedule 1s,2s,4s --expect failed',
          'facesign-webhooks retry-sim --fail-first 6 --speed 3600 --json',
        ),
      )
      .action(async (type, opts) =>
        run(async () => (await import('./commands/retry-sim.js')).runRetrySim({ ...opts, type })),
      );
  }
  // @command verify
  if (wants('verify')) {
    program
      .command('verify')
      .argument('[capture]', 'a capture file written by `listen --save`')
      .description("check a received webhook's signature and shape; explain exactly why a signature fails")
      .option(
        '--request <file>',
        'a raw HTTP request saved as text (request line, headers, blank line, body); - for stdin',
      )
      .option('--payload <file>', 'the exact body bytes; - for stdin (with --signature or --header)')
      .option('--signature <hex>', 'the FaceSign-Signature value to check, with --payload')
      .option(
        '--header <"Name: value">',
        'a received header, with --payload (FaceSign-Signature, FaceSign-Event-Id, Content-Type); repeatable',
        collect,
      )
      .option('--secret <secret>', 'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET)')
      .option('--strict', 'fail (exit 1) on shape warnings too')
      .option('--json', 'print the verdict as one JSON object')
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks verify captures/000001-20261126T064112.123Z-evt_abc.json --secret whsec_test',
          'facesign-webhooks verify --request request.http --strict',
          'facesign-webhooks verify --payload body.json --signature 4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3 --secret mysecret',
          'cat body.json | facesign-webhooks verify --payload - --header "FaceSign-Signature: $SIG" --header "FaceSign-Event-Id: evt_123" --json',
        ) + '\nExit codes: 0 valid, 1 invalid (or warnings under --strict), 2 unreadable input or no secret.\n',
      )
      .action(async (capture, opts) =>
        run(async () => (await import('./commands/verify.js')).runVerify({ ...opts, capture })),
      );
  }
  // @command listen
  if (wants('listen')) {
    program
      .command('listen')
      .description('the built-in test receiver: verifies signatures, de-duplicates, logs, captures, injects faults')
      .option('--port <n>', 'port to listen on; 0 picks a free one', rangeArg('--port', 0, 65535), 3000)
      .option('--host <address>', 'address to bind', '127.0.0.1')
      .option('--path <path>', 'the webhook path', pathArg, '/webhooks/facesign')
      .option(
        '--secret <secret>',
        `the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET, else one is generated and printed once)`,
      )
      .option(
        '--fail-first <n>',
        'answer --fail-status to the first n attempts of each event id',
        intArg('--fail-first'),
      )
      .option(
        '--fail-status <code>',
        'status for --fail-first and --fail-rate (300-599)',
        rangeArg('--fail-status', 300, 599),
        500,
      )
      .option('--status <code>', 'always answer this status (a 2xx one still processes the event)', intArg('--status'))
      .option('--delay <ms>', 'hold every answer back this long', intArg('--delay', 0, TIMER_LIMIT))
      .option('--hang', "never answer (to test a sender's timeout)")
      .option('--fail-rate <p>', 'fail this share of deliveries with --fail-status: 0 to 1, or a percentage (30%)')
      .option('--seed <n>', 'seed for --fail-rate, to repeat a run', intArg('--seed'))
      .option(
        '--save <dir>',
        'write each delivery to DIR as a capture file (JSON, raw body in base64), in arrival order',
      )
      .option('--max-body <size>', 'answer 413 to bodies over this size (bytes, or 512kb, 2mb)', '1mb')
      .option('--exit-after <n>', 'exit 0 after n accepted deliveries', intArg('--exit-after', 1))
      .option(
        '--max-wait <seconds>',
        'stop after this long; exit 1 if --exit-after was not reached',
        secondsArg('--max-wait'),
      )
      .option('--history <n>', `how many deliveries GET /__facesign/deliveries keeps`, intArg('--history'), 1000)
      .option('--history-bytes <size>', 'the most body bytes the history keeps (oldest dropped first)', '64mb')
      .option('--json', 'print NDJSON: a ready object, one object per delivery, then a summary')
      .addHelpText(
        'after',
        '\nVerdicts: wrong path 404, wrong method 405, body over --max-body 413, bad or missing signature 400,\n  invalid JSON 400, duplicate event id 200 "Already processed", else 200 "OK".\n' +
          examples(
            'facesign-webhooks listen',
            'facesign-webhooks listen --port 4000 --secret whsec_test --save ./captures',
            'facesign-webhooks listen --fail-first 2 --fail-status 503',
            'facesign-webhooks listen --port 0 --json --exit-after 3 --max-wait 30',
            'curl -s localhost:3000/__facesign/deliveries',
            "curl -s 'localhost:3000/__facesign/deliveries?since=100&limit=50'",
          ),
      )
      .action(async (opts) => run(async () => (await import('./commands/listen.js')).runListen(opts)));
  }
  // @command replay
  if (wants('replay')) {
    program
      .command('replay')
      .argument('<capture>', 'a capture file, or a directory of them (as `listen --save` writes)')
      .description(
        'resend captured deliveries byte for byte, with their original signature and event id, in arrival order',
      )
      .option(
        '--to <target>',
        'where to send: localhost, :4000, 4000, host:port/path or a full URL (default: $FACESIGN_WEBHOOKS_URL, else localhost:3000/webhooks/facesign)',
      )
      .option(
        '--only <outcomes>',
        'replay only captures listen gave this verdict: accepted, duplicate, rejected, fault (comma-separated); repeatable',
        collect,
      )
      .option(
        '--type <types>',
        'replay only these event types (short names accepted; comma-separated); repeatable',
        collect,
      )
      .option('--event-id <ids>', 'replay only these event ids (comma-separated); repeatable', collect)
      .option(
        '--resign',
        'sign each body again with --secret (or $FACESIGN_WEBHOOK_SECRET); captures whose signature listen did not find valid keep theirs',
      )
      .option(
        '--resign-all',
        'like --resign, but also sign captures whose original signature was missing or invalid (tampered, wrong secret)',
      )
      .option('--secret <secret>', 'the secret for --resign')
      .option('--timeout <ms>', 'how long to wait for a full response (default: 10000)', timeoutArg)
      .option('--expect <status>', 'what counts as success for the exit code: 2xx, 4xx, or an exact status', '2xx')
      .option('--insecure', INSECURE_HELP)
      .option('--ca <file>', CA_HELP)
      .option('--json', 'print NDJSON, one object per replayed delivery, then a summary')
      .addHelpText(
        'after',
        examples(
          'facesign-webhooks replay ./captures --to localhost:4000',
          'facesign-webhooks replay ./captures/000003-20261126T064112.123Z-evt_abc.json --to :4000',
          'facesign-webhooks replay ./captures --to :4000 --resign --secret whsec_new',
          'facesign-webhooks replay ./captures --to :4000 --only accepted --type failed,expired',
          'facesign-webhooks replay ./captures --to :4000 --event-id evt_0123456789abcdef01234567',
        ),
      )
      .action(async (capture, opts) =>
        run(async () => (await import('./commands/replay.js')).runReplay({ ...opts, capture })),
      );
  }
  // @command check
  if (wants('check')) {
    program
      .command('check')
      .description(
        'a conformance suite for your webhook endpoint: signatures, duplicates, bad input, a burst; exit 1 if any case fails',
      )
      .option(
        '--to <target>',
        'your endpoint: localhost, :4000, 4000, host:port/path or a full URL (default: $FACESIGN_WEBHOOKS_URL, else localhost:3000/webhooks/facesign)',
      )
      .option('--secret <secret>', 'the endpoint secret (default: $FACESIGN_WEBHOOK_SECRET, else asked on a terminal)')
      .option('--timeout <ms>', 'how long to wait for each full response (default: 10000)', timeoutArg)
      .option(
        '--only <ids>',
        'run only these cases (comma-separated; groups: valid = the six valid.*, raw-body = the four raw-body.*); repeatable',
        collect,
      )
      .option('--skip <ids>', 'skip these cases (comma-separated); repeatable', collect)
      .option(
        '--burst <n>',
        'how many distinct events the burst case sends at once (1-500, default 20)',
        intArg('--burst', 1),
      )
      .option(
        '--reporter <name>',
        'human (a table) or junit (XML; to --output, else stdout) (default: junit with --output, else human)',
      )
      .option('--output <file>', 'write the JUnit XML report here (the table still prints)')
      .option('--header <"Name: value">', 'add a request header to every case; repeatable', collect)
      .option('--insecure', INSECURE_HELP)
      .option('--ca <file>', CA_HELP)
      .option('--json', 'print NDJSON on stdout: one object per case, then a summary')
      .addHelpText(
        'after',
        `\nCases: valid.session.created … valid.session.expired, raw-body.utf8, raw-body.escapes,\n  raw-body.whitespace, raw-body.numbers, duplicate, wrong-secret, no-signature, malformed-signature,\n  tampered-body, unknown-type, burst\nExit: 0 nothing failed (warnings allowed), 1 a case failed or the endpoint is unreachable, 2 usage\n` +
          examples(
            'facesign-webhooks check --to localhost:3000 --secret whsec_test',
            'facesign-webhooks check --to :4000 --reporter junit --output reports/facesign-check.xml',
            'facesign-webhooks check --only valid,duplicate --burst 50',
            'facesign-webhooks check --skip burst --json',
          ),
      )
      .action(async (opts) => run(async () => (await import('./commands/check.js')).runCheckCommand(opts)));
  }
  // @command schema
  if (wants('schema')) {
    program
      .command('schema')
      .argument('[type]', 'an event type or its short name (verified), envelope, or all', 'all')
      .description(
        'print JSON Schema (draft 2020-12) for the envelope and the six events, or an OpenAPI 3.1 document of the webhooks',
      )
      .addOption(
        new Option('--format <format>', 'json-schema, or openapi (a webhooks section, one entry per event type)')
          .choices(['json-schema', 'openapi'])
          .default('json-schema'),
      )
      .option(
        '--out <dir>',
        'write the documents to this directory instead of stdout (all: one file per type, the envelope and the combined schema)',
      )
      .option('--json', 'print the document as one compact line (with --out: one NDJSON record per file written)')
      .addHelpText(
        'after',
        "\nDescriptions mark the simulator's assumptions (fields FaceSign's docs do not show).\n" +
          examples(
            'facesign-webhooks schema                                # all six: $defs per type, oneOf on type',
            'facesign-webhooks schema verified > session.verified.schema.json',
            'facesign-webhooks schema envelope',
            'facesign-webhooks schema all --out ./schemas',
            'facesign-webhooks schema --format openapi > facesign-webhooks.openapi.json',
          ),
      )
      .action(async (type, opts) =>
        run(async () => (await import('./commands/schema.js')).runSchema({ ...opts, type })),
      );
  }
  // @command demo
  if (wants('demo')) {
    program
      .command('demo')
      .description(
        'the whole story in a few seconds: a local receiver, all six events, a flow, a bad signature, a duplicate',
      )
      .addHelpText('after', examples('facesign-webhooks demo', 'npm run demo'))
      .action(async () => run(async () => (await import('./commands/demo.js')).runDemo({})));
  }

  return program;
}

function printError(err: unknown, debug: boolean): number {
  if (err instanceof CliError) {
    // Messages may quote a file, a capture or a server's answer: escaped, one line each.
    if (err.message) process.stderr.write(`error: ${safeText(err.message)}\n`);
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

export async function main(argv: string[] = process.argv): Promise<void> {
  // A closed pipe (`… | head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });
  const named = argv[2] === 'fixture' ? 'fixtures' : argv[2];
  const program = buildProgram((COMMAND_NAMES as readonly string[]).includes(named ?? '') ? named : undefined);
  const debug = argv.includes('--debug');
  try {
    if (argv.length > 2) await program.parseAsync(argv);
    else if ((await import('./prompts.js')).canPrompt()) {
      // Bare on a terminal: guided send (asks the type, target, secret and overrides).
      await run(async () => (await import('./commands/send.js')).runSend({}));
    } else {
      program.outputHelp({ error: true });
      process.stderr.write('\nerror: no command given (and no terminal to ask on)\n');
      process.exitCode = EXIT.usage;
    }
  } catch (err) {
    process.exitCode = printError(err, debug);
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

await main();
