import type { CheckReport } from './run.js';

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const TLS_UNTRUSTED_HINT =
  "the server's certificate is not trusted here (self-signed or a private CA)? " +
  'trust its CA with --ca FILE, or skip the check with --insecure';

/**
 * Why a run could not reach its endpoint at all, in one line and a hint that names the fix
 * (start the app, the other scheme, trust the CA). Undefined when the endpoint was reached.
 */
export function describeUnreachable(report: CheckReport): { message: string; hint?: string } | undefined {
  const error = report.unreachable;
  if (!error) return undefined;
  const kind: string = error.kind;
  const at = `cannot reach ${report.url}`;
  if (kind === 'refused')
    return {
      message:
        `connection refused at ${report.url} — is your app running? ` + 'start it (and wait for its port) before check',
    };
  if (kind === 'tls') {
    // The delivery layer names the case (network-error.ts); the hint says which flag or scheme fixes it.
    if (/answered in plain HTTP/.test(error.message))
      return {
        message: `${at}: the TLS handshake failed (the port answered in plain HTTP)`,
        hint: 'https:// to a plain-HTTP port? use http://',
      };
    if (/ speaks TLS/.test(error.message))
      return { message: `${at}: the port speaks TLS, not plain HTTP`, hint: 'http:// to a TLS port? use https://' };
    const text = oneLine(error.message);
    const reason = /^TLS error talking to [^:]+:\d+: (.*?)(?: — .*)?$/.exec(text)?.[1] ?? text;
    return { message: `${at}: the TLS handshake failed (${reason})`, hint: TLS_UNTRUSTED_HINT };
  }
  if (kind === 'protocol' || error.code?.startsWith('HPE_')) {
    return {
      message: `${at}: the answer is not HTTP/1.x (${oneLine(error.message)})`,
      hint: 'http:// to a TLS port? use https://; else check --to points at your web server, not another service',
    };
  }
  return { message: `${at}: ${oneLine(error.message)}` };
}
