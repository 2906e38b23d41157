/** `verify`'s core: parse a raw request, diagnose a signature, check an event's shape. No CLI knowledge. */
export {
  parseHttpRequest,
  headerValues,
  HttpRequestParseError,
  type HeaderList,
  type ParsedHttpRequest,
} from './http-request.js';
export {
  diagnoseSignature,
  findBodyChange,
  findSecretHint,
  planBodyCandidates,
  type BodyCandidate,
  type BodyChange,
  type BodyChangeId,
  type JsonForm,
  type SecretHint,
  type SignatureDiagnosis,
} from './diagnose.js';
export { checkEventShape, type EventShape, type ShapeHeaders, type ShapeWarning } from './shape.js';
export { verifyWebhook, verdictRecord, type VerifyWebhookInput, type WebhookVerdict } from './verdict.js';
