import { describe, expect, it } from 'vitest';
import { htmlSummary, looksLikeHtml, previewBody, safeExcerpt, safeText } from '../../../src/report/text.js';
import { describeResult } from '../../../src/check/judge.js';
import type { DeliveryResult } from '../../../src/delivery/deliver.js';

/** Every character a terminal could act on; none may survive safeText. */
const TERMINAL_ACTIVE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('safeText', () => {
  it('escapes ESC, CR, LF, TAB and NUL as visible \\xNN', () => {
    expect(safeText('\x1b[2J\x1b[H')).toBe('\\x1b[2J\\x1b[H');
    expect(safeText('ok\r✔ accepted\nnext\tcol\0')).toBe('ok\\x0d✔ accepted\\x0anext\\x09col\\x00');
  });

  it('escapes DEL and the C1 controls (0x9b is a one-byte CSI)', () => {
    expect(safeText('a\x7fb\u0085c\u009b31m')).toBe('a\\x7fb\\x85c\\x9b31m');
  });

  it('escapes bidi overrides, isolates, marks and the Unicode line separators as \\u{…}', () => {
    expect(safeText('\u202eevil\u202c')).toBe('\\u{202e}evil\\u{202c}');
    expect(safeText('\u2066x\u2069\u200f\u061c')).toBe('\\u{2066}x\\u{2069}\\u{200f}\\u{61c}');
    expect(safeText('a\u2028b\u2029c')).toBe('a\\u{2028}b\\u{2029}c');
  });

  it('leaves ordinary text alone: accents, emoji, CJK, quotes, backslashes', () => {
    const text = 'José ✔ 日本 😀 "q" \\x1b é';
    expect(safeText(text)).toBe(text);
  });

  it('leaves no terminal-active character in any of the 0x0000–0x30ff range', () => {
    let all = '';
    for (let code = 0; code < 0x3100; code++) if (code < 0xd800 || code > 0xdfff) all += String.fromCharCode(code);
    expect(safeText(all)).not.toMatch(TERMINAL_ACTIVE);
  });

  it('safeExcerpt cuts before escaping, so an escape is never split', () => {
    expect(safeExcerpt('ab\x1bcdef', 3)).toBe('ab\\x1b…');
    expect(safeExcerpt('short', 10)).toBe('short');
  });
});

describe('HTML previews', () => {
  const nginx =
    '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n';
  const express =
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot POST /webhooks/facesign</pre>\n</body>\n</html>\n';
  const flask =
    '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n';

  it('recognises pages, not JSON or text that mentions tags', () => {
    expect(looksLikeHtml(nginx)).toBe(true);
    expect(looksLikeHtml(express)).toBe(true);
    expect(looksLikeHtml(flask)).toBe(true);
    expect(looksLikeHtml('{"error":"<b>bad</b>"}')).toBe(false);
    expect(looksLikeHtml('use <title> tags')).toBe(false);
  });

  it('uses the title, and adds the first text line when the title does not say it', () => {
    expect(htmlSummary(nginx)).toBe('502 Bad Gateway');
    expect(htmlSummary(express)).toBe('Error — Cannot POST /webhooks/facesign');
    expect(htmlSummary(flask)).toBe('404 Not Found');
  });

  it('falls back to the first text line without a title, skipping scripts, styles and comments; decodes entities', () => {
    const page =
      '<!DOCTYPE html><html><head><style>body{color:red}</style><script>var x = "<p>no</p>";</script></head><!-- hidden --><body><h1>Service &amp; API &#8212; down&nbsp;now</h1><p>later</p></body></html>';
    expect(htmlSummary(page)).toBe('Service & API — down now');
  });

  it('copes with a page cut before its title closes (bodies are previewed from their first 200 characters)', () => {
    expect(htmlSummary('<!DOCTYPE html><html><head><title>Gateway Timeout from the upstream ser')).toBe(
      'Gateway Timeout from the upstream ser',
    );
  });

  it('previewBody quotes and marks a page, and never shows <!DOCTYPE html>', () => {
    expect(previewBody(nginx)).toBe('"502 Bad Gateway" (HTML page)');
    expect(previewBody(express, 40)).not.toContain('DOCTYPE');
    expect(previewBody('<!DOCTYPE html><html><head><meta charset="utf-8"></head>')).toBe('(an HTML page)');
  });

  it('previewBody collapses whitespace, cuts, escapes controls and quotes inner quotes', () => {
    expect(previewBody('  OK \n')).toBe('"OK"');
    expect(previewBody('')).toBe('');
    expect(previewBody(undefined)).toBe('');
    expect(previewBody('x'.repeat(100), 10)).toBe(`"${'x'.repeat(10)}…"`);
    expect(previewBody('say "hi"\x1b[31m')).toBe('"say \\"hi\\"\\x1b[31m"');
    expect(previewBody('<!DOCTYPE html><title>\x1b[2JOwned</title>')).toBe('"\\x1b[2JOwned" (HTML page)');
  });
});

describe("check's describeResult", () => {
  const result = (over: Partial<DeliveryResult>): DeliveryResult => ({
    ok: false,
    responseBytes: 0,
    truncated: false,
    latencyMs: 2,
    startedAt: 0,
    ...over,
  });

  it('previews an HTML error page by its title', () => {
    const text = describeResult(
      result({
        status: 502,
        responseBody: '<!DOCTYPE html><html><head><title>Bad Gateway</title></head><body></body></html>',
      }),
    );
    expect(text).toBe('502 "Bad Gateway" (HTML page) in 2.0 ms');
  });

  it('escapes controls in the body, the Location and a network error text', () => {
    expect(describeResult(result({ status: 500, responseBody: '\x1b[2J\rPASS' }))).not.toMatch(TERMINAL_ACTIVE);
    expect(describeResult(result({ status: 302, location: '/x\x1b[2J' }))).toContain('→ /x\\x1b[2J (not followed)');
    expect(describeResult(result({ error: { kind: 'network', message: 'bad reply \x1b[2J\nPASS' } }))).toBe(
      'bad reply \\x1b[2J\\x0aPASS',
    );
  });
});
