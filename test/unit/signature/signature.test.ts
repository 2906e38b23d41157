import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../../../src/signature/index.js';

// Published vectors: GitHub's webhook docs and @octokit/webhooks-methods' tests (hex HMAC-SHA256).
const GITHUB = {
  secret: "It's a Secret to Everybody",
  body: 'Hello, World!',
  hex: '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};
const OCTOKIT = {
  secret: 'mysecret',
  body: '{"foo":"bar"}',
  hex: '4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3',
};

describe('signPayload', () => {
  it.each([GITHUB, OCTOKIT])('matches the published vector for $secret', ({ secret, body, hex }) => {
    expect(signPayload(body, secret)).toBe(hex);
    expect(signPayload(Buffer.from(body), secret)).toBe(hex);
  });
});

describe('verifySignature', () => {
  it('accepts the published vectors', () => {
    expect(verifySignature(GITHUB.body, GITHUB.hex, GITHUB.secret)).toMatchObject({ ok: true });
    expect(verifySignature(Buffer.from(OCTOKIT.body), OCTOKIT.hex, OCTOKIT.secret)).toMatchObject({ ok: true });
  });
  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['abc', 'malformed'],
    [`sha256=${GITHUB.hex}`, 'prefixed'],
    [GITHUB.hex.toUpperCase(), 'uppercase'],
    ['0'.repeat(64), 'mismatch'],
    [42, 'malformed'],
  ])('gives a verdict, never an exception, for %s', (signature, reason) => {
    expect(verifySignature(GITHUB.body, signature, GITHUB.secret)).toMatchObject({ ok: false, reason });
  });
  it('rejects a body changed by one byte', () => {
    expect(verifySignature(`${GITHUB.body} `, GITHUB.hex, GITHUB.secret).ok).toBe(false);
  });
});
