import { describe, expect, it } from 'vitest';
import { describeSecretAccident, secretFromEnv, warnSecretAccident } from '../../../src/secret.js';

describe('describeSecretAccident', () => {
  it.each([
    ['whsec_abc\n', 'a trailing newline'],
    ['whsec_abc\r\n', 'a trailing CRLF line ending'],
    ['whsec_abc\r', 'a trailing carriage return'],
    ['\nwhsec_abc', 'a leading newline'],
    ['\n\nwhsec_abc', 'leading line breaks'],
    [' whsec_abc', 'a leading space'],
    ['\twhsec_abc', 'a leading tab'],
    ['whsec_abc  ', 'trailing whitespace'],
    ['"whsec_abc"', 'surrounding double quotes'],
    ["'whsec_abc'", 'surrounding single quotes'],
    ['"whsec_abc"\n', 'a trailing newline and surrounding double quotes'],
    ['"whsec_abc', 'a leading quote'],
    ["whsec_abc'", 'a trailing quote'],
    ['whsec_a\nbc', 'a line break inside it'],
  ])('%j has %s', (secret, words) => {
    expect(describeSecretAccident(secret)).toBe(words);
  });

  it.each(['whsec_abc', 'a b c', 'it"s', 'x'])('%j looks clean', (secret) => {
    expect(describeSecretAccident(secret)).toBeUndefined();
  });
});

describe('warnSecretAccident', () => {
  it('writes one line naming the source, never the secret, once per secret', () => {
    const lines: string[] = [];
    const secret = `"whsec_${Date.now()}_unique"`;
    warnSecretAccident(secret, 'env', (l) => lines.push(l));
    warnSecretAccident(secret, 'flag', (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      "warning: the secret from $FACESIGN_WEBHOOK_SECRET has surrounding double quotes; it is used as given — if your endpoint's secret does not, remove them where the secret is set\n",
    );
    expect(lines[0]).not.toContain(secret.slice(1, -1));
  });

  it('says nothing about a clean secret', () => {
    const lines: string[] = [];
    warnSecretAccident('whsec_clean', 'flag', (l) => lines.push(l));
    expect(lines).toEqual([]);
  });
});

describe('secretFromEnv', () => {
  it('reads the named variable; an empty one counts as unset, whitespace is kept as given', () => {
    const env = { APP_SECRET: 'whsec_app', EMPTY: '', SPACE: ' whsec_s ' };
    expect(secretFromEnv(env, 'APP_SECRET')).toBe('whsec_app');
    expect(secretFromEnv(env, 'EMPTY')).toBeUndefined();
    expect(secretFromEnv(env, 'MISSING')).toBeUndefined();
    expect(secretFromEnv(env, 'SPACE')).toBe(' whsec_s ');
  });
});
