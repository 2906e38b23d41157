/*
 * The HTTP/1.1 framing rules the tool holds a message head to, wherever it reads one: load mode's
 * response reader (bytes off the wire) and `verify --request` (a request saved as a text file).
 * They are llhttp's strict-mode rules (Node's and undici's parser): a header line is a token, a
 * colon and a value of visible characters, spaces, tabs and obs-text; no NUL or other control byte
 * anywhere in the head; no line starting with whitespace (obs-fold); at most one Content-Length,
 * and never next to Transfer-Encoding (the two framings at once is how messages are smuggled).
 * Line endings are the one place the two readers differ: see each.
 */

/** A header field value (RFC 9110 field-value: VCHAR, SP, HTAB, obs-text). */
export const FIELD_VALUE = '[\\t\\x20-\\x7e\\x80-\\xff]*';
/** A header name (RFC 9110 token). */
export const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
export const HEADER_LINE = `${TOKEN}:${FIELD_VALUE}`;
export const HEADER_LINE_RE = new RegExp(`^${HEADER_LINE}$`);
/** A byte no head may hold: C0 controls but HTAB, and DEL (CR and LF only as line ends). */
export const CONTROL_BYTE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** What is wrong with one line of a head that is not a valid header line, in a few words. */
export function headerLineProblem(line: string): string {
  if (/^[ \t]/.test(line)) return 'starts with whitespace (obs-fold: a header folded onto the line before)';
  const control = CONTROL_BYTE.exec(line);
  if (control) return `holds the control byte 0x${control[0].charCodeAt(0).toString(16).padStart(2, '0')}`;
  const colon = line.indexOf(':');
  if (colon < 0) return 'has no colon ("Name: value")';
  if (colon === 0) return 'has no header name before its colon';
  if (/[ \t]$/.test(line.slice(0, colon))) return 'has whitespace between the header name and its colon';
  return 'has a header name with a character a name may not hold';
}

/**
 * Whether a head's Content-Length and Transfer-Encoding frame its body unambiguously.
 * `lengths` is every Content-Length value, in order; returns the problem, or undefined.
 */
export function framingProblem(lengths: readonly string[], transferEncoding: boolean): string | undefined {
  if (lengths.length > 1) {
    const values = lengths.map((v) => JSON.stringify(v.slice(0, 20))).join(', ');
    return `Content-Length appears ${lengths.length} times (${values})`;
  }
  if (lengths.length === 1 && transferEncoding) return 'Content-Length and Transfer-Encoding together';
  if (lengths.length === 1 && contentLength(lengths[0]!) === undefined)
    return `Content-Length ${JSON.stringify(lengths[0]!.slice(0, 20))} is not one whole number`;
  return undefined;
}

/** A Content-Length value (spaces and tabs around it allowed) as a number, or undefined. */
export function contentLength(value: string): number | undefined {
  const digits = value.replace(/^[ \t]+|[ \t]+$/g, '');
  return /^\d{1,15}$/.test(digits) ? Number(digits) : undefined;
}
