import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/validate.js';
import { CliError } from '../../../src/errors.js';

const FILE = 'facesign-webhooks.config.json';

function refusal(value: unknown): CliError {
  try {
    validateConfig(value, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return err as CliError;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('validateConfig', () => {
  it('returns the settings typed: durations in ms, targets expanded, routes in file order', () => {
    const config = validateConfig(
      {
        $schema: './node_modules/facesign-webhooks/schema/config.schema.json',
        '//': 'a comment',
        to: ':4000',
        secretEnv: 'MY_SECRET',
        timeouts: { delivery: '2s', forward: 1500, $comment: 'ms or a unit' },
        retry: { schedule: ['1s', '2m'] },
        listen: { port: 0, path: '/hooks' },
        routes: { '//': 'x', 'session.*': 'localhost:5000', 'session.failed': 'https://example.test/f' },
        fixtures: { 'session.verified': { data: { metadata: { plan: 'pro' } } } },
      },
      FILE,
    );
    expect(config).toEqual({
      to: { target: ':4000', url: 'http://localhost:4000/webhooks/facesign' },
      secretEnv: 'MY_SECRET',
      timeouts: { delivery: 2000, forward: 1500 },
      retry: { schedule: [1000, 120000] },
      listen: { port: 0, path: '/hooks' },
      routes: [
        { pattern: 'session.*', target: 'localhost:5000', url: 'http://localhost:5000/webhooks/facesign' },
        { pattern: 'session.failed', target: 'https://example.test/f', url: 'https://example.test/f' },
      ],
      fixtures: { 'session.verified': { data: { metadata: { plan: 'pro' } } } },
    });
  });

  it('refuses a secret pasted as secretEnv without echoing it', () => {
    for (const secret of ['whsec_abc123', 'whsec_-hTILXfBpa3FlBPFJsY8YP-KxDc6ujd5']) {
      const err = refusal({ secretEnv: secret });
      expect(err.message).toMatch(/: secretEnv holds a secret \(whsec_…\), not the name of the variable/);
      expect(err.hint).toMatch(/"secretEnv": "FACESIGN_WEBHOOK_SECRET"/);
      expect(`${err.message}\n${err.hint}`).not.toContain(secret);
    }
  });

  it('accepts the schedule as a comma-separated string too', () => {
    expect(validateConfig({ retry: { schedule: '5s, 30s' } }, FILE).retry).toEqual({ schedule: [5000, 30000] });
  });

  const bad: [string, unknown, RegExp, RegExp][] = [
    ['a secret', { secret: 'whsec_x' }, /: secret is not allowed/, /"secretEnv"/],
    ['a nested secret', { listen: { secret: 'x' } }, /: listen\.secret is not allowed/, /secretEnv/],
    [
      'an unknown key, with the nearest',
      { secretEnvv: 'X' },
      /secretEnvv is not a known key/,
      /did you mean "secretEnv"/,
    ],
    ['an unknown nested key', { listen: { prot: 1 } }, /listen\.prot is not a known key/, /did you mean "port"/],
    ['not an object', [], /a config must be a JSON object \(got an array\)/, /e\.g\./],
    ['a wrong type', { listen: 'x' }, /listen must be an object \(got a string\)/, /e\.g\./],
    ['a bad port', { listen: { port: 70000 } }, /listen\.port must be a whole number from 0 to 65535/, /3000/],
    ['a bad path', { listen: { path: 'hooks' } }, /listen\.path must be a path starting with \//, /e\.g\./],
    [
      "a path under listen's own endpoints",
      { listen: { path: '/__facesign/hooks' } },
      /listen\.path "\/__facesign\/hooks" is reserved: \/__facesign\/ holds the receiver's own endpoints/,
      /choose another/,
    ],
    ['a bad URL', { to: 'ftp://x' }, /to "ftp:\/\/x" uses ftp:/, /localhost:3000/],
    [
      'a bad port in a route',
      { routes: { 'session.failed': ':0' } },
      /routes\["session\.failed"\] ":0" has an invalid port/,
      /1 to 65535/,
    ],
    [
      'a route that is not a string',
      { routes: { 'session.failed': 4000 } },
      /routes\["session\.failed"\] must be a string/,
      /e\.g\./,
    ],
    [
      'a bad glob',
      { routes: { 'session.**': ':4000' } },
      /routes\["session\.\*\*"\] is not a valid glob/,
      /session\.\*/,
    ],
    [
      'a glob with other wildcards',
      { routes: { 'session.?': ':4000' } },
      /is not a valid glob: a pattern holds/,
      /session\.\*/,
    ],
    [
      'a glob matching no type',
      { routes: { 'order.*': ':4000' } },
      /routes\["order\.\*"\] matches no event type/,
      /^a glob must match one of the types: session\.created/,
    ],
    [
      'a mistyped glob, with the nearest that matches',
      { routes: { 'sessoin.*': ':4000' } },
      /routes\["sessoin\.\*"\] matches no event type/,
      /^did you mean "session\.\*"\?/,
    ],
    [
      'a mistyped suffix glob, with the nearest that matches',
      { routes: { '*.faild': ':4000' } },
      /routes\["\*\.faild"\] matches no event type/,
      /^did you mean "\*\.failed"\?/,
    ],
    [
      'an unknown type in routes',
      { routes: { 'session.verifed': ':4000' } },
      /routes\["session\.verifed"\] is not an event type/,
      /did you mean "session\.verified"/,
    ],
    [
      'a short name in fixtures',
      { fixtures: { failed: {} } },
      /fixtures\["failed"\] is not an event type/,
      /did you mean "session\.failed"/,
    ],
    [
      'a fixture that is not an object',
      { fixtures: { 'session.failed': 'x' } },
      /fixtures\["session\.failed"\] must be an object/,
      /e\.g\./,
    ],
    [
      'a fixture of another type',
      { fixtures: { 'session.failed': { type: 'session.verified' } } },
      /fixtures\["session\.failed"\]\.type is "session\.verified"/,
      /remove "type"/,
    ],
    ['a duration without a unit', { timeouts: { delivery: '10' } }, /timeouts\.delivery "10" has no unit/, /10s/],
    [
      'a zero timeout',
      { timeouts: { delivery: 0 } },
      /timeouts\.delivery must be a whole number of ms, at least 1/,
      /10s/,
    ],
    [
      'a forward timeout over an hour',
      { timeouts: { forward: '2h' } },
      /timeouts\.forward can be at most 3600000 ms/,
      /shorter/,
    ],
    [
      'a schedule entry that is not a string',
      { retry: { schedule: ['1s', 2] } },
      /retry\.schedule\[1\] must be a duration string/,
      /5s/,
    ],
    [
      'a schedule of 21 delays',
      { retry: { schedule: Array(21).fill('1s') } },
      /retry\.schedule the schedule has 21 delays/,
      /5s,30s/,
    ],
    [
      'a secretEnv that is no variable name',
      { secretEnv: 'MY SECRET' },
      /secretEnv must be an environment variable's name/,
      /FACESIGN_WEBHOOK_SECRET/,
    ],
  ];
  for (const [name, value, message, hint] of bad)
    it(`refuses ${name}, naming the file and the key, with the fix`, () => {
      const err = refusal(value);
      expect(err.message.startsWith(`${FILE}: `)).toBe(true);
      expect(err.message).toMatch(message);
      expect(err.hint).toMatch(hint);
      expect(err.message).not.toContain('\n');
    });

  it('never echoes a refused secret', () => {
    const err = refusal({ secret: 'whsec_do_not_print_me' });
    expect(`${err.message} ${err.hint}`).not.toContain('whsec_do_not_print_me');
  });
});
