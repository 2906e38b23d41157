import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../../src/verify/verdict.js';

describe('verifyWebhook on a body nested 100,000 levels deep', () => {
  it('gives a verdict (a mismatch is diagnosed without re-serializing), never a stack overflow', () => {
    const deep = `{"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const verdict = verifyWebhook({ body: Buffer.from(deep), signature: 'a'.repeat(64), secret: 'whsec_x' });
    expect(verdict.ok).toBe(false);
    expect(verdict.signature.reason).toBe('mismatch');
    expect(verdict.signature.cause?.id).not.toBe('json-reserialized');
  });
});
