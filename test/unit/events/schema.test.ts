import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { buildEvent, buildFlow, FLOW_OUTCOMES } from '../../../src/events/build.js';
import { FIXTURES_DIR } from '../../../src/events/fixtures.js';
import {
  envelopeSchema,
  eventSchema,
  eventsSchema,
  openApiDocument,
  schemaTypeName,
  type JsonSchema,
} from '../../../src/events/schema.js';
import { EVENT_TYPES, type EventType } from '../../../src/events/types.js';
import { planSchemaDocuments } from '../../../src/commands/schema.js';
import { expectCliError } from '../../helpers/errors.js';

// ajv's default strict mode: a schema with an unknown keyword or a contradiction fails to compile.
const ajv = new Ajv2020({ allErrors: true });
const fixture = (type: EventType) =>
  JSON.parse(readFileSync(`${FIXTURES_DIR}${type}.json`, 'utf8')) as Record<string, any>;
const validators = new Map(EVENT_TYPES.map((type) => [type, ajv.compile(eventSchema(type))]));
const validateAny = ajv.compile(eventsSchema());
const validateEnvelope = ajv.compile(envelopeSchema());

function errorsOf(validate: { errors?: unknown }): string {
  return JSON.stringify(validate.errors ?? null);
}

function expectValid(type: EventType, event: unknown): void {
  const one = validators.get(type)!;
  expect(one(event), errorsOf(one)).toBe(true);
  expect(validateAny(event), errorsOf(validateAny)).toBe(true);
  expect(validateEnvelope(event), errorsOf(validateEnvelope)).toBe(true);
}

/** A fixture changed by `edit`; the copy is deep, so fixtures stay intact. */
function mutated(type: EventType, edit: (e: Record<string, any>) => void): Record<string, any> {
  const event = fixture(type);
  edit(event);
  return event;
}

describe('JSON Schemas (draft 2020-12) of the events', () => {
  it.each(EVENT_TYPES)('the shipped %s fixture validates against its schema, the union and the envelope', (type) => {
    expectValid(type, fixture(type));
  });

  it.each(EVENT_TYPES)('built %s events validate, with and without overrides', (type) => {
    expectValid(type, buildEvent(type));
    expectValid(type, buildEvent(type, { userId: 'usr_42', sessionId: 'vs_pinned', eventId: 'evt_pinned_1' }));
    expectValid(
      type,
      buildEvent(type, {
        set: ['data.metadata.plan=pro', 'data.metadata.seats=3', 'data.extra_field={"a":1}'],
        now: 1_800_000_000,
      }),
    );
    expectValid(
      type,
      buildEvent(type, {
        fixture: { data: { metadata: { user_id: 'usr_from_fixture', team: 'blue' } } },
        unset: ['data.livemode'],
      }),
    );
  });

  it.each(FLOW_OUTCOMES)('every event of a %s flow validates', (outcome) => {
    for (const event of buildFlow(outcome, { userId: 'usr_flow' })) expectValid(event.type, event);
  });

  it("each schema's example is its fixture, and the schema of one type refuses the other types", () => {
    for (const type of EVENT_TYPES) {
      expect(eventSchema(type).examples).toEqual([fixture(type)]);
      for (const other of EVENT_TYPES.filter((t) => t !== type))
        expect(validators.get(type)!(fixture(other))).toBe(false);
    }
  });

  const bad: [string, EventType, (e: Record<string, any>) => void, RegExp][] = [
    ['object is not "event"', 'session.verified', (e) => (e.object = 'evt'), /\/object/],
    ['no id', 'session.created', (e) => delete e.id, /"id"/],
    ['id without the evt_ prefix', 'session.failed', (e) => (e.id = '1a2b3c4d5e6f'), /\/id/],
    ['created as a string', 'session.started', (e) => (e.created = '1706284830'), /\/created/],
    ['created in milliseconds', 'session.started', (e) => (e.created = 1706284830000), /\/created/],
    ['a status that does not match the type', 'session.verified', (e) => (e.data.status = 'failed'), /\/data\/status/],
    ['data.id without the vs_ prefix', 'session.cancelled', (e) => (e.data.id = 'sess_1'), /\/data\/id/],
    ['data.object wrong', 'session.expired', (e) => (e.data.object = 'session'), /\/data\/object/],
    ['no data', 'session.expired', (e) => delete e.data, /"data"/],
    [
      'a verified session without results',
      'session.verified',
      (e) => (e.data.verified_outputs = null),
      /verified_outputs/,
    ],
    ['results without last_name', 'session.verified', (e) => delete e.data.verified_outputs.last_name, /last_name/],
    ['a failed session without last_error', 'session.failed', (e) => (e.data.last_error = null), /last_error/],
    [
      'results on a created session',
      'session.created',
      (e) => (e.data.verified_outputs = { first_name: 'A', last_name: 'B' }),
      /verified_outputs/,
    ],
    ['metadata that is not an object', 'session.created', (e) => (e.data.metadata = 'usr_1'), /metadata/],
  ];

  it.each(bad)('rejects %s', (_name, type, edit, where) => {
    const event = mutated(type, edit);
    const one = validators.get(type)!;
    expect(one(event)).toBe(false);
    expect(errorsOf(one)).toMatch(where);
    expect(validateAny(event)).toBe(false);
  });

  it('the union rejects a type outside the six, and says which types it knows', () => {
    const event = mutated('session.verified', (e) => (e.type = 'session.reviewed'));
    expect(validateAny(event)).toBe(false);
    expect(errorsOf(validateAny)).toContain('allowedValues');
    expect(errorsOf(validateAny)).toContain('session.expired');
  });

  it('the envelope is the docs-level shape: it takes a future type and status, but not a broken envelope', () => {
    expect(
      validateEnvelope(
        mutated('session.verified', (e) => ((e.type = 'session.reviewed'), (e.data.status = 'in_review'))),
      ),
    ).toBe(true);
    expect(validateEnvelope(mutated('session.verified', (e) => (e.object = 'evt')))).toBe(false);
    expect(validateEnvelope(mutated('session.verified', (e) => (e.created = 'yesterday')))).toBe(false);
    expect(validateEnvelope(mutated('session.verified', (e) => delete e.data.id))).toBe(false);
  });

  it("marks the simulator's assumptions in descriptions, and not the documented fields", () => {
    const assumed = /Assumed by the simulator; not in FaceSign's docs/;
    for (const type of EVENT_TYPES) {
      const session = (eventSchema(type).properties as any).data.properties;
      for (const field of [
        'livemode',
        'created',
        'expires_at',
        'started_at',
        'completed_at',
        'cancelled_at',
        'last_error',
      ]) {
        expect(session[field].description, `${type} data.${field}`).toMatch(assumed);
      }
      const status = session.status.description as string;
      if (type === 'session.verified') expect(status).toMatch(/From FaceSign's docs/);
      else expect(status).toMatch(assumed);
      for (const field of ['id', 'object']) expect(session[field].description).not.toMatch(/Assumed/);
      const envelope = eventSchema(type).properties as any;
      for (const field of ['id', 'object', 'type', 'created'])
        expect(envelope[field].description).toMatch(/FaceSign's docs/);
    }
    const outputs = (eventSchema('session.verified').properties as any).data.properties.verified_outputs.properties;
    expect(outputs.first_name.description).toMatch(/From FaceSign's docs/);
    expect(outputs.date_of_birth.description).toMatch(assumed);
  });
});

/** Follows a local `$ref` (`#/components/schemas/X`) inside a document. */
function resolveRef(doc: JsonSchema, ref: string): JsonSchema {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce<any>((node, key) => node?.[key], doc) as JsonSchema;
}

describe('the OpenAPI 3.1 document', () => {
  const doc = openApiDocument();

  it("is valid OpenAPI 3.1 (the specification's own JSON Schema)", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? null).toBeNull();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has a webhooks entry per event type: POST, the three headers, a JSON body that validates the fixture, 2XX', () => {
    expect(doc.openapi).toBe('3.1.0');
    const webhooks = doc.webhooks as Record<string, any>;
    expect(Object.keys(webhooks)).toEqual([...EVENT_TYPES]);
    for (const type of EVENT_TYPES) {
      const post = webhooks[type].post;
      expect(Object.keys(webhooks[type])).toEqual(['post']);
      const headers = post.parameters.filter((p: any) => p.in === 'header').map((p: any) => p.name);
      expect(headers).toEqual(['FaceSign-Signature', 'FaceSign-Event-Id', 'Content-Type']);
      expect(Object.keys(post.responses)).toContain('2XX');
      const media = post.requestBody.content['application/json'];
      expect(media.schema.$ref).toBe(`#/components/schemas/${schemaTypeName(type)}`);
      const validate = ajv.compile(resolveRef(doc, media.schema.$ref));
      expect(validate(fixture(type)), errorsOf(validate)).toBe(true);
      expect(validate(buildEvent(type, { userId: 'usr_openapi' }))).toBe(true);
      const other = EVENT_TYPES[(EVENT_TYPES.indexOf(type) + 1) % EVENT_TYPES.length]!;
      expect(validate(fixture(other))).toBe(false);
      // The documented signature header pattern accepts a real signature and refuses a prefixed one.
      const signature = new RegExp(post.parameters[0].schema.pattern as string);
      expect(signature.test('a'.repeat(64))).toBe(true);
      expect(signature.test(`sha256=${'a'.repeat(64)}`)).toBe(false);
    }
  });

  it('a single type gives a document with that one webhook', () => {
    const one = openApiDocument(['session.failed']);
    expect(Object.keys(one.webhooks as object)).toEqual(['session.failed']);
    expect(Object.keys((one.components as any).schemas)).toEqual(['SessionFailedEvent']);
  });
});

describe('planSchemaDocuments (the schema command as data)', () => {
  it('all: the union on stdout; with --out, one file per type, the envelope and the union', () => {
    const plan = planSchemaDocuments('all', 'json-schema');
    expect(plan.stdout.document).toEqual(eventsSchema());
    expect(plan.files.map((f) => f.file)).toEqual([
      ...EVENT_TYPES.map((t) => `${t}.schema.json`),
      'envelope.schema.json',
      'events.schema.json',
    ]);
  });

  it('short names, any case; openapi for a type; refusals with exit 2', () => {
    expect(planSchemaDocuments('Verified', 'json-schema').stdout.document).toEqual(eventSchema('session.verified'));
    expect(planSchemaDocuments('failed', 'openapi').stdout.file).toBe('session.failed.openapi.json');
    const unknown = expectCliError(() => planSchemaDocuments('session.approved', 'json-schema'));
    expect(unknown.exitCode).toBe(2);
    expect(unknown.hint).toContain('envelope, session.created');
    expect(expectCliError(() => planSchemaDocuments('all', 'yaml')).message).toContain('--format');
    expect(expectCliError(() => planSchemaDocuments('envelope', 'openapi')).exitCode).toBe(2);
  });
});
