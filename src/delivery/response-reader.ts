/**
 * An incremental reader of HTTP/1.1 responses for the load client: it finds where each response
 * ends (Content-Length, chunked, or the connection closing) and reads nothing else but the status,
 * a body prefix up to a cap, and whether the connection may be reused. One reader per connection,
 * one request in flight at a time.
 */

/** A response head larger than this is treated as a broken endpoint, not buffered further. */
export const MAX_HEAD_BYTES = 64 * 1024;
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
  /** The Location header, when the reader keeps the body (single deliveries report redirects). */
  location?: string;
  /** The body bytes read (at most the cap), when the reader was asked to keep them. */
  body?: Buffer;
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

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const LINE_END = Buffer.from('\r\n', 'latin1');
const STATUS_PREFIX = Buffer.from('HTTP/1.', 'latin1');

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
  private remaining = 0;
  private status = 0;
  private keepAlive = true;
  private bodyBytes = 0;
  private location: string | undefined;
  private kept: Buffer[] = [];

  /**
   * @param maxBodyBytes past this many body bytes the response counts as read (truncated).
   * @param keepBody keep the body bytes (up to the cap) and the Location header in the result.
   */
  constructor(
    private readonly maxBodyBytes: number,
    private readonly keepBody = false,
  ) {}

  /** Ready for the next response on the same connection. */
  reset(): void {
    this.phase = Phase.Head;
    this.pending = undefined;
    this.remaining = 0;
    this.status = 0;
    this.keepAlive = true;
    this.bodyBytes = 0;
    this.location = undefined;
    this.kept = [];
  }

  /**
   * Feeds bytes from the socket. Returns the response once it is complete, else undefined.
   * Bytes after a complete response are reported through `leftover` (a well-behaved server sends none).
   * Throws ResponseProtocolError on anything that is not an HTTP/1.x response.
   */
  push(chunk: Buffer): { response: ReadResponse; leftover: number } | undefined {
    let data = chunk;
    if (this.pending !== undefined) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let at = 0;
    while (at < data.length) {
      switch (this.phase) {
        case Phase.Head: {
          const end = data.indexOf(HEAD_END, at);
          // Whatever arrives must start like a status line: anything else (another protocol's
          // banner, say) fails now instead of waiting for a blank line that may never come.
          const seen = Math.min(STATUS_PREFIX.length, data.length - at);
          if (data.compare(STATUS_PREFIX, 0, seen, at, at + seen) !== 0) {
            throw new ResponseProtocolError(`not an HTTP/1.x response: ${JSON.stringify(data.toString('latin1', at, Math.min(data.length, at + 40)))}`);
          }
          if (end < 0) {
            if (data.length - at > MAX_HEAD_BYTES) throw new ResponseProtocolError(`response head over ${MAX_HEAD_BYTES / 1024} KiB`, 'HPE_HEADER_OVERFLOW');
            this.pending = Buffer.from(data.subarray(at)); // a copy: the caller may reuse its buffer
            return undefined;
          }
          if (end - at > MAX_HEAD_BYTES) throw new ResponseProtocolError(`response head over ${MAX_HEAD_BYTES / 1024} KiB`, 'HPE_HEADER_OVERFLOW');
          const head = data.toString('latin1', at, end);
          at = end + 4;
          if (this.readHead(head)) return { response: this.result(false), leftover: data.length - at };
          break;
        }
        case Phase.Length:
        case Phase.ChunkData:
        case Phase.UntilClose: {
          const take = this.phase === Phase.UntilClose ? data.length - at : Math.min(this.remaining, data.length - at);
          if (this.keepBody && this.bodyBytes < this.maxBodyBytes) this.kept.push(Buffer.from(data.subarray(at, at + Math.min(take, this.maxBodyBytes - this.bodyBytes))));
          at += take;
          if (this.phase !== Phase.UntilClose) this.remaining -= take;
          this.bodyBytes += take;
          if (this.bodyBytes > this.maxBodyBytes) {
            this.bodyBytes = this.maxBodyBytes;
            this.keepAlive = false;
            return { response: this.result(true), leftover: 0 };
          }
          if (this.remaining === 0 && this.phase === Phase.Length) return { response: this.result(false), leftover: data.length - at };
          if (this.remaining === 0 && this.phase === Phase.ChunkData) {
            this.phase = Phase.ChunkEnd;
            this.remaining = 2;
          }
          break;
        }
        case Phase.ChunkEnd: {
          // The CRLF after a chunk's data.
          const take = Math.min(this.remaining, data.length - at);
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.phase = Phase.ChunkSize;
          break;
        }
        case Phase.ChunkSize:
        case Phase.Trailer: {
          const eol = data.indexOf(LINE_END, at);
          if (eol < 0) {
            if (data.length - at > MAX_CHUNK_LINE) throw new ResponseProtocolError('chunk line too long');
            this.pending = Buffer.from(data.subarray(at)); // a copy: the caller may reuse its buffer
            return undefined;
          }
          const line = data.toString('latin1', at, eol);
          at = eol + 2;
          if (this.phase === Phase.Trailer) {
            if (line === '') return { response: this.result(false), leftover: data.length - at };
            break;
          }
          const semi = line.indexOf(';');
          const hex = (semi >= 0 ? line.slice(0, semi) : line).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseProtocolError(`bad chunk size "${hex.slice(0, 20)}"`);
          const size = parseInt(hex, 16);
          if (size === 0) this.phase = Phase.Trailer;
          else {
            this.phase = Phase.ChunkData;
            this.remaining = size;
          }
          break;
        }
        case Phase.Done:
          return { response: this.result(false), leftover: data.length - at };
      }
    }
    return undefined;
  }

  /** The connection ended. Returns the response when the body was delimited by the close. */
  end(): ReadResponse | undefined {
    if (this.phase === Phase.UntilClose) return this.result(false);
    return undefined;
  }

  /** Parses a head; returns true when the response has no body (it is complete). */
  private readHead(head: string): boolean {
    // "HTTP/1.x SSS" is checked by character codes: this runs once per response of a load run.
    if (!head.startsWith('HTTP/1.') || (head.charCodeAt(7) !== 0x30 && head.charCodeAt(7) !== 0x31) || head.charCodeAt(8) !== 0x20) {
      throw new ResponseProtocolError(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    }
    const status = digit(head, 9) * 100 + digit(head, 10) * 10 + digit(head, 11);
    const after = head.charCodeAt(12);
    if (!(status >= 100) || !(Number.isNaN(after) || after === 0x20 || after === 0x0d)) {
      throw new ResponseProtocolError(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    }
    const http10 = head.charCodeAt(7) === 0x30;
    // 1xx: informational; the real response follows on the same connection.
    if (status < 200) return false;
    let length = -1;
    let chunked = false;
    let close = http10;
    for (let start = head.indexOf('\r\n'); start >= 0; ) {
      const lineStart = start + 2;
      const next = head.indexOf('\r\n', lineStart);
      start = next;
      // Only a few fields matter, starting with c, t or l: other lines are skipped unread.
      const first = head.charCodeAt(lineStart) | 0x20;
      if (first !== 0x63 && first !== 0x74 && first !== 0x6c) continue;
      const line = head.slice(lineStart, next < 0 ? head.length : next);
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length') {
        const value = line.slice(colon + 1).trim();
        if (!/^\d{1,15}$/.test(value)) throw new ResponseProtocolError(`bad Content-Length "${value.slice(0, 20)}"`);
        length = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked = /(?:^|,)\s*chunked\s*$/i.test(line.slice(colon + 1));
      } else if (name === 'location' && this.keepBody) {
        this.location ??= line.slice(colon + 1).trim();
      } else if (name === 'connection') {
        const value = line.slice(colon + 1).toLowerCase();
        if (value.includes('close')) close = true;
        else if (http10 && value.includes('keep-alive')) close = false;
      }
    }
    this.status = status;
    this.keepAlive = !close;
    if (status === 204 || status === 304) this.phase = Phase.Done;
    else if (chunked) this.phase = Phase.ChunkSize;
    else if (length >= 0) {
      this.phase = length === 0 ? Phase.Done : Phase.Length;
      this.remaining = length;
    } else {
      this.phase = Phase.UntilClose;
      this.keepAlive = false;
    }
    return this.phase === Phase.Done;
  }

  private result(truncated: boolean): ReadResponse {
    const response: ReadResponse = { status: this.status, keepAlive: this.keepAlive && !truncated, bodyBytes: this.bodyBytes, truncated };
    if (this.keepBody) {
      response.body = Buffer.concat(this.kept, Math.min(this.bodyBytes, this.maxBodyBytes));
      if (this.location !== undefined) response.location = this.location;
    }
    this.phase = Phase.Done;
    return response;
  }
}
