import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { SCHEMA_REFERENCE } from '../../../src/config/schema.js';
import { starterConfig } from '../../../src/config/starter.js';
import { validateConfig } from '../../../src/config/validate.js';

/*
 * The shipped JSON Schema (schema/config.schema.json, for editors) and the hand-written validator
 * must agree: each good config passes both, each bad one fails both. A few checks only the
 * validator can make (a glob that matches no type, a delay over 24 h) are listed apart.
 */

const schemaText = readFileSync(new URL('../../../schema/config.schema.json', import.meta.url), 'utf8');
// ajv's default strict mode: an unknown keyword or a contradiction fails to compile.
const ajv = new Ajv({ allErrors: true });
const validateSchema = ajv.compile(JSON.parse(schemaText) as object);

function byValidator(value: unknown): boolean {
  try {
    validateConfig(value, 'c.json');
    return true;
  } catch {
    return false;
  }
}

const GOOD: [string, unknown][] = [
  ['empty', {}],
  ['the starter file', JSON.parse(starterConfig())],
  [
    'everything',
    {
      $schema: SCHEMA_REFERENCE,
      '//': ['comments', 'anywhere'],
      $comment: 'also a comment',
      to: 'https://staging.example.com/webhooks/facesign',
      secretEnv: 'STAGING_FACESIGN_SECRET',
      timeouts: { '//': 'ms or units', delivery: 2500, forward: '30s' },
      retry: { schedule: ['5s', '30s', '2m', '10m', '1h'] },
      listen: { port: 0, path: '/api/webhooks/facesign' },
      routes: {
        '//': 'comment',
        'session.verified': 'localhost:4001/hooks/verified',
        'session.*': ':4002',
        '*.failed': '127.0.0.1:4003/f',
        '*': '4004',
      },
      fixtures: {
        $comment: 'x',
        'session.verified': { data: { metadata: { plan: 'pro', '//': 'inside a fixture this is data' } } },
        'session.failed': { type: 'session.failed', data: { last_error: { code: 'face_mismatch' } } },
      },
    },
  ],
  ['a schedule string', { retry: { schedule: '1s, 2s,3m' } }],
  ['a comment-only routes object', { routes: { '//': 'none yet' } }],
];

const BAD: [string, unknown][] = [
  ['a secret', { secret: 'whsec_x' }],
  ['a secret under listen', { listen: { secret: 'x' } }],
  ['an unknown key', { rotues: {} }],
  ['an unknown nested key', { timeouts: { connect: 100 } }],
  ['an array', []],
  ['to as a number', { to: 4000 }],
  ['to with another scheme', { to: 'ftp://example.com' }],
  ['to with a space', { to: 'local host' }],
  ['an empty to', { to: '' }],
  ['secretEnv with a dash', { secretEnv: 'MY-SECRET' }],
  ['a secret pasted as secretEnv', { secretEnv: 'whsec_abc123' }],
  ['a fractional timeout', { timeouts: { delivery: 1.5 } }],
  ['a timeout without a unit', { timeouts: { delivery: '10' } }],
  ['a zero timeout', { timeouts: { delivery: 0 } }],
  ['a schedule number', { retry: { schedule: [5] } }],
  ['an empty schedule', { retry: { schedule: [] } }],
  ['a schedule of 21', { retry: { schedule: Array(21).fill('1s') } }],
  ['a port out of range', { listen: { port: 65536 } }],
  ['a port as a string', { listen: { port: '3000' } }],
  ['a relative path', { listen: { path: 'hooks' } }],
  ['a path with a query', { listen: { path: '/hooks?x=1' } }],
  ['a route to a number', { routes: { 'session.failed': 4000 } }],
  ['a route with a bad scheme', { routes: { 'session.failed': 'ws://x' } }],
  ['an unknown type in routes', { routes: { 'session.verifed': ':4000' } }],
  ['a short name in routes', { routes: { verified: ':4000' } }],
  ['a "**" glob', { routes: { 'session.**': ':4000' } }],
  ['a bracket glob', { routes: { 'session.[ab]*': ':4000' } }],
  ['an uppercase glob', { routes: { 'Session.*': ':4000' } }],
  ['an unknown type in fixtures', { fixtures: { 'session.done': {} } }],
  ['a glob in fixtures', { fixtures: { 'session.*': {} } }],
  ['a fixture that is not an object', { fixtures: { 'session.failed': [] } }],
];

/** Checks beyond what the schema's patterns express; the validator refuses them, editors do not flag them. */
const VALIDATOR_ONLY: [string, unknown][] = [
  ['a glob that matches no type', { routes: { 'order.*': ':4000' } }],
  ['a delay over 24 h', { retry: { schedule: ['25h'] } }],
  ['a port the shorthand refuses', { routes: { 'session.failed': ':99999' } }],
  ['a fixture typed as another event', { fixtures: { 'session.failed': { type: 'session.verified' } } }],
];

describe('schema/config.schema.json and the validator', () => {
  it('the starter file points at the shipped schema', () => {
    expect(JSON.parse(starterConfig()).$schema).toBe('./node_modules/facesign-webhooks/schema/config.schema.json');
    expect(SCHEMA_REFERENCE.endsWith('/schema/config.schema.json')).toBe(true);
  });

  for (const [name, value] of GOOD)
    it(`both accept ${name}`, () => {
      expect(validateSchema(value), JSON.stringify(validateSchema.errors)).toBe(true);
      expect(byValidator(value)).toBe(true);
    });

  for (const [name, value] of BAD)
    it(`both refuse ${name}`, () => {
      expect(validateSchema(value)).toBe(false);
      expect(byValidator(value)).toBe(false);
    });

  for (const [name, value] of VALIDATOR_ONLY)
    it(`the validator alone refuses ${name}`, () => {
      expect(byValidator(value)).toBe(false);
      expect(validateSchema(value)).toBe(true);
    });
});
