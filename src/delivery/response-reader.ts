/**
 * An incremental reader of HTTP/1.1 responses for the load client: it finds where each response
 * ends (Content-Length, chunked, or the connection closing) and reads nothing else but the status,
 * how many body bytes came (up to a cap; none are kept) and whether the connection may be reused.
 * One reader per connection, one request in flight at a time.
 */
import {
  CONTROL_BYTE,
  FIELD_VALUE,
  HEADER_LINE,
  HEADER_LINE_RE,
  contentLength,
  framingProblem,
  headerLineProblem,
} from './http-framing.js';

import { MAX_HEAD_BYTES } from './lookup.js';

export { MAX_HEAD_BYTES };
/** A chunk-size line longer than this is not HTTP. */
const MAX_CHUNK_LINE = 1024;

const enum Phase {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailer,
  UntilClose,
  Done,
}

export interface ReadResponse {
  status: number;
  /** False when the server asked to close, or the body ran to the end of the connection. */
  keepAlive: boolean;
  /** Body bytes seen (at most the cap when truncated). */
  bodyBytes: number;
  /** True when the body went past the cap and was not read to its end. */
  truncated: boolean;
}

/** The decimal digit at `i`, or NaN. */
function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 0x30;
  return c >= 0 && c <= 9 ? c : NaN;
}

const STATUS_PREFIX = Buffer.from('HTTP/1.', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
/** A step's answer when it needs more bytes (what it has is kept in `pending`). */
const WAIT = -1;

// The head is checked with one regular expression built from the shared rules: this runs once per
// response of a load run. Lines end in CRLF only: a bare LF or a lone CR is an error, as in llhttp.
const VALID_HEAD = new RegExp(`^HTTP/1\\.[01] [0-9]{3}(?: ${FIELD_VALUE})?(?:\\r\\n${HEADER_LINE})*$`);
/** Complete header lines (a head still arriving), each `\r\n`-terminated. */
const VALID_LINES = new RegExp(`^(?:${HEADER_LINE}\\r\\n)*$`);
const CHUNK_SIZE_LINE = new RegExp(`^([0-9a-fA-F]{1,12})[ \\t]*(?:;${FIELD_VALUE})?$`);

/** Says what is wrong with a head that failed VALID_HEAD, for the report. */
function headProblem(head: string): string {
  const lines = head.split('\r\n');
  const status = lines[0]!;
  if (!/^HTTP\/1\.[01] [0-9]{3}(?: |$)/.test(status) || CONTROL_BYTE.test(status) || status.includes('\r'))
    return `bad status line ${JSON.stringify(status.slice(0, 40))}`;
  for (const line of lines.slice(1)) {
    if (HEADER_LINE_RE.test(line)) continue;
    const problem = line.includes('\r') ? 'holds a lone CR' : headerLineProblem(line);
    return `header line ${JSON.stringify(line.slice(0, 40))} ${problem}`;
  }
  return `bad response head ${JSON.stringify(head.slice(0, 60))}`;
}

export class ResponseProtocolError extends Error {
  readonly code: string;
  constructor(message: string, code = 'HPE_INVALID') {
    super(message);
    this.code = code;
  }
}

export class ResponseReader {
  private phase = Phase.Head;
  private pending: Buffer | undefined;
  /**
   * In the head: bytes from its start already searched for line ends, and where the first unchecked
   * line starts.
   */
  private scanned = 0;
  private lineStart = 0;
  private remaining = 0;
  private status = 0;
  private keepAlive = true;
  private bodyBytes = 0;
  /** Set when the body went past the cap: the response ends there. */
  private truncated = false;

  /**
   * @param maxBodyBytes past this many body bytes the response counts as read (truncated); body bytes
   * are counted, never kept.
   */
  constructor(private readonly maxBodyBytes: number) {}

  /** Ready for the next response on the same connection. */
  reset(): void {
    this.phase = Phase.Head;
    this.pending = undefined;
    this.scanned = 0;
    this.lineStart = 0;
    this.remaining = 0;
    this.status = 0;
    this.keepAlive = true;
    this.bodyBytes = 0;
    this.truncated = false;
  }

  /**
   * Feeds bytes from the socket. Returns the response once it is complete, else undefined.
   * Bytes after a complete response are reported through `leftover` (a well-behaved server sends none).
   * Throws ResponseProtocolError on anything that is not a well-formed HTTP/1.x response, as soon
   * as the bytes that make it so arrive.
   */
  push(chunk: Buffer): { response: ReadResponse; leftover: number } | undefined {
    let data = chunk;
    if (this.pending !== undefined) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    // Each step reads from `at` and returns where it stopped, or WAIT once the rest is kept in `pending`.
    for (let at = 0; at < data.length;) {
      at = this.step(data, at);
      if (at === WAIT) return undefined;
      if (this.phase === Phase.Done) {
        // A truncated body leaves its unread rest on a connection that is dropped: nothing is left over.
        const truncated = this.truncated;
        return { response: this.result(truncated), leftover: truncated ? 0 : data.length - at };
      }
    }
    return undefined;
  }

  /** Reads what the current phase expects at `at`: a head, body bytes, a chunk's CRLF or a chunk line. */
  private step(data: Buffer, at: number): number {
    switch (this.phase) {
      case Phase.Head:
        return this.readHeadBytes(data, at);
      case Phase.Length:
      case Phase.ChunkData:
      case Phase.UntilClose:
        return this.countBody(data, at);
      case Phase.ChunkEnd:
        return this.expectChunkEnd(data, at);
      case Phase.ChunkSize:
      case Phase.Trailer:
        return this.readChunkLine(data, at);
      case Phase.Done:
        // Bytes after a response already returned (no reset): it is returned again, all of them left over.
        this.truncated = false;
        return at;
    }
  }

  /** The head starting at `at`: checked as it arrives, read once whole; sets the phase its framing calls for. */
  private readHeadBytes(data: Buffer, at: number): number {
    // Whatever arrives must start like a status line: anything else (another protocol's
    // banner, say) fails now instead of waiting for a blank line that may never come.
    const seen = Math.min(STATUS_PREFIX.length, data.length - at);
    if (data.compare(STATUS_PREFIX, 0, seen, at, at + seen) !== 0) {
      const start = JSON.stringify(data.toString('latin1', at, Math.min(data.length, at + 40)));
      throw new ResponseProtocolError(`not an HTTP/1.x response: ${start}`, 'HPE_INVALID_CONSTANT');
    }
    const end = this.findHeadEnd(data, at);
    if (end < 0) {
      if (data.length - at > MAX_HEAD_BYTES)
        throw new ResponseProtocolError(`response head over ${MAX_HEAD_BYTES / 1024} KiB`, 'HPE_HEADER_OVERFLOW');
      this.checkPartialHead(data, at);
      this.scanned = data.length - at;
      this.pending = Buffer.from(data.subarray(at)); // a copy: the caller may reuse its buffer
      return WAIT;
    }
    if (end - at > MAX_HEAD_BYTES)
      throw new ResponseProtocolError(`response head over ${MAX_HEAD_BYTES / 1024} KiB`, 'HPE_HEADER_OVERFLOW');
    const head = data.toString('latin1', at, end);
    this.scanned = 0;
    this.lineStart = 0;
    // Head again after an interim 1xx: the real response follows.
    this.phase = this.readHead(head);
    return end + 4;
  }

  /** Body bytes framed by Content-Length, a chunk's size or the connection's end: counted, never kept. */
  private countBody(data: Buffer, at: number): number {
    const untilClose = this.phase === Phase.UntilClose;
    const take = untilClose ? data.length - at : Math.min(this.remaining, data.length - at);
    if (!untilClose) this.remaining -= take;
    this.bodyBytes += take;
    if (this.bodyBytes > this.maxBodyBytes) {
      this.bodyBytes = this.maxBodyBytes;
      this.keepAlive = false;
      this.truncated = true;
      this.phase = Phase.Done;
    } else if (this.remaining === 0 && this.phase === Phase.Length) {
      this.phase = Phase.Done;
    } else if (this.remaining === 0 && this.phase === Phase.ChunkData) {
      this.phase = Phase.ChunkEnd;
      this.remaining = 2;
    }
    return at + take;
  }

  /** Exactly CRLF after a chunk's data. */
  private expectChunkEnd(data: Buffer, at: number): number {
    if (data[at] !== (this.remaining === 2 ? CR : LF))
      throw new ResponseProtocolError('chunk data not followed by CRLF', 'HPE_STRICT');
    if (--this.remaining === 0) this.phase = Phase.ChunkSize;
    return at + 1;
  }

  /** A chunk-size line, or a trailer line after the last chunk (an empty one ends the response). */
  private readChunkLine(data: Buffer, at: number): number {
    const eol = data.indexOf(LF, at);
    if (eol < 0) {
      if (data.length - at > MAX_CHUNK_LINE)
        throw new ResponseProtocolError('chunk line too long', 'HPE_INVALID_CHUNK_SIZE');
      const tail = data.toString('latin1', at, data[data.length - 1] === CR ? data.length - 1 : data.length);
      if (CONTROL_BYTE.test(tail))
        throw new ResponseProtocolError(
          `control byte in a chunk line ${JSON.stringify(tail.slice(0, 20))}`,
          'HPE_STRICT',
        );
      this.pending = Buffer.from(data.subarray(at)); // a copy: the caller may reuse its buffer
      return WAIT;
    }
    if (eol === at || data[eol - 1] !== CR)
      throw new ResponseProtocolError('bare LF ending a chunk line (CRLF expected)', 'HPE_CR_EXPECTED');
    const line = data.toString('latin1', at, eol - 1);
    if (this.phase === Phase.Trailer) {
      if (line === '') this.phase = Phase.Done;
      else if (!HEADER_LINE_RE.test(line))
        throw new ResponseProtocolError(
          `bad trailer line ${JSON.stringify(line.slice(0, 40))}`,
          'HPE_INVALID_HEADER_TOKEN',
        );
      return eol + 1;
    }
    const size = CHUNK_SIZE_LINE.exec(line);
    if (!size)
      throw new ResponseProtocolError(
        `bad chunk size line ${JSON.stringify(line.slice(0, 20))}`,
        'HPE_INVALID_CHUNK_SIZE',
      );
    this.remaining = parseInt(size[1]!, 16);
    this.phase = this.remaining === 0 ? Phase.Trailer : Phase.ChunkData;
    return eol + 1;
  }

  /** The connection ended. Returns the response when the body was delimited by the close. */
  end(): ReadResponse | undefined {
    if (this.phase === Phase.UntilClose) return this.result(false);
    return undefined;
  }

  /**
   * Where the head starting at `at` ends (the index of its closing CRLFCRLF), or -1 when it has
   * not all arrived. Every LF must follow a CR: a bare LF fails here, where llhttp fails it.
   */
  private findHeadEnd(data: Buffer, at: number): number {
    for (let lf = data.indexOf(LF, at + this.scanned); lf >= 0; lf = data.indexOf(LF, lf + 1)) {
      if (data[lf - 1] !== CR || lf === at)
        throw new ResponseProtocolError('bare LF in the response head (CRLF expected)', 'HPE_CR_EXPECTED');
      if (lf - at >= 3 && data[lf - 2] === LF) return lf - 3;
    }
    return -1;
  }

  /**
   * A head still arriving: checks the lines complete so far and the bytes of the line in
   * progress, so a bad head fails when its bytes arrive, not at a deadline.
   */
  private checkPartialHead(data: Buffer, at: number): void {
    const lastLf = data.lastIndexOf(LF);
    const complete = lastLf >= at + this.lineStart ? lastLf + 1 : at + this.lineStart;
    if (complete > at + this.lineStart) {
      const lines = data.toString('latin1', at + this.lineStart, complete);
      const ok = this.lineStart === 0 ? VALID_HEAD.test(lines.slice(0, -2)) : VALID_LINES.test(lines);
      if (!ok)
        throw new ResponseProtocolError(
          headProblem(data.toString('latin1', at, complete - 2)),
          'HPE_INVALID_HEADER_TOKEN',
        );
      this.lineStart = complete - at;
    }
    const tail = data.toString('latin1', complete, data[data.length - 1] === CR ? data.length - 1 : data.length);
    if (CONTROL_BYTE.test(tail))
      throw new ResponseProtocolError(
        headProblem(data.toString('latin1', at, data.length)),
        'HPE_INVALID_HEADER_TOKEN',
      );
  }

  /**
   * Checks and reads a complete head (without its closing CRLFCRLF). Returns the phase that
   * follows: Head again after an interim 1xx, Done when there is no body, else how the body is framed.
   */
  private readHead(head: string): Phase {
    if (!VALID_HEAD.test(head)) throw new ResponseProtocolError(headProblem(head), 'HPE_INVALID_HEADER_TOKEN');
    const status = digit(head, 9) * 100 + digit(head, 10) * 10 + digit(head, 11);
    if (status < 100) throw new ResponseProtocolError(`bad status code ${head.slice(9, 12)}`, 'HPE_INVALID_STATUS');
    // The tool never asks to upgrade: a 101 is a server speaking another protocol from here on.
    if (status === 101)
      throw new ResponseProtocolError('101 Switching Protocols, but no upgrade was asked for', 'HPE_INVALID_STATUS');
    // Other 1xx are informational; the real response follows on the same connection.
    if (status < 200) return Phase.Head;
    const http10 = head.charCodeAt(7) === 0x30;
    let lengths: string[] | undefined;
    let transferEncoding = false;
    let chunked = false;
    let close = http10;
    for (let start = head.indexOf('\r\n'); start >= 0;) {
      const lineStart = start + 2;
      const next = head.indexOf('\r\n', lineStart);
      start = next;
      // Only a few fields matter, starting with c or t: other lines are skipped unread.
      const first = head.charCodeAt(lineStart) | 0x20;
      if (first !== 0x63 && first !== 0x74) continue;
      const line = head.slice(lineStart, next < 0 ? head.length : next);
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') {
        (lengths ??= []).push(line.slice(colon + 1));
      } else if (name === 'transfer-encoding') {
        transferEncoding = true;
        // The last coding of the last Transfer-Encoding line decides whether the body is chunked.
        chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(line.slice(colon + 1));
      } else if (name === 'connection') {
        const value = line.slice(colon + 1).toLowerCase();
        if (value.includes('close')) close = true;
        else if (http10 && value.includes('keep-alive')) close = false;
      }
    }
    let length = -1;
    if (lengths !== undefined || transferEncoding) {
      const problem = framingProblem(lengths ?? [], transferEncoding);
      if (problem)
        throw new ResponseProtocolError(
          problem,
          lengths?.length === 1 && !transferEncoding ? 'HPE_INVALID_CONTENT_LENGTH' : 'HPE_UNEXPECTED_CONTENT_LENGTH',
        );
      if (lengths) length = contentLength(lengths[0]!)!;
    }
    this.status = status;
    this.keepAlive = !close;
    if (status === 204 || status === 304) return Phase.Done;
    if (chunked) return Phase.ChunkSize;
    if (length >= 0) {
      this.remaining = length;
      return length === 0 ? Phase.Done : Phase.Length;
    }
    this.keepAlive = false;
    return Phase.UntilClose;
  }

  private result(truncated: boolean): ReadResponse {
    const response: ReadResponse = {
      status: this.status,
      keepAlive: this.keepAlive && !truncated,
      bodyBytes: this.bodyBytes,
      truncated,
    };
    this.phase = Phase.Done;
    return response;
  }
}
