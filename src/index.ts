/**
 * The library API: everything the CLI does, as typed functions.
 * `import { buildEvent, prepareRequest, deliver, signPayload, verifySignature } from 'facesign-webhooks'`
 */
export {
  EVENT_TYPES,
  EVENT_DESCRIPTIONS,
  STATUS_BY_TYPE,
  isEventType,
  normalizeEventType,
  type EventType,
} from './events/types.js';
export {
  SESSION_STATUSES,
  type SessionStatus,
  type FaceSignEvent,
  type FaceSignEventOf,
  type EventEnvelope,
  type SessionCreatedEvent,
  type SessionStartedEvent,
  type SessionVerifiedEvent,
  type SessionFailedEvent,
  type SessionCancelledEvent,
  type SessionExpiredEvent,
  type VerificationSession,
  type UnverifiedSession,
  type VerifiedSession,
  type FailedSession,
  type VerifiedOutputs,
  type SessionError,
  type SessionMetadata,
} from './events/types.js';
export { constructEvent, WebhookVerificationError, type WebhookVerificationReason } from './events/construct-event.js';
export {
  envelopeSchema,
  eventSchema,
  eventsSchema,
  openApiDocument,
  schemaTypeName,
  JSON_SCHEMA_DIALECT,
  type JsonSchema,
} from './events/schema.js';
export {
  buildEvent,
  buildFlow,
  eventOffset,
  resolveEventType,
  FLOW_OUTCOMES,
  type BuildOptions,
  type FlowOptions,
  type FlowOutcome,
} from './events/build.js';
export { loadFixture, FIXTURES_DIR } from './events/fixtures.js';
export { deepMerge, setPath, unsetPath, parsePath, type JsonValue, type JsonObject } from './events/json.js';
export {
  signPayload,
  verifySignature,
  SIGNATURE_HEADER,
  EVENT_ID_HEADER,
  type SignatureVerdict,
  type SignatureFailure,
} from './signature/index.js';
export { resolveTarget, displayUrl, isLoopbackHost, DEFAULT_PATH, DEFAULT_PORT } from './delivery/target.js';
export {
  prepareRequest,
  validateHeader,
  headerValueProblem,
  FACESIGN_IPS,
  SIGNATURE_MODES,
  USER_AGENT,
  type SignatureMode,
  type WebhookRequest,
  type PrepareOptions,
} from './delivery/request.js';
export {
  deliver,
  DEFAULT_TIMEOUT_MS,
  MAX_RESPONSE_BYTES,
  type DeliveryResult,
  type DeliverOptions,
  type Dispatcher,
} from './delivery/deliver.js';
export { parseExpectation, type Expectation } from './delivery/expect.js';
export {
  describeNetworkError,
  ProtocolError,
  type NetworkError,
  type NetworkErrorKind,
} from './delivery/network-error.js';
export { CliError, EXIT } from './errors.js';
export { VERSION } from './version.js';
export {
  verifyWebhook,
  verdictRecord,
  diagnoseSignature,
  checkEventShape,
  parseHttpRequest,
  planBodyCandidates,
  HttpRequestParseError,
  type VerifyWebhookInput,
  type WebhookVerdict,
  type SignatureDiagnosis,
  type BodyChange,
  type BodyChangeId,
  type SecretHint,
  type EventShape,
  type ShapeHeaders,
  type ShapeWarning,
  type ParsedHttpRequest,
  type HeaderList,
} from './verify/index.js';
export {
  CHECK_CASE_IDS,
  DEFAULT_BURST,
  SLOW_MS,
  UNKNOWN_EVENT_TYPE,
  planCheck,
  selectCases,
  type CheckCase,
  type CheckCaseId,
  type CheckStep,
  type CheckWant,
  type PlanOptions,
} from './check/cases.js';
export {
  judgeCase,
  describeResult,
  type CaseResult,
  type CheckDelivery,
  type CheckDiagnosis,
  type CheckOutcome,
  type JudgeOptions,
} from './check/judge.js';
export {
  runCheck,
  checkEndpoint,
  type CheckReport,
  type CheckEndpointOptions,
  type RunCheckOptions,
} from './check/run.js';
export { formatJUnit } from './report/junit.js';
export {
  startReceiver,
  DELIVERIES_PATH,
  DEFAULT_MAX_BODY_BYTES,
  type Receiver,
  type ReceiverOptions,
  type ReceiverStats,
} from './receiver/server.js';
export { judgeRequest, type ReceivedRequest, type Judgement } from './receiver/judge.js';
export {
  captureBody,
  captureFileName,
  signedBody,
  type Capture,
  type CaptureVerdict,
  type ForwardRecord,
} from './receiver/capture.js';
export { readCaptureFile } from './receiver/capture-file.js';
export { redactBody, redactValue, REDACTED } from './receiver/redact.js';
export {
  DEFAULT_SCHEDULE,
  ScheduleError,
  createFakeClock,
  createRealClock,
  formatOffset,
  formatSchedule,
  parseDuration,
  parseSchedule,
  planRetries,
  realClock,
  runRetries,
  type AttemptOutcome,
  type AttemptReport,
  type Clock,
  type FakeClock,
  type PlannedAttempt,
  type RetryOutcome,
  type RetryRunResult,
  type RunRetriesOptions,
  type WaitInfo,
} from './retry/index.js';
export { simulateRetries, type SimulateRetriesOptions } from './retry/simulate.js';
// The rest of what the CLI does, as functions: load mode (`send --count`), `flow --shuffle`,
// `--curl`, `replay`, and the names of the environment variables it reads.
export { runLoad, requestFactory, type LoadOptions, type LoadReport } from './delivery/load.js';
export { createSeededRandom as seededRandom, shuffleOrder } from './random.js';
export { curlCommand } from './report/delivery.js';
export { planReplay, listCaptureFiles, replayHeaders, type ReplayItem } from './replay/plan.js';
export { MAX_BURST } from './check/cases.js';
export { TARGET_ENV } from './delivery/target.js';
export { SECRET_ENV } from './secret.js';
export type { ExitCode } from './errors.js';
