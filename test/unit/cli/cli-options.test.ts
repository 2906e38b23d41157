import { CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, COMMAND_NAMES, printError } from '../../../src/cli.js';
import { COMMANDS } from '../../../src/cli/commands.js';
import { messageWithFlag } from '../../../src/cli/fields.js';
import { FieldError, usageError } from '../../../src/errors.js';

/*
 * argv → the options object each command's run function gets, with the program built but not run:
 * the run step is replaced by one that records what it was given. Each row is parsed twice, by the
 * full program and by the program a real run builds (only the named command registered).
 */

interface Parsed {
  command: string;
  options: Record<string, unknown>;
}

async function parse(argv: string[], only?: string): Promise<Parsed> {
  let parsed: Parsed | undefined;
  const program = buildProgram({
    only,
    onRun: (command, options) => void (parsed = { command: command.name, options }),
    output: { writeOut: () => {}, writeErr: () => {} },
  });
  await program.parseAsync(argv, { from: 'user' });
  if (!parsed) throw new Error(`${argv.join(' ')} ran nothing`);
  return parsed;
}

const EVENT_ARGV = ['--session-id', 'vs_1', '--user-id', 'usr_1', '--set', 'a=1', '--set', 'b.c="x"'];
const EVENT_OPTIONS = { sessionId: 'vs_1', userId: 'usr_1', set: ['a=1', 'b.c="x"'] };
const EVENT_MORE_ARGV = ['--event-id', 'evt_1', '--unset', 'data.x', '--unset', 'data.y', '--fixture', '-'];
const EVENT_MORE_OPTIONS = { eventId: 'evt_1', unset: ['data.x', 'data.y'], fixture: '-' };
const TLS_ARGV = ['--insecure', '--ca', 'ca.pem'];
const TLS_OPTIONS = { insecure: true, ca: 'ca.pem' };
const TARGET_ARGV = [
  '--to',
  ':4000',
  '--secret',
  'whsec_x',
  '--timeout',
  '500',
  '--header',
  'A: 1',
  '--header',
  'B: 2',
];
const TARGET_OPTIONS = { to: ':4000', secret: 'whsec_x', timeout: 500, header: ['A: 1', 'B: 2'] };
const LISTEN_DEFAULTS = {
  port: 3000,
  host: '127.0.0.1',
  path: '/webhooks/facesign',
  failStatus: 500,
  maxBody: '1mb',
  history: 1000,
  historyBytes: '64mb',
  ui: true,
};

const ROWS: [string[], string, Record<string, unknown>][] = [
  [['events'], 'events', {}],
  [['events', '--json'], 'events', { json: true }],
  [['fixtures'], 'fixtures', { type: undefined }],
  [['fixture', 'verified', '--json'], 'fixtures', { type: 'verified', json: true }],
  [['fixtures', 'all', '--out', 'dir', ...EVENT_ARGV], 'fixtures', { type: 'all', out: 'dir', ...EVENT_OPTIONS }],
  [['fixtures', 'failed', ...EVENT_MORE_ARGV], 'fixtures', { type: 'failed', ...EVENT_MORE_OPTIONS }],
  [['send'], 'send', { type: undefined, signature: 'valid' }],
  [
    ['send', 'verified', ...TARGET_ARGV, '--from-ip', '--json', ...TLS_ARGV],
    'send',
    { type: 'verified', signature: 'valid', ...TARGET_OPTIONS, fromIp: true, json: true, ...TLS_OPTIONS },
  ],
  [['send', 'all', '--from-ip', '52.1.2.3'], 'send', { type: 'all', signature: 'valid', fromIp: '52.1.2.3' }],
  [
    ['send', 'failed', '--signature', 'tampered', '--repeat', '3', '--expect', '4xx', '--dry-run', '--curl'],
    'send',
    { type: 'failed', signature: 'tampered', repeat: 3, expect: '4xx', dryRun: true, curl: true },
  ],
  [
    ['send', 'all', '--count', '20', '--concurrency', '4', ...EVENT_ARGV, ...EVENT_MORE_ARGV],
    'send',
    { type: 'all', signature: 'valid', count: 20, concurrency: 4, ...EVENT_OPTIONS, ...EVENT_MORE_OPTIONS },
  ],
  [['flow', 'verified'], 'flow', { outcome: 'verified' }],
  [
    ['flow', 'failed', '--shuffle', '--seed', '7', '--dry-run', '--curl', ...EVENT_ARGV],
    'flow',
    { outcome: 'failed', shuffle: true, seed: 7, dryRun: true, curl: true, ...EVENT_OPTIONS },
  ],
  [
    ['flow', 'expired', ...TARGET_ARGV, ...TLS_ARGV, '--from-ip', '--json'],
    'flow',
    { outcome: 'expired', ...TARGET_OPTIONS, ...TLS_OPTIONS, fromIp: true, json: true },
  ],
  [['sign'], 'sign', {}],
  [
    ['sign', '--payload', 'b.json', '--secret', 's', '--headers', '--curl', '--to', ':4000', '--json'],
    'sign',
    { payload: 'b.json', secret: 's', headers: true, curl: true, to: ':4000', json: true },
  ],
  [['retry-sim'], 'retry-sim', { type: undefined, expect: 'delivered' }],
  [
    ['retry-sim', 'failed', '--speed', '3600', '--schedule', '1s,2s', '--expect', 'failed', '--fail-first', '0'],
    'retry-sim',
    { type: 'failed', speed: '3600', schedule: '1s,2s', expect: 'failed', failFirst: 0 },
  ],
  [
    ['retry-sim', ...TARGET_ARGV, ...TLS_ARGV, '--from-ip', '--json', ...EVENT_MORE_ARGV],
    'retry-sim',
    {
      type: undefined,
      expect: 'delivered',
      ...TARGET_OPTIONS,
      ...TLS_OPTIONS,
      fromIp: true,
      json: true,
      ...EVENT_MORE_OPTIONS,
    },
  ],
  [['verify'], 'verify', { capture: undefined }],
  [
    ['verify', 'c.json', '--secret', 's', '--strict', '--json'],
    'verify',
    { capture: 'c.json', secret: 's', strict: true, json: true },
  ],
  [
    ['verify', '--payload', '-', '--signature', 'ab', '--header', 'X: 1', '--header', 'Y: 2', '--request', 'r.http'],
    'verify',
    { capture: undefined, payload: '-', signature: 'ab', header: ['X: 1', 'Y: 2'], request: 'r.http' },
  ],
  [['listen'], 'listen', LISTEN_DEFAULTS],
  [
    ['listen', '--port', '0', '--host', '::1', '--path', '/h', '--secret', 's', '--fail-first', '2'],
    'listen',
    { ...LISTEN_DEFAULTS, port: 0, host: '::1', path: '/h', secret: 's', failFirst: 2 },
  ],
  [
    ['listen', '--fail-status', '503', '--status', '202', '--delay', '100', '--hang', '--fail-rate', '30%'],
    'listen',
    { ...LISTEN_DEFAULTS, failStatus: 503, status: 202, delay: 100, hang: true, failRate: '30%' },
  ],
  [
    ['listen', '--seed', '1', '--save', 'caps', '--max-body', '2mb', '--exit-after', '3', '--max-wait', '1.5'],
    'listen',
    { ...LISTEN_DEFAULTS, seed: 1, save: 'caps', maxBody: '2mb', exitAfter: 3, maxWait: 1.5 },
  ],
  [
    ['listen', '--history', '10', '--history-bytes', '1kb', '--json'],
    'listen',
    { ...LISTEN_DEFAULTS, history: 10, historyBytes: '1kb', json: true },
  ],
  [['listen', '--no-ui'], 'listen', { ...LISTEN_DEFAULTS, ui: false }],
  [['replay', 'caps'], 'replay', { capture: 'caps', expect: '2xx' }],
  [
    ['replay', 'caps', '--only', 'accepted', '--only', 'fault,rejected', '--type', 'failed', '--event-id', 'evt_1'],
    'replay',
    { capture: 'caps', expect: '2xx', only: ['accepted', 'fault,rejected'], type: ['failed'], eventId: ['evt_1'] },
  ],
  [
    [
      'replay',
      'c.json',
      '--resign',
      '--resign-all',
      '--secret',
      's',
      '--timeout',
      '9',
      '--expect',
      '4xx',
      '--to',
      ':1',
    ],
    'replay',
    { capture: 'c.json', resign: true, resignAll: true, secret: 's', timeout: 9, expect: '4xx', to: ':1' },
  ],
  [['replay', 'caps', ...TLS_ARGV, '--json'], 'replay', { capture: 'caps', expect: '2xx', ...TLS_OPTIONS, json: true }],
  [['check'], 'check', {}],
  [['check', ...TARGET_ARGV, ...TLS_ARGV, '--json'], 'check', { ...TARGET_OPTIONS, ...TLS_OPTIONS, json: true }],
  [
    ['check', '--only', 'valid', '--only', 'duplicate', '--skip', 'burst', '--burst', '50'],
    'check',
    { only: ['valid', 'duplicate'], skip: ['burst'], burst: 50 },
  ],
  [['check', '--reporter', 'junit', '--output', 'r.xml'], 'check', { reporter: 'junit', output: 'r.xml' }],
  [['schema'], 'schema', { type: 'all', format: 'json-schema' }],
  [
    ['schema', 'verified', '--format', 'openapi', '--out', 'd', '--json'],
    'schema',
    { type: 'verified', format: 'openapi', out: 'd', json: true },
  ],
  [['demo'], 'demo', {}],
];

describe('argv → the options each command runs with', () => {
  it.each(ROWS)('%j', async (argv, command, options) => {
    for (const only of [undefined, command]) {
      const parsed = await parse(argv, only);
      expect(parsed.command).toBe(command);
      // Strict: no stray keys, and an absent argument is there as undefined, as the commands expect.
      expect(parsed.options).toStrictEqual(options);
    }
  });

  it('the table covers every command, and COMMAND_NAMES lists them', () => {
    expect([...new Set(ROWS.map(([, command]) => command))].sort()).toEqual([...COMMAND_NAMES].sort());
    expect(COMMAND_NAMES).toEqual(COMMANDS.map((c) => c.name));
  });

  it('a run registers only the command it names', () => {
    for (const name of COMMAND_NAMES) {
      expect(buildProgram({ only: name }).commands.map((c) => c.name())).toEqual([name]);
    }
    expect(buildProgram().commands.map((c) => c.name())).toEqual(COMMAND_NAMES);
  });
});

/** Each bad value is a commander error that names the flag (or argument), and exits 2. */
const BAD: [string[], string][] = [
  [['send', '--repeat', '0'], '--repeat takes a whole number of at least 1'],
  [['send', '--count', 'x'], '--count takes a whole number of at least 1'],
  [['send', '--concurrency', '0'], '--concurrency takes a whole number of at least 1'],
  [['send', '--timeout', '0'], '--timeout takes a whole number of at least 1'],
  [['send', '--timeout', '2147483648'], '--timeout can be at most 2147483647 (ms'],
  [['send', '--signature', 'bogus'], "'--signature <mode>' argument 'bogus' is invalid"],
  [['send', '--unknown'], "unknown option '--unknown'"],
  [['flow'], "missing required argument 'outcome'"],
  [['flow', 'verified', '--seed', '1.5'], '--seed takes a whole number'],
  [['flow', 'verified', '--event-id', 'evt_1'], "unknown option '--event-id'"],
  [['retry-sim', '--fail-first', '-1'], '--fail-first takes a whole number'],
  [['retry-sim', '--expect', 'maybe'], "'--expect <outcome>' argument 'maybe' is invalid"],
  [['retry-sim', '--timeout', '1e3'], '--timeout takes a whole number of at least 1'],
  [['listen', '--port', 'abc'], '--port takes a whole number'],
  [['listen', '--delay', '2147483648'], '--delay can be at most 2147483647 (ms'],
  [['listen', '--max-wait', '0'], '--max-wait takes a positive number of seconds'],
  [['listen', '--max-wait', '2147484'], '--max-wait can be at most 2147483 (seconds'],
  [['listen', '--exit-after', '0'], '--exit-after takes a whole number of at least 1'],
  [['listen', '--history', '-5'], '--history takes a whole number'],
  [['listen', '--fail-status', 'five'], '--fail-status takes a whole number'],
  [['listen', '--status', ''], '--status takes a whole number'],
  [['listen', '--seed', '0x10'], '--seed takes a whole number'],
  [['replay'], "missing required argument 'capture'"],
  [['replay', 'caps', '--timeout', 'soon'], '--timeout takes a whole number of at least 1'],
  [['check', '--burst', '0'], '--burst takes a whole number of at least 1'],
  [['schema', '--format', 'yaml'], "'--format <format>' argument 'yaml' is invalid"],
  [['sign', '--payload'], "option '--payload <file>' argument missing"],
  [['nonsense'], "unknown command 'nonsense'"],
];

describe('bad values are usage errors naming the flag', () => {
  it.each(BAD)('%j', async (argv, message) => {
    const program = buildProgram({ onRun: () => {}, output: { writeOut: () => {}, writeErr: () => {} } });
    const err = await program.parseAsync(argv, { from: 'user' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommanderError);
    expect((err as CommanderError).message).toContain(message);
    expect(printError(err, program, false)).toBe(2);
  });
});

describe('core field errors are shown under their flag', () => {
  afterEach(() => vi.restoreAllMocks());
  const listen = buildProgram({ only: 'listen' });
  const send = buildProgram({ only: 'send' });

  it.each<[string, string, string]>([
    ['port', 'port must be an integer 0–65535 (got 70000)', '--port must be an integer 0–65535 (got 70000)'],
    ['failStatus', 'failStatus must be 300–599 (got 200)', '--fail-status must be 300–599 (got 200)'],
    ['maxBodyBytes', 'maxBodyBytes must be at least 1', '--max-body must be at least 1'],
    ['historyMaxBytes', 'historyMaxBytes must be at least 1', '--history-bytes must be at least 1'],
    ['delayMs', 'delayMs: too long', '--delay: too long'],
    // Not at the start, or only a prefix of a longer word: left as written.
    ['port', 'the port 70000 is out of range', 'the port 70000 is out of range'],
    ['port', 'portal must be set', 'portal must be set'],
    // A field no flag feeds reads as the core wrote it.
    ['nothing', 'nothing must be here', 'nothing must be here'],
  ])('%s: %s', (field, message, shown) => {
    expect(messageWithFlag(new FieldError(field, message), listen)).toBe(shown);
  });

  it('a field maps to the running command’s flag, and plain CLI errors are left alone', () => {
    expect(messageWithFlag(new FieldError('timeoutMs', 'timeoutMs must be positive'), send)).toBe(
      '--timeout must be positive',
    );
    expect(messageWithFlag(new FieldError('concurrency', 'concurrency must be ≥ 1'), send)).toBe(
      '--concurrency must be ≥ 1',
    );
    expect(messageWithFlag(usageError('port must be 1'), listen)).toBe('port must be 1');
  });

  it('printError prints the flag, keeps the hint, and exits 2', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const code = printError(
      new FieldError('port', 'port must be an integer 0–65535 (got 70000)', 'try 3000'),
      listen,
      false,
    );
    expect(code).toBe(2);
    expect(lines).toEqual(['error: --port must be an integer 0–65535 (got 70000)\n', '  hint: try 3000\n']);
  });
});
