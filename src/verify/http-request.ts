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

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

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

function parseHead(head: string): Pick<ParsedHttpRequest, 'method' | 'target' | 'version' | 'headers'> {
  const lines = head.split(/\r?\n/);
  const requestLine = lines[0] ?? '';
  const parts = /^([A-Za-z]+) (\S+) (HTTP\/\d(?:\.\d)?)$/.exec(requestLine.trim());
  if (!parts) {
    const shown = requestLine.length > 60 ? `${requestLine.slice(0, 60)}…` : requestLine;
    throw new HttpRequestParseError(`line 1 is not a request line ("METHOD /path HTTP/1.1"): ${JSON.stringify(shown)}`);
  }
  const headers: HeaderList = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^[ \t]/.test(line) && headers.length > 0) {
      // Obsolete line folding: a continuation of the previous header's value.
      const last = headers[headers.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) {
      throw new HttpRequestParseError(`line ${i + 1} is not a header ("Name: value"): ${JSON.stringify(line.slice(0, 60))}`);
    }
    headers.push([name, line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')]);
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
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new HttpRequestParseError(`chunked body: bad chunk size ${JSON.stringify(sizeText.slice(0, 20))} at byte ${pos}`);
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 1;
    if (size === 0) break;
    if (pos + size > bytes.length) throw new HttpRequestParseError(`chunked body: a chunk of ${size} bytes runs past the end of the file`);
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
 * newline at the end of a saved file) or de-chunked for `Transfer-Encoding: chunked`.
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

  const encoding = headerValues(head.headers, 'transfer-encoding').join(',').toLowerCase();
  if (encoding.includes('chunked')) {
    const { body, trailing } = decodeChunked(rest);
    if (trailing > 2) notes.push(`${trailing} bytes after the last chunk were ignored`);
    return { ...head, body, notes };
  }
  const lengths = headerValues(head.headers, 'content-length');
  if (lengths.length === 0) return { ...head, body: rest, notes };
  const distinct = [...new Set(lengths.flatMap((v) => v.split(',')).map((v) => v.trim()))];
  if (distinct.length !== 1 || !/^\d+$/.test(distinct[0]!)) {
    throw new HttpRequestParseError(`Content-Length ${JSON.stringify(lengths.join(', '))} is not one whole number`);
  }
  const length = Number(distinct[0]);
  if (rest.length > length) {
    notes.push(`${rest.length - length} byte(s) after Content-Length (${length}) were ignored`);
    return { ...head, body: rest.subarray(0, length), notes };
  }
  if (rest.length < length) notes.push(`the body has ${rest.length} bytes but Content-Length says ${length}: the request looks truncated`);
  return { ...head, body: rest, notes };
}
