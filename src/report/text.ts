/**
 * Text that came from the network or a file, made safe for a terminal. No chalk here: the check
 * judge and the receiver's log line use these too.
 */

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC, CR, LF and TAB included),
 * DEL, C1 controls (0x9b is a one-byte CSI), the bidi embeddings, overrides and isolates that can
 * reorder a line ("Trojan Source"), and the Unicode line and paragraph separators.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * Escapes every character a terminal would act on as a visible `\xNN` or `\u{NNNN}`, so a request
 * or a response cannot clear the screen, move the cursor, or start a forged line with `\r` or `\n`.
 * Use it at every human-output sink for untrusted text; NDJSON needs nothing (JSON escapes controls).
 */
export function safeText(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.replace(UNSAFE, escapeChar);
}

/** `safeText`, cut to `max` characters (the cut never splits an escape). */
export function safeExcerpt(value: string, max: number): string {
  const chars = [...value];
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : value;
  return safeText(cut);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x') || lower.startsWith('#')) {
      const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[lower] ?? whole;
  });
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

/** True for a body that is an HTML document (an error page from a proxy or a framework). */
export function looksLikeHtml(body: string): boolean {
  const head = body.trimStart().slice(0, 200).toLowerCase();
  return (
    /^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]|^<title[\s>]/.test(head) ||
    (head.startsWith('<') && /<title[\s>]/.test(body.toLowerCase()))
  );
}

/**
 * What an HTML page says, in one line: its `<title>`, plus the first line of its text when the
 * title does not already say it (Express's page is titled "Error" and says "Cannot POST /x");
 * the first text line alone when there is no title. Empty when the part read holds no text.
 */
export function htmlSummary(body: string): string {
  const title = /<title[^>]*>([\s\S]*?)(?:<\/title\s*>|$)/i.exec(body);
  const titleText = title ? collapse(decodeEntities(title[1]!.replace(/<[^>]*>?/g, ''))) : '';
  const afterHead = body
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<(script|style|title|head)[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi, '\n')
    .replace(/<(br|p|div|h[1-6]|pre|li|tr|hr|body|html)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>?/g, '');
  const firstLine =
    decodeEntities(afterHead)
      .split('\n')
      .map(collapse)
      .find((l) => l !== '') ?? '';
  if (!titleText) return firstLine;
  if (!firstLine || titleText.toLowerCase().includes(firstLine.toLowerCase())) return titleText;
  return `${titleText} — ${firstLine}`;
}

/**
 * A response body in a few words for a human line: quoted and cut to `max` characters, with
 * whitespace collapsed and controls escaped. An HTML page shows what it says (see `htmlSummary`)
 * and is marked as a page, not its `<!DOCTYPE html> …` markup. Empty for an empty body.
 */
export function previewBody(body: string | undefined, max = 80): string {
  if (body === undefined) return '';
  if (looksLikeHtml(body)) {
    const said = htmlSummary(body);
    return said ? `${quote(said, max)} (HTML page)` : '(an HTML page)';
  }
  const text = collapse(body);
  return text === '' ? '' : quote(text, max);
}

function quote(text: string, max: number): string {
  return `"${safeExcerpt(text, max).replace(/"/g, '\\"')}"`;
}
