/**
 * The library API: everything the CLI does, as typed functions.
 * `import { buildEvent, prepareRequest, deliver, signPayload, verifySignature } from 'facesign-webhooks'`
 */
export { EVENT_TYPES, EVENT_DESCRIPTIONS, STATUS_BY_TYPE, isEventType, normalizeEventType, type EventType } from './events/types.js';
export {
  buildEvent,
  buildFlow,
  eventOffset,
  resolveEventType,
  FLOW_OUTCOMES,
  type BuildOptions,
  type FaceSignEvent,
  type FlowOptions,
  type FlowOutcome,
  type VerificationSession,
} from './events/build.js';
export { loadFixture, FIXTURES_DIR } from './events/fixtures.js';
export { deepMerge, setPath, unsetPath, parsePath, type JsonValue, type JsonObject } from './events/json.js';
export { signPayload, verifySignature, SIGNATURE_HEADER, EVENT_ID_HEADER, type SignatureVerdict, type SignatureFailure } from './signature/index.js';
export { resolveTarget, DEFAULT_PATH, DEFAULT_PORT } from './delivery/target.js';
export { prepareRequest, FACESIGN_IPS, SIGNATURE_MODES, USER_AGENT, type SignatureMode, type WebhookRequest, type PrepareOptions } from './delivery/request.js';
export { deliver, createDispatcher, closeSharedDispatcher, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES, type DeliveryResult, type DeliverOptions } from './delivery/deliver.js';
export { parseExpectation, type Expectation } from './delivery/expect.js';
export { describeNetworkError, type NetworkError, type NetworkErrorKind } from './delivery/network-error.js';
export { CliError, EXIT } from './errors.js';
export { VERSION } from './version.js';
