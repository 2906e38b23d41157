import { CONTROL_BYTE, HEADER_LINE_RE, framingProblem, headerLineProblem } from '../delivery/http-framing.js';

/** A header list in the order received, names as written; repeated names stay separate entries. */
export type HeaderList = [string, string][];

/** A raw HTTP/1.x request, as `nc -l`, a proxy or a log saves it. */
export interface ParsedHttpRequest {
  method: string;
  target: string;
  version: string;
  headers: HeaderList;
  /** The body bytes exactly as they followed the blank line (cut to Content-Length, or de-chunked). */
  body: Buffer;
  /** Problems worth a warning: bytes after Content-Length, a body shorter than it, and so on. */
  notes: string[];
}

/** Thrown by `parseHttpRequest` for text that is not an HTTP request; the message says where. */
export class HttpRequestParseError extends Error {
  override readonly name = 'HttpRequestParseError';
}

/** All values of a header (name case-insensitive), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const wanted = name.toLowerCase();
  return headers.filter(([k]) => k.toLowerCase() === wanted).map(([, v]) => v);
}

/** The end of the head: the first blank line, whether lines end in CRLF or a bare LF. */
function findHeadEnd(bytes: Buffer): { headEnd: number; bodyStart: number } | undefined {
  const match = /\r?\n\r?\n/.exec(bytes.toString('latin1'));
  return match ? { headEnd: match.index, bodyStart: match.index + match[0].length } : undefined;
}

/** A line as an error message shows it. */
function shown(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}

/**
 * The request line and headers, held to the same framing rules as load mode's response reader
 * (src/delivery/http-framing.ts) with one leniency: a line may end in a bare LF. A request saved
 * by hand, or copied through an editor, usually has LF line endings, and refusing the file for
 * that would help nobody; on the wire a bare LF is an error. A lone CR is not a line ending.
 */
function parseHead(head: string): Pick<ParsedHttpRequest, 'method' | 'target' | 'version' | 'headers'> {
  const lines = head.split(/\r?\n/);
  const requestLine = lines[0] ?? '';
  const parts = /^([A-Za-z]+) (\S+) (HTTP\/\d(?:\.\d)?)$/.exec(requestLine.trim());
  if (!parts || CONTROL_BYTE.test(requestLine)) {
    throw new HttpRequestParseError(`line 1 is not a request line ("METHOD /path HTTP/1.1"): ${shown(requestLine)}`);
  }
  const headers: HeaderList = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!HEADER_LINE_RE.test(line))
      throw new HttpRequestParseError(
        `line ${i + 1} is not a header ("Name: value"), it ${headerLineProblem(line)}: ${shown(line)}`,
      );
    const colon = line.indexOf(':');
    headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')]);
  }
  return { method: parts[1]!, target: parts[2]!, version: parts[3]!, headers };
}

/** Decodes a chunked body; anything that does not frame correctly is a parse error. */
function decodeChunked(bytes: Buffer): { body: Buffer; trailing: number } {
  const chunks: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\n', pos);
    if (lineEnd < 0) throw new HttpRequestParseError(`chunked body: no chunk-size line at byte ${pos}`);
    const sizeText = bytes.toString('latin1', pos, lineEnd).replace(/\r$/, '').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
      throw new HttpRequestParseError(
        `chunked body: bad chunk size ${JSON.stringify(sizeText.slice(0, 20))} at byte ${pos}`,
      );
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 1;
    if (size === 0) break;
    if (pos + size > bytes.length)
      throw new HttpRequestParseError(`chunked body: a chunk of ${size} bytes runs past the end of the file`);
    chunks.push(bytes.subarray(pos, pos + size));
    pos += size;
    if (bytes[pos] === 0x0d) pos++;
    if (bytes[pos] === 0x0a) pos++;
  }
  return { body: Buffer.concat(chunks), trailing: bytes.length - pos };
}

/**
 * Parses a raw HTTP request. The head may use CRLF or bare LF line endings; the body is taken byte
 * for byte after the blank line, cut to Content-Length when one is given (editors often add a
 * newline at the end of a saved file) or de-chunked for `Transfer-Encoding: chunked`. A folded
 * header line, a control byte in the head, a repeated Content-Length or one next to
 * Transfer-Encoding is a parse error, as it is for a response on the wire.
 */
export function parseHttpRequest(bytes: Uint8Array): ParsedHttpRequest {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findHeadEnd(buf);
  // A request with no body at all may end right after its last header line.
  const headText = end ? buf.toString('latin1', 0, end.headEnd) : buf.toString('latin1').replace(/\r?\n$/, '');
  if (headText.trim() === '') throw new HttpRequestParseError('the file is empty or starts with a blank line');
  const head = parseHead(headText);
  const rest = end ? buf.subarray(end.bodyStart) : Buffer.alloc(0);
  const notes: string[] = [];

  const encodings = headerValues(head.headers, 'transfer-encoding');
  const lengths = headerValues(head.headers, 'content-length');
  const problem = framingProblem(lengths, encodings.length > 0);
  if (problem) throw new HttpRequestParseError(`${problem}: the body's length is ambiguous`);
  if (encodings.join(',').toLowerCase().includes('chunked')) {
    const { body, trailing } = decodeChunked(rest);
    if (trailing > 2) notes.push(`${trailing} bytes after the last chunk were ignored`);
    return { ...head, body, notes };
  }
  if (lengths.length === 0) return { ...head, body: rest, notes };
  const length = Number(lengths[0]);
  if (rest.length > length) {
    notes.push(`${rest.length - length} byte(s) after Content-Length (${length}) were ignored`);
    return { ...head, body: rest.subarray(0, length), notes };
  }
  if (rest.length < length)
    notes.push(`the body has ${rest.length} bytes but Content-Length says ${length}: the request looks truncated`);
  return { ...head, body: rest, notes };
}
