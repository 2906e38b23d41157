import type { CaptureVerdict } from '../receiver/capture.js';
import type { WebhookVerdict } from './verdict.js';

/** What `listen` decided about a capture, set against this verdict. */
export interface ListenComparison {
  outcome: CaptureVerdict['outcome'];
  /** The status listen answered with (0: it never answered). */
  status: number;
  /** Listen's reading of the signature (`unchecked` when it rejected the request before looking). */
  signature: CaptureVerdict['signature'];
  reason: string | null;
  /** Whether listen and this verdict agree on the signature; null when listen did not check it. */
  agrees: boolean | null;
  message: string;
}

function isVerdict(value: unknown): value is CaptureVerdict {
  const v = value as Partial<CaptureVerdict> | null;
  return typeof v === 'object' && v !== null && typeof v.signature === 'string' && typeof v.outcome === 'string';
}

/**
 * Explains a capture's verdict from `listen` next to `verify`'s: the body is the very bytes listen
 * checked, so when one accepts the signature and the other does not, the secrets differ. Pure;
 * undefined when the capture holds no verdict (a hand-made file).
 */
export function compareWithListen(listen: unknown, verdict: WebhookVerdict): ListenComparison | undefined {
  if (!isVerdict(listen)) return undefined;
  const valid = verdict.signature.ok;
  const reason = typeof listen.reason === 'string' ? listen.reason : null;
  const base = {
    outcome: listen.outcome,
    status: typeof listen.status === 'number' ? listen.status : 0,
    signature: listen.signature,
    reason,
  };
  const answered = base.status === 0 ? 'it never answered' : `it answered ${base.status}`;
  switch (listen.signature) {
    case 'valid':
      if (valid) {
        const after =
          listen.outcome === 'rejected' || listen.outcome === 'fault'
            ? ` (then ${listen.outcome === 'fault' ? 'injected a fault' : 'rejected it'}: ` +
              `${answered}${reason ? `, ${reason}` : ''})`
            : '';
        return { ...base, agrees: true, message: `listen accepted this signature too${after}` };
      }
      return {
        ...base,
        agrees: false,
        message:
          'listen accepted this signature (with its secret) but it does not match with yours: ' +
          'the two secrets differ — use the secret listen ran with, or check which secret your endpoint has',
      };
    case 'unchecked':
      return {
        ...base,
        agrees: null,
        message:
          'listen did not check this signature: it rejected the request first ' +
          `(${answered}${reason ? `: ${reason}` : ''})`,
      };
    case 'mismatch':
      if (valid) {
        return {
          ...base,
          agrees: false,
          message:
            "listen rejected this signature (it did not match listen's secret) but it matches yours: " +
            'listen ran with another secret',
        };
      }
      return { ...base, agrees: true, message: `listen rejected it too${reason ? `: ${reason}` : ''}` };
    default:
      // missing, malformed, prefixed, uppercase: the header itself is wrong, whatever the secret.
      return valid
        ? {
            ...base,
            agrees: false,
            message: `listen rejected this signature (${reason ?? listen.signature}) but it is valid here`,
          }
        : { ...base, agrees: true, message: `listen rejected it too${reason ? `: ${reason}` : ''}` };
  }
}

/** The `listen` field of `verify --json`. */
export function listenRecord(c: ListenComparison | undefined): Record<string, unknown> | null {
  if (!c) return null;
  return {
    outcome: c.outcome,
    status: c.status === 0 ? null : c.status,
    signature: c.signature,
    reason: c.reason,
    agrees: c.agrees,
    message: c.message,
  };
}
