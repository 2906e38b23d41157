import { VERSION } from '../version.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER } from '../signature/index.js';
import { loadFixture } from './fixtures.js';
import type { JsonObject } from './json.js';
import { EVENT_DESCRIPTIONS, EVENT_TYPES, SESSION_STATUSES, STATUS_BY_TYPE, type EventType } from './types.js';

/*
 * JSON Schemas (draft 2020-12) for the envelope and the six events, and an OpenAPI 3.1 document
 * with one webhook per event. Every description says where a field comes from: FaceSign's docs,
 * or the simulator's own assumption. Objects stay open (FaceSign's docs end the session with
 * "… other session properties"), so a future field never fails a handler's validation.
 */

export type JsonSchema = JsonObject;

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
export const SCHEMA_FORMATS = ['json-schema', 'openapi'] as const;
export type SchemaFormat = (typeof SCHEMA_FORMATS)[number];

const ASSUMED = "Assumed by the simulator; not in FaceSign's docs.";
/** Unix seconds; a value this large would be milliseconds (the year 5138 in seconds). */
const MAX_UNIX_SECONDS = 99_999_999_999;

/** `SessionVerifiedEvent` for `session.verified`: the names the package's TypeScript types use. */
export function schemaTypeName(type: EventType): string {
  const word = type.slice('session.'.length);
  return `Session${word[0]!.toUpperCase()}${word.slice(1)}Event`;
}

function unixSeconds(description: string, nullable = false): JsonSchema {
  return { type: nullable ? ['integer', 'null'] : 'integer', minimum: 0, maximum: MAX_UNIX_SECONDS, description };
}

const verifiedOutputsSchema: JsonSchema = {
  type: 'object',
  description:
    "What the verification established. first_name and last_name are in FaceSign's docs " +
    '("… other verification results" follow); the other properties listed here: ' +
    ASSUMED,
  required: ['first_name', 'last_name'],
  properties: {
    first_name: { type: 'string', description: "From FaceSign's docs." },
    last_name: { type: 'string', description: "From FaceSign's docs." },
    date_of_birth: { type: 'string', description: `ISO date (YYYY-MM-DD). ${ASSUMED}` },
    document_type: { type: 'string', description: `e.g. passport. ${ASSUMED}` },
    document_country: { type: 'string', description: `ISO 3166-1 alpha-2 country code. ${ASSUMED}` },
    document_number_last4: { type: 'string', description: `The document number's last four characters. ${ASSUMED}` },
  },
};

const sessionErrorSchema: JsonSchema = {
  type: 'object',
  description: `Why the session failed. ${ASSUMED}`,
  required: ['code', 'reason'],
  properties: {
    code: {
      type: 'string',
      examples: ['face_mismatch', 'document_rejected'],
      description: `A machine-readable code. ${ASSUMED}`,
    },
    reason: { type: 'string', description: `A human-readable sentence. ${ASSUMED}` },
  },
};

/** The session in `data`; for one type (status, verified_outputs and last_error fixed) or for any (`undefined`). */
function sessionSchema(type: EventType | undefined): JsonSchema {
  let status: JsonSchema;
  let verifiedOutputs: JsonSchema;
  let lastError: JsonSchema;
  if (type === undefined) {
    status = {
      type: 'string',
      description:
        `The session's status. FaceSign's docs show "verified"; the others (${SESSION_STATUSES.join(', ')}) ` +
        `and which event carries which are ${ASSUMED}`,
    };
    verifiedOutputs = {
      ...verifiedOutputsSchema,
      type: ['object', 'null'],
      description: `${verifiedOutputsSchema.description as string} null until the session is verified: ${ASSUMED}`,
    };
    lastError = {
      ...sessionErrorSchema,
      type: ['object', 'null'],
      description: `Why the session failed; null otherwise. ${ASSUMED}`,
    };
  } else {
    status = {
      const: STATUS_BY_TYPE[type],
      description:
        `The status a ${type} event carries. ` + `${type === 'session.verified' ? "From FaceSign's docs." : ASSUMED}`,
    };
    verifiedOutputs =
      type === 'session.verified'
        ? verifiedOutputsSchema
        : { type: 'null', description: `null: only a verified session has results. ${ASSUMED}` };
    lastError =
      type === 'session.failed'
        ? sessionErrorSchema
        : { type: 'null', description: `null: only a failed session has an error. ${ASSUMED}` };
  }
  return {
    type: 'object',
    description:
      'The verification session ("the full session object" in FaceSign\'s docs). Other properties may appear.',
    required: [
      'id',
      'object',
      'status',
      'verified_outputs',
      'metadata',
      ...(type === 'session.failed' ? ['last_error'] : []),
    ],
    properties: {
      id: { type: 'string', pattern: '^vs_\\S+$', description: "The session id, vs_… (FaceSign's docs)." },
      object: { const: 'verification_session', description: "From FaceSign's docs." },
      status,
      verified_outputs: verifiedOutputs,
      metadata: {
        type: 'object',
        description:
          "Your own metadata on the session. FaceSign's docs' handler reads metadata.user_id; " +
          'the simulator always sets it.',
        properties: {
          user_id: { type: 'string', description: "Your user id (read by the handler in FaceSign's docs)." },
        },
      },
      livemode: { type: 'boolean', description: `false for test data. ${ASSUMED}` },
      created: unixSeconds(`When the session was created, unix seconds. ${ASSUMED}`),
      expires_at: unixSeconds(
        `When the session expires (the simulator: an hour after created), unix seconds. ${ASSUMED}`,
      ),
      started_at: unixSeconds(`When the user began, unix seconds; null before. ${ASSUMED}`, true),
      completed_at: unixSeconds(`When it was verified or failed, unix seconds; null otherwise. ${ASSUMED}`, true),
      cancelled_at: unixSeconds(`When it was cancelled, unix seconds; null otherwise. ${ASSUMED}`, true),
      last_error: lastError,
    },
  };
}

/** The envelope's own fields, with `type` and the session as given. */
function envelopeProperties(type: JsonSchema, data: JsonSchema): JsonSchema {
  return {
    id: {
      type: 'string',
      pattern: '^evt_\\S+$',
      description:
        `The event id, evt_… (FaceSign's docs); also sent as the ${EVENT_ID_HEADER} header. ` +
        'Use it to ignore a delivery you already processed.',
    },
    object: { const: 'event', description: "From FaceSign's docs." },
    type,
    created: unixSeconds("When the event was created, unix seconds (FaceSign's docs)."),
    data,
  };
}

const ENVELOPE_REQUIRED = ['id', 'object', 'type', 'created', 'data'];

/** The shape every event follows, whatever its type (FaceSign's docs: "Event object structure"). */
export function envelopeSchema(): JsonSchema {
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: 'FaceSign event envelope',
    description:
      "The structure all FaceSign webhook events follow (FaceSign's docs). " +
      'type may be one this version does not know yet: acknowledge such an event with a 2xx and ignore it. ' +
      'For the six known events, use the per-type schemas.',
    type: 'object',
    required: ENVELOPE_REQUIRED,
    properties: envelopeProperties(
      { type: 'string', description: `The event type (FaceSign's docs): ${EVENT_TYPES.join(', ')}.` },
      sessionSchema(undefined),
    ),
  };
}

/** One event type's schema, without `$schema` (for embedding). */
function eventBody(type: EventType): JsonSchema {
  return {
    title: type,
    description:
      `Sent when ${EVENT_DESCRIPTIONS[type]} (FaceSign's docs). ` +
      `The session's status "${STATUS_BY_TYPE[type]}" is ` +
      `${type === 'session.verified' ? "from FaceSign's docs" : 'assumed by the simulator'}; ` +
      'fields marked so are assumed by the simulator.',
    type: 'object',
    required: ENVELOPE_REQUIRED,
    properties: envelopeProperties(
      { const: type, description: "The event type (FaceSign's docs)." },
      sessionSchema(type),
    ),
    examples: [loadFixture(type)],
  };
}

/** The JSON Schema of one event type, standalone. */
export function eventSchema(type: EventType): JsonSchema {
  return { $schema: JSON_SCHEMA_DIALECT, ...eventBody(type) };
}

/** All six in one document: `$defs` per type, and a `oneOf` that the `type` field decides. */
export function eventsSchema(): JsonSchema {
  const defs: JsonSchema = {};
  for (const type of EVENT_TYPES) defs[type] = eventBody(type);
  const { $schema: _dialect, ...envelope } = envelopeSchema();
  defs.envelope = envelope;
  return {
    $schema: JSON_SCHEMA_DIALECT,
    title: 'FaceSign event',
    description:
      `Any of the six FaceSign events, told apart by type (${EVENT_TYPES.join(', ')}). ` +
      '$defs holds each one and the generic envelope. ' +
      'A type outside these six fails this schema; a handler should still acknowledge it (2xx) and ignore it.',
    type: 'object',
    required: ['type'],
    properties: { type: { enum: [...EVENT_TYPES] } },
    oneOf: EVENT_TYPES.map((type) => ({ $ref: `#/$defs/${type}` })),
    $defs: defs,
  };
}

function headerParameter(name: string, description: string, schema: JsonSchema): JsonSchema {
  return { name, in: 'header', required: true, description, schema };
}

/** An OpenAPI 3.1 document describing FaceSign's webhooks (one per event type) as requests to your endpoint. */
export function openApiDocument(types: readonly EventType[] = EVENT_TYPES): JsonSchema {
  const schemas: JsonSchema = {};
  const webhooks: JsonSchema = {};
  for (const type of types) {
    const name = schemaTypeName(type);
    schemas[name] = eventBody(type);
    webhooks[type] = {
      post: {
        operationId: `receive${name}`,
        summary: `${type}: sent when ${EVENT_DESCRIPTIONS[type]}`,
        description:
          'FaceSign POSTs the event to your endpoint. ' +
          'Verify the signature over the raw body bytes before parsing it, respond quickly with a 2xx, ' +
          'and process asynchronously; use the event id to ignore duplicates.',
        parameters: [
          headerParameter(
            SIGNATURE_HEADER,
            'Lowercase hex HMAC-SHA256 of the exact raw body bytes, keyed with your endpoint secret; ' +
              "no prefix, no timestamp (FaceSign's docs).",
            {
              type: 'string',
              pattern: '^[0-9a-f]{64}$',
            },
          ),
          headerParameter(EVENT_ID_HEADER, "The event's id, the same as the body's id (FaceSign's docs).", {
            type: 'string',
            pattern: '^evt_\\S+$',
          }),
          headerParameter(
            'Content-Type',
            "Always application/json (FaceSign's docs). " +
              "OpenAPI tools take it from the request body's media type and ignore this parameter.",
            { const: 'application/json' },
          ),
        ],
        requestBody: {
          required: true,
          description: 'The event, as compact JSON; the signature covers these exact bytes.',
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
        },
        responses: {
          '2XX': { description: "Any 2xx acknowledges the event (FaceSign's docs)." },
          default: {
            description:
              'Anything else (3xx included: redirects are not followed), a connection error or a timeout ' +
              'is a failed attempt; FaceSign retries after 5 s, 30 s, 2 min, 10 min and 1 h, ' +
              "then marks the delivery failed (FaceSign's docs; the timeout and the 3xx reading are the simulator's).",
          },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'FaceSign webhooks',
      version: VERSION,
      description:
        'The signed webhooks FaceSign sends to your endpoint, as described by facesign-webhooks (the simulator). ' +
        "Facts come from FaceSign's webhook docs; descriptions mark the simulator's assumptions.",
    },
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    webhooks,
    components: { schemas },
  };
}
