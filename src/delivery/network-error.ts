/** What went wrong on the wire, named the way the report shows it. */
export type NetworkErrorKind = 'refused' | 'dns' | 'timeout' | 'reset' | 'tls' | 'protocol' | 'network';

export interface NetworkError {
  kind: NetworkErrorKind;
  /** The underlying error code, when there is one (e.g. ECONNREFUSED, UND_ERR_SOCKET, HPE_…). */
  code?: string;
  message: string;
}

/**
 * An answer that is not HTTP/1.1 as a client may accept it, found by the tool itself rather than
 * by the parser (e.g. a 101 to a request that asked for no upgrade). Reported as `protocol`.
 */
export class ProtocolError extends Error {
  readonly code: string;
  constructor(message: string, code = 'ERR_PROTOCOL') {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

const TLS_CODES =
  /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL|EPROTO$|HOSTNAME_MISMATCH|ERR_TLS_CERT)/;
/** OpenSSL's reasons for a TLS client that got plain HTTP bytes back. */
const PLAIN_HTTP_REASONS =
  /wrong version number|packet length too long|http request|unknown protocol|record layer failure/i;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  data?: unknown;
}

/** The error that says most: the first of an AggregateError (happy eyeballs), else a cause chain's first coded one. */
function innermost(err: unknown, depth = 0): ErrorLike | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as ErrorLike;
  if (typeof e.code === 'string' && e.code !== 'UND_ERR_CONNECT') return e;
  if (Array.isArray(e.errors) && e.errors.length > 0) return innermost(e.errors[0], depth + 1) ?? e;
  return innermost(e.cause, depth + 1) ?? e;
}

function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

/** OpenSSL's reason, without its `error:0A00010B:SSL routines:…:file:line` wrapping. */
function tlsReason(detail: string): string {
  const m = /error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(detail);
  return (m?.[1] ?? detail).trim();
}

/** True when bytes a server sent back start a TLS record (a handshake or an alert). */
export function looksLikeTls(data: unknown): boolean {
  if (typeof data !== 'string' && !Buffer.isBuffer(data)) return false;
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return b.length >= 2 && (b[0] === 0x15 || b[0] === 0x16) && b[1] === 0x03;
}

/** Names a failed request in one line. `timedOut` is set when our own deadline fired. */
export function describeNetworkError(err: unknown, url: string, timeoutMs: number, timedOut = false): NetworkError {
  const where = hostPort(url);
  const e = innermost(err) ?? {};
  const code = typeof e.code === 'string' ? e.code : undefined;
  const name = typeof e.name === 'string' ? e.name : '';
  const detail = typeof e.message === 'string' ? e.message : err instanceof Error ? err.message : String(err);
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return {
      kind: 'timeout',
      code: code ?? 'ETIMEDOUT',
      message: `timeout after ${timeoutMs} ms — no full response from ${where}`,
    };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return { kind: 'timeout', code, message: `timeout after ${timeoutMs} ms connecting to ${where}` };
  }
  // llhttp's parse errors (undici leaves their code unset), a body shorter or longer than its
  // Content-Length, an upgrade or a 100 nobody asked for, and what the tool itself rejects.
  if (name === 'HTTPParserError' || code?.startsWith('HPE_')) {
    if (looksLikeTls(e.data))
      return { kind: 'tls', code: code ?? 'HPE_TLS', message: `${where} speaks TLS — use https://` };
    return { kind: 'protocol', code: code ?? 'HPE_INVALID', message: `protocol error from ${where}: ${detail}` };
  }
  if (
    code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
    code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' ||
    name === 'ProtocolError'
  ) {
    return { kind: 'protocol', code, message: `protocol error from ${where}: ${detail}` };
  }
  if (code === 'UND_ERR_HEADERS_OVERFLOW') {
    return { kind: 'protocol', code, message: `protocol error from ${where}: response head too large for the client` };
  }
  if (code === 'UND_ERR_SOCKET' && (detail === 'bad upgrade' || detail === 'bad response')) {
    const why =
      detail === 'bad upgrade'
        ? 'a 101 Switching Protocols (upgrade) answer to a request that asked for none'
        : 'an unexpected interim response (100 Continue) to a request that did not ask for one';
    return { kind: 'protocol', code, message: `protocol error from ${where}: ${why}` };
  }
  if (code === 'ECONNREFUSED') {
    return { kind: 'refused', code, message: `connection refused at ${where} — is the server running?` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return {
      kind: 'dns',
      code,
      message: `DNS lookup failed for ${new URL(url).hostname} (${code}) — check the host name`,
    };
  }
  if (
    code === 'ECONNRESET' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'EPIPE' ||
    code === 'UND_ERR_CLOSED' ||
    code === 'UND_ERR_DESTROYED'
  ) {
    return { kind: 'reset', code, message: `connection reset by ${where} before a full response` };
  }
  if ((code && TLS_CODES.test(code)) || /ssl|tls|certificate/i.test(detail)) {
    const reason = tlsReason(detail);
    if (PLAIN_HTTP_REASONS.test(reason))
      return { kind: 'tls', code, message: `TLS error: ${where} answered in plain HTTP — use http://` };
    return {
      kind: 'tls',
      code,
      message:
        `TLS error talking to ${where}: ${reason}${code ? ` (${code})` : ''}` +
        ' — trust its CA with --ca FILE, or skip the check with --insecure',
    };
  }
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') {
    return { kind: 'network', code: code ?? 'ABORT_ERR', message: `aborted before a full response from ${where}` };
  }
  return { kind: 'network', code, message: `network error talking to ${where}: ${detail}${code ? ` (${code})` : ''}` };
}
