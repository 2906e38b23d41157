import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/build.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { runWireLoad, wireRequestFactory, wireTarget } from '../../../src/delivery/load.js';
import { ResponseProtocolError, ResponseReader } from '../../../src/delivery/response-reader.js';
import { ndjson, runCli } from '../../helpers/cli.js';

/*
 * Load mode against hostile endpoints: raw TCP servers on 127.0.0.1 answering each request with
 * fixed bytes that break HTTP/1.1's framing. Each must be counted as `error:protocol` (never a 2xx,
 * never a timeout: the deadline is far longer than the test needs). undici (llhttp, strict mode)
 * gets the same bytes as the reference: it must reject each one too.
 */

const SECRET = 'whsec_hostile_test';
/** The response deadline: a case that waits for it would show as error:timeout. */
const DEADLINE_MS = 20_000;
const TEST_MS = 15_000;

interface Hostile {
  url: string;
  requests: number;
  close(): Promise<void>;
}

let open: Hostile[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

/**
 * A raw server that writes `reply` after each complete request (head, then Content-Length bytes)
 * and then leaves the connection open: whatever the client decides, it decides from these bytes.
 */
async function hostile(reply: string | Buffer): Promise<Hostile> {
  const sockets = new Set<Socket>();
  const bytes = typeof reply === 'string' ? Buffer.from(reply, 'latin1') : reply;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the client dropping the connection is expected
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.toString('latin1', 0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.subarray(end + 4 + length);
        state.requests++;
        socket.write(bytes);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const state: Hostile = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/facesign`,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  open.push(state);
  return state;
}

const ok = 'Content-Length: 2\r\n\r\nok';
/** Each case: the bytes a hostile endpoint answers with. */
const CASES: [string, string][] = [
  [
    'a bare 101 Switching Protocols',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  ],
  [
    'a 101 followed by bytes that look like a 200',
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\n${ok}`,
  ],
  ['bare LF line endings throughout', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok'],
  ['a bare LF after the status line', `HTTP/1.1 200 OK\n${ok}`],
  ['a bare LF ending one header line', 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok'],
  ['a lone CR inside a header value', `HTTP/1.1 200 OK\r\nX-A: a\rb\r\n${ok}`],
  ['obs-fold (a header line starting with a space)', `HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\n${ok}`],
  ['obs-fold (a header line starting with a tab)', `HTTP/1.1 200 OK\r\nX-A: a\r\n\tfolded\r\n${ok}`],
  ['conflicting duplicate Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!'],
  ['a Content-Length list with two values', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!'],
  [
    'Content-Length and Transfer-Encoding together',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  ],
  [
    'Transfer-Encoding then Content-Length',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  ],
  // llhttp lets any byte but CR and LF through in the reason phrase; this reader refuses control bytes there too.
  ['NUL in the status line', `HTTP/1.1 200 O\0K\r\n${ok}`],
  ['NUL in a header value', `HTTP/1.1 200 OK\r\nX-A: a\0b\r\n${ok}`],
  ['NUL in a header name', `HTTP/1.1 200 OK\r\nX-\0A: b\r\n${ok}`],
  ['a control byte (0x01) in a header value', `HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n${ok}`],
  ['DEL (0x7f) in a header value', `HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n${ok}`],
  ['a header line without a colon', `HTTP/1.1 200 OK\r\nX-No-Colon\r\n${ok}`],
  ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok'],
  ['a status code that is not three digits', `HTTP/1.1 2000 OK\r\n${ok}`],
  ['an HTTP version other than 1.0 or 1.1', `HTTP/1.2 200 OK\r\n${ok}`],
  ['a bare LF ending a chunk-size line', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n'],
  ['chunk data not followed by CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n'],
  ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'],
  // The head never completes: a reader waiting for a blank line would end in a timeout.
  ['NUL in a head that then stalls', 'HTTP/1.1 200 OK\r\nX-A: \0'],
  ['a bare LF in a head that then stalls', 'HTTP/1.1 200 OK\nContent-Length: 2\n'],
  ['obs-fold in a head that then stalls', 'HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n'],
];

/** What undici (llhttp) does with the same bytes: the error's code, or the status it accepted. */
async function undiciVerdict(url: string): Promise<string> {
  const u = new URL(url);
  const client = new Client(u.origin, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  try {
    const res = await client.request({
      path: u.pathname,
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    await res.body.text();
    return `status ${res.statusCode}`;
  } catch (err) {
    return `error ${(err as { code?: string }).code ?? (err as Error).message}`;
  } finally {
    await client.destroy();
  }
}

describe('load mode against hostile endpoints', () => {
  it.each(CASES)(
    '%s: error:protocol on every request, never 2xx, never a timeout; undici gets the same bytes',
    { timeout: TEST_MS },
    async (name, reply) => {
      const server = await hostile(reply);
      const template = prepareRequest(buildEvent('session.verified'), { url: server.url, secret: SECRET });
      const target = wireTarget(server.url);
      const report = await runWireLoad(target, wireRequestFactory(template, SECRET, target), {
        count: 4,
        concurrency: 2,
        timeoutMs: DEADLINE_MS,
      });
      expect(report.statuses).toEqual({ 'error:protocol': 4 });
      expect(report).toMatchObject({ sent: 4, ok: 0 });
      expect(server.requests).toBe(4);

      const verdict = await undiciVerdict(server.url);
      if (name === 'NUL in the status line') return expect(verdict).toBe('status 200');
      expect(verdict).toMatch(/^error /);
      expect(verdict).not.toMatch(/TIMEOUT/);
    },
  );
});

describe('send --count (the built CLI) against a hostile endpoint', () => {
  it('counts a 101 that pretends to be a 200 as error:protocol and exits 1', { timeout: TEST_MS }, async () => {
    const server = await hostile(CASES[1]![1]);
    const res = await runCli([
      'send',
      'verified',
      '--count',
      '6',
      '--concurrency',
      '2',
      '--to',
      server.url,
      '--secret',
      SECRET,
      '--json',
    ]);
    expect(res.code).toBe(1);
    const [load] = ndjson(res.stdout);
    expect(load).toMatchObject({ type: 'load', sent: 6, ok: 0, met: 0, statuses: { 'error:protocol': 6 } });
  });
});

describe('ResponseReader fed one byte at a time', () => {
  it.each(CASES)('%s: throws a ResponseProtocolError, never returns a response', (_name, reply) => {
    const bytes = Buffer.from(reply, 'latin1');
    const reader = new ResponseReader(64 * 1024);
    let thrownAt = -1;
    for (let i = 0; i < bytes.length && thrownAt < 0; i++) {
      try {
        expect(reader.push(bytes.subarray(i, i + 1)), `byte ${i}`).toBeUndefined();
      } catch (err) {
        expect(err).toBeInstanceOf(ResponseProtocolError);
        thrownAt = i;
      }
    }
    expect(thrownAt).toBeGreaterThanOrEqual(0);
  });

  it('fails a bad byte when it arrives, not at the end of the head', () => {
    // The NUL is byte 14; nothing after it is needed to know the response is broken.
    const reader = new ResponseReader(64 * 1024);
    const bytes = Buffer.from('HTTP/1.1 200 O\0K', 'latin1');
    for (let i = 0; i < 14; i++) reader.push(bytes.subarray(i, i + 1));
    expect(() => reader.push(bytes.subarray(14, 15))).toThrow(ResponseProtocolError);
  });

  it('reads well-formed responses byte by byte: interim 100, chunked with trailers, HTTP/1.0 until close', () => {
    const cases: [string, { status: number; bodyBytes: number; keepAlive: boolean }, boolean][] = [
      [
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nX-Tab:\tv \r\nContent-Length: 2\r\n\r\nok',
        { status: 200, bodyBytes: 2, keepAlive: true },
        false,
      ],
      [
        'HTTP/1.1 202 Accepted\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n',
        { status: 202, bodyBytes: 3, keepAlive: true },
        false,
      ],
      [
        'HTTP/1.1 200\r\nX-Obs-Text: caf\xe9\r\nContent-Length: 0\r\n\r\n',
        { status: 200, bodyBytes: 0, keepAlive: true },
        false,
      ],
      ['HTTP/1.0 200 OK\r\n\r\nuntil close', { status: 200, bodyBytes: 11, keepAlive: false }, true],
    ];
    for (const [text, expected, untilClose] of cases) {
      const bytes = Buffer.from(text, 'latin1');
      const reader = new ResponseReader(64 * 1024);
      let read;
      for (let i = 0; i < bytes.length; i++) {
        read = reader.push(bytes.subarray(i, i + 1));
        if (read) {
          expect(i, text).toBe(bytes.length - 1);
          break;
        }
      }
      const response = untilClose ? reader.end() : read?.response;
      expect(response, text).toMatchObject(expected);
    }
  });
});
