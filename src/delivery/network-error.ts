/** What went wrong on the wire, named the way the report shows it. */
export type NetworkErrorKind = 'refused' | 'dns' | 'timeout' | 'reset' | 'tls' | 'network';

export interface NetworkError {
  kind: NetworkErrorKind;
  /** The underlying error code, when there is one (e.g. ECONNREFUSED). */
  code?: string;
  message: string;
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_OSSL|EPROTO$)/;

function findCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== 'UND_ERR_CONNECT' && e.code !== 'ERR_INVALID_STATE') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return findCode(e.errors[0], depth + 1);
  return findCode(e.cause, depth + 1);
}

function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}

/** Names a failed request in one line. `timedOut` is set when our own deadline fired. */
export function describeNetworkError(err: unknown, url: string, timeoutMs: number, timedOut = false): NetworkError {
  const where = hostPort(url);
  const code = findCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { kind: 'timeout', code: code ?? 'ETIMEDOUT', message: `timeout after ${timeoutMs} ms — no full response from ${where}` };
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return { kind: 'timeout', code, message: `timeout after ${timeoutMs} ms connecting to ${where}` };
  }
  if (code === 'ECONNREFUSED') {
    return { kind: 'refused', code, message: `connection refused at ${where} — is the server running?` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return { kind: 'dns', code, message: `DNS lookup failed for ${new URL(url).hostname} (${code}) — check the host name` };
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || code === 'UND_ERR_CLOSED') {
    return { kind: 'reset', code, message: `connection reset by ${where} before a full response` };
  }
  if ((code && TLS_CODES.test(code)) || /ssl|tls|certificate/i.test(detail)) {
    return { kind: 'tls', code, message: `TLS error talking to ${where}: ${detail}` };
  }
  return { kind: 'network', code, message: `network error talking to ${where}: ${detail}${code ? ` (${code})` : ''}` };
}
