import { createHmac } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/build.js';
import { prepareRequest, type PrepareOptions, type WebhookRequest } from '../../../src/delivery/request.js';
import { deliver } from '../../../src/delivery/deliver.js';
import {
  requestFactory,
  runLoad,
  runWireLoad,
  wireRequestFactory,
  wireTarget,
  type LoadOptions,
} from '../../../src/delivery/load.js';
import {
  MAX_HEAD_BYTES,
  ResponseProtocolError,
  ResponseReader,
  type ReadResponse,
} from '../../../src/delivery/response-reader.js';
import {
  closedPort,
  hugeBodyHandler,
  independentSignatureOk,
  startServer,
  verifyingHandler,
  type Handler,
  type TestServer,
} from '../../helpers/server.js';

const SECRET = 'whsec_load_client_test';
/** Every network test is bounded: small counts, a short response deadline, and this per-test limit. */
const NET_TEST_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// ResponseReader: pure units, bytes in, responses out.
// ---------------------------------------------------------------------------------------------

const bin = (text: string) => Buffer.from(text, 'latin1');

/** Feeds the chunks in order; the first complete response (and its leftover), or undefined. */
function feed(
  reader: ResponseReader,
  chunks: Buffer[],
): { response: ReadResponse; leftover: number; at: number } | undefined {
  for (const [at, chunk] of chunks.entries()) {
    const read = reader.push(chunk);
    if (read) return { ...read, at };
  }
  return undefined;
}

/** The code of the ResponseProtocolError that `fn` throws (fails the test if it throws anything else). */
function protocolError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseProtocolError);
    return (err as ResponseProtocolError).code;
  }
  throw new Error('expected a ResponseProtocolError, nothing was thrown');
}

/**
 * Checks that `wire` parses to `expected` whole, split in two at every byte boundary, and one byte
 * at a time: the response must come out with the last byte and not one push earlier.
 */
function expectEverySplit(wire: Buffer, expected: ReadResponse): void {
  expect(new ResponseReader(64 * 1024).push(wire)).toEqual({ response: expected, leftover: 0 });
  for (let i = 1; i < wire.length; i++) {
    const reader = new ResponseReader(64 * 1024);
    expect(reader.push(wire.subarray(0, i)), `split at ${i}`).toBeUndefined();
    expect(reader.push(wire.subarray(i)), `split at ${i}`).toEqual({ response: expected, leftover: 0 });
  }
  const bytes = [...wire].map((b) => Buffer.from([b]));
  const read = feed(new ResponseReader(64 * 1024), bytes);
  expect(read).toEqual({ response: expected, leftover: 0, at: wire.length - 1 });
}

describe('ResponseReader', () => {
  it('reads a Content-Length response whole, split at every byte, and byte by byte', () => {
    const wire = bin('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world');
    expectEverySplit(wire, { status: 200, keepAlive: true, bodyBytes: 11, truncated: false });
  });

  it('reads a chunked body with chunk extensions and trailers, split at every byte', () => {
    const wire = bin(
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6 ; name="v"\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n',
    );
    expectEverySplit(wire, { status: 201, keepAlive: true, bodyBytes: 11, truncated: false });
  });

  it('skips a 100 Continue and reports the final status', () => {
    const wire = bin('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expectEverySplit(wire, { status: 200, keepAlive: true, bodyBytes: 2, truncated: false });
  });

  it('completes a 204, a 304 (even one naming a length) and a zero-length 200 at the end of the head', () => {
    for (const [head, status] of [
      ['HTTP/1.1 204 No Content\r\n\r\n', 204],
      ['HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', 304],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 200],
    ] as const) {
      expect(new ResponseReader(1000).push(bin(head)), head).toEqual({
        response: { status, keepAlive: true, bodyBytes: 0, truncated: false },
        leftover: 0,
      });
    }
  });

  it('reads a close-delimited body only when the connection ends, and never reuses that connection', () => {
    const reader = new ResponseReader(1000);
    expect(reader.push(bin('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello'))).toBeUndefined();
    expect(reader.push(bin(' world'))).toBeUndefined();
    expect(reader.end()).toEqual({ status: 200, keepAlive: false, bodyBytes: 11, truncated: false });
    // A length-delimited body cut short by the close is no response at all.
    const cut = new ResponseReader(1000);
    expect(cut.push(bin('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal'))).toBeUndefined();
    expect(cut.end()).toBeUndefined();
  });

  it('decides keep-alive from the version and the Connection header', () => {
    const keepAlive = (head: string) => new ResponseReader(1000).push(bin(`${head}\r\n\r\nok`))?.response.keepAlive;
    expect(keepAlive('HTTP/1.1 200 OK\r\nContent-Length: 2')).toBe(true);
    expect(keepAlive('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2')).toBe(false);
    expect(keepAlive('HTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 2')).toBe(false);
    expect(keepAlive('HTTP/1.0 200 OK\r\nContent-Length: 2')).toBe(false);
    expect(keepAlive('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2')).toBe(true);
  });

  it('stops at the body cap: truncated, exactly the cap counted, connection not reusable', () => {
    const capped = { status: 200, keepAlive: false, bodyBytes: 1000, truncated: true };
    const length = new ResponseReader(1000).push(
      bin(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(5000)}`),
    );
    expect(length?.response).toEqual(capped);
    const chunked = new ResponseReader(1000).push(
      bin(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n${'x'.repeat(2000)}\r\n0\r\n\r\n`),
    );
    expect(chunked?.response).toEqual(capped);
    const untilClose = new ResponseReader(1000).push(bin(`HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(1001)}`));
    expect(untilClose?.response).toEqual(capped);
    // Exactly the cap is a whole body, not a truncated one.
    const exact = new ResponseReader(1000).push(
      bin(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(1000)}`),
    );
    expect(exact?.response).toEqual({ status: 200, keepAlive: true, bodyBytes: 1000, truncated: false });
  });

  it('reports the bytes after a complete response as leftover', () => {
    const first = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const second = 'HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew';
    const both = bin(first + second);
    const reader = new ResponseReader(1000);
    const read = reader.push(both);
    expect(read).toEqual({
      response: { status: 200, keepAlive: true, bodyBytes: 2, truncated: false },
      leftover: second.length,
    });
    // The leftover really is the second response.
    reader.reset();
    expect(reader.push(both.subarray(both.length - read!.leftover))?.response.status).toBe(201);
    // The same for a response without a body and for a chunked one.
    expect(new ResponseReader(1000).push(bin(`HTTP/1.1 204 No Content\r\n\r\n${second}`))?.leftover).toBe(
      second.length,
    );
    expect(
      new ResponseReader(1000).push(bin(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${second}`))
        ?.leftover,
    ).toBe(second.length);
  });

  it('throws ResponseProtocolError on what is not an HTTP/1.x response', () => {
    expect(protocolError(() => new ResponseReader(1000).push(bin('garbage\r\n\r\n')))).toBe('HPE_INVALID_CONSTANT');
    expect(protocolError(() => new ResponseReader(1000).push(bin('HTTP/2 200\r\n\r\n')))).toBe('HPE_INVALID_CONSTANT');
    expect(
      protocolError(() =>
        new ResponseReader(1000).push(bin('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')),
      ),
    ).toBe('HPE_INVALID_CHUNK_SIZE');
    expect(
      protocolError(() => new ResponseReader(1000).push(bin('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n'))),
    ).toBe('HPE_INVALID_CONTENT_LENGTH');
    expect(
      protocolError(() => new ResponseReader(1000).push(bin('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'))),
    ).toBe('HPE_INVALID_CONTENT_LENGTH');
  });

  it('refuses a head over 64 KiB with no blank line, whole or arriving in pieces', () => {
    const huge = bin(`HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(MAX_HEAD_BYTES)}`);
    expect(protocolError(() => new ResponseReader(1000).push(huge))).toBe('HPE_HEADER_OVERFLOW');
    // In 1 KiB pieces it buffers up to the limit, then gives up (rather than buffering forever).
    const reader = new ResponseReader(1000);
    const pieces = Array.from({ length: Math.ceil(huge.length / 1024) }, (_, i) =>
      huge.subarray(i * 1024, (i + 1) * 1024),
    );
    let pushed = 0;
    const code = protocolError(() => {
      for (const piece of pieces) {
        reader.push(piece);
        pushed += piece.length;
      }
    });
    expect(code).toBe('HPE_HEADER_OVERFLOW');
    expect(pushed).toBeGreaterThanOrEqual(MAX_HEAD_BYTES - 1024);
  });

  it('parses a second response after reset()', () => {
    const reader = new ResponseReader(1000);
    expect(reader.push(bin('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'))?.response).toEqual({
      status: 200,
      keepAlive: false,
      bodyBytes: 2,
      truncated: false,
    });
    reader.reset();
    expect(reader.push(bin('HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n'))).toBeUndefined();
    expect(reader.push(bin('abc\r\n0\r\n\r\n'))?.response).toEqual({
      status: 503,
      keepAlive: true,
      bodyBytes: 3,
      truncated: false,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// wireTarget and wireRequestFactory: the exact text that goes on the wire.
// ---------------------------------------------------------------------------------------------

interface ParsedWire {
  requestLine: string;
  /** Header values by lowercase name (each name must appear once). */
  headers: Record<string, string>;
  body: string;
  bodyBytes: Buffer;
}

/** Parses one serialized request by hand (not with the code under test). */
function headAndBody(bytes: Buffer): string {
  const split = bytes.indexOf('\r\n\r\n');
  return bytes.toString('latin1', 0, split + 4) + bytes.toString('utf8', split + 4);
}

/** Splits a wire request into its parts; a Buffer is read as HTTP has it (head Latin-1, body UTF-8). */
function parseWire(input: string | Buffer): ParsedWire {
  const wire = typeof input === 'string' ? input : headAndBody(input);
  const split = wire.indexOf('\r\n\r\n');
  expect(split).toBeGreaterThan(0);
  const [requestLine, ...lines] = wire.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    expect(headers[name], `header ${name} appears once`).toBeUndefined();
    headers[name] = line.slice(colon + 1).trim();
  }
  const body = wire.slice(split + 4);
  return { requestLine: requestLine!, headers, body, bodyBytes: Buffer.from(body, 'utf8') };
}

const hmacHex = (body: Buffer) => createHmac('sha256', SECRET).update(body).digest('hex');

describe('wireTarget', () => {
  it('reads host, port, path and Host header once from the URL', () => {
    expect(wireTarget('http://[::1]:8080/hooks/in?x=1#frag')).toMatchObject({
      https: false,
      host: '::1',
      port: 8080,
      path: '/hooks/in?x=1',
      hostHeader: '[::1]:8080',
    });
    expect(wireTarget('https://example.com')).toMatchObject({
      https: true,
      host: 'example.com',
      port: 443,
      path: '/',
      hostHeader: 'example.com',
    });
    expect(wireTarget('http://localhost/a')).toMatchObject({ port: 80, path: '/a', hostHeader: 'localhost' });
  });
});

describe('wireRequestFactory', () => {
  const url = 'http://127.0.0.1:4567/webhooks/facesign';

  function wires(
    event: ReturnType<typeof buildEvent>,
    options: Partial<PrepareOptions> = {},
    n = 200,
  ): { template: WebhookRequest; parsed: ParsedWire[] } {
    const template = prepareRequest(event, { url, secret: SECRET, ...options });
    const next = wireRequestFactory(template, SECRET, wireTarget(url));
    return { template, parsed: Array.from({ length: n }, () => parseWire(next())) };
  }

  it('writes complete, distinct, correctly framed and signed requests', () => {
    const { template, parsed } = wires(buildEvent('session.verified'));
    const eventIds = new Set<string>();
    const sessionIds = new Set<string>();
    for (const req of parsed) {
      expect(req.requestLine).toBe('POST /webhooks/facesign HTTP/1.1');
      expect(req.headers.host).toBe('127.0.0.1:4567');
      expect(Number(req.headers['content-length'])).toBe(req.bodyBytes.length);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['user-agent']).toBe(template.headers['User-Agent']);
      const body = JSON.parse(req.body);
      expect(req.headers['facesign-event-id']).toBe(body.id);
      expect(body.id).toMatch(/^evt_[0-9a-f]{24}$/);
      expect(body.data.id).toMatch(/^vs_[0-9a-f]{24}$/);
      expect(req.headers['facesign-signature']).toBe(hmacHex(req.bodyBytes));
      eventIds.add(body.id);
      sessionIds.add(body.data.id);
    }
    // Fresh ids every time, none of them the template's.
    expect(eventIds.size).toBe(parsed.length);
    expect(sessionIds.size).toBe(parsed.length);
    expect(eventIds.has(template.eventId)).toBe(false);
    expect(sessionIds.has(template.sessionId!)).toBe(false);
  });

  it('counts Content-Length in UTF-8 bytes for a body with non-ASCII text', () => {
    const note = 'Zoë Ångström — café ✓ 日本語 🙂';
    const { parsed } = wires(buildEvent('session.verified', { set: [`data.metadata.note=${note}`] }), {}, 50);
    for (const req of parsed) {
      expect(req.bodyBytes.length).toBeGreaterThan(req.body.length); // really multi-byte
      expect(Number(req.headers['content-length'])).toBe(req.bodyBytes.length);
      expect(JSON.parse(req.body).data.metadata.note).toBe(note);
      expect(req.headers['facesign-signature']).toBe(hmacHex(req.bodyBytes));
    }
  });

  it('keeps Content-Length right when a pinned session id is shorter than generated ones', () => {
    const { template, parsed } = wires(buildEvent('session.verified', { sessionId: 'vs_short' }), {}, 50);
    expect(template.sessionId).toBe('vs_short');
    for (const req of parsed) {
      const body = JSON.parse(req.body);
      expect(body.data.id).toMatch(/^vs_[0-9a-f]{24}$/);
      expect(Number(req.headers['content-length'])).toBe(req.bodyBytes.length);
      expect(req.headers['facesign-signature']).toBe(hmacHex(req.bodyBytes));
    }
  });

  it("keeps the template's wrong signature in signature mode 'invalid'", () => {
    const { template, parsed } = wires(buildEvent('session.verified'), { signature: 'invalid' }, 50);
    for (const req of parsed) {
      expect(req.headers['facesign-signature']).toBe(template.headers['FaceSign-Signature']);
      expect(independentSignatureOk(req.bodyBytes, req.headers['facesign-signature'], SECRET)).toBe(false);
      expect(req.headers['facesign-event-id']).toBe(JSON.parse(req.body).id);
    }
  });

  it('puts extra headers on the wire', () => {
    const { parsed } = wires(buildEvent('session.verified'), { headers: ['X-Extra: 1'] }, 5);
    for (const req of parsed) expect(req.headers['x-extra']).toBe('1');
  });
});

// ---------------------------------------------------------------------------------------------
// runWireLoad against real local servers.
// ---------------------------------------------------------------------------------------------

/** A raw TCP server, for endpoints that misbehave in ways node:http will not. */
interface RawServer {
  hookUrl: string;
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** Complete requests received. */
  requests: number;
  close(): Promise<void>;
}

let httpServers: TestServer[] = [];
let rawServers: RawServer[] = [];
afterEach(async () => {
  await Promise.all([...httpServers.map((s) => s.close()), ...rawServers.map((s) => s.close())]);
  httpServers = [];
  rawServers = [];
});

/** A node:http server, closed after the test; `connections` counts the TCP connections it accepted. */
async function serve(handler?: Handler): Promise<TestServer & { connections: () => number }> {
  const server = await startServer(handler);
  httpServers.push(server);
  let connections = 0;
  server.server.on('connection', () => connections++);
  return Object.assign(server, { connections: () => connections });
}

/**
 * A raw server that frames requests itself (head up to CRLFCRLF, then Content-Length bytes) and
 * calls `onRequest` once per complete request.
 */
async function rawServe(onRequest: (socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // the client dropping a connection is expected here
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
        onRequest(socket);
        if (socket.destroyed) return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: RawServer = {
    hookUrl: `http://127.0.0.1:${port}/webhooks/facesign`,
    port,
    connections: 0,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  rawServers.push(state);
  return state;
}

/** Runs the load client as `send --count` does: wire requests from one session.verified template. */
function wireLoad(url: string, options: LoadOptions, prepare: Partial<PrepareOptions> = {}) {
  const template = prepareRequest(buildEvent('session.verified'), { url, secret: SECRET, ...prepare });
  const target = wireTarget(url);
  return runWireLoad(target, wireRequestFactory(template, SECRET, target), options);
}

describe('runWireLoad against a well-behaved node:http server', () => {
  it(
    'sends exactly count signed requests over at most concurrency keep-alive connections',
    { timeout: NET_TEST_MS },
    async () => {
      // Every tenth request is refused, so the status counts have two kinds; a bad signature would show as 400.
      const verify = verifyingHandler(SECRET);
      const server = await serve((req, body, res, index) =>
        index % 10 === 9 ? res.writeHead(503).end('busy') : verify(req, body, res, index),
      );
      const report = await wireLoad(server.hookUrl, { count: 300, concurrency: 8, timeoutMs: 1_000 });
      expect(report.statuses).toEqual({ '200': 270, '503': 30 });
      expect(report).toMatchObject({ sent: 300, ok: 270, interrupted: false });
      expect(server.requests).toHaveLength(300);
      for (const req of server.requests) {
        expect(req.method).toBe('POST');
        expect(req.url).toBe('/webhooks/facesign');
        expect(req.headers['facesign-signature']).toBe(hmacHex(req.body));
        expect(req.headers['facesign-event-id']).toBe(JSON.parse(req.body.toString('utf8')).id);
      }
      expect(new Set(server.requests.map((r) => r.headers['facesign-event-id'])).size).toBe(300);
      // Keep-alive: the connections were reused, not opened per request.
      expect(server.connections()).toBeGreaterThanOrEqual(1);
      expect(server.connections()).toBeLessThanOrEqual(8);
      expect(report.latency.max).toBeGreaterThanOrEqual(report.latency.p50);
    },
  );

  it('reconnects when every response says Connection: close', { timeout: NET_TEST_MS }, async () => {
    const server = await serve((_req, _body, res) => res.writeHead(200, { connection: 'close' }).end('bye'));
    const report = await wireLoad(server.hookUrl, { count: 40, concurrency: 4, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ '200': 40 });
    expect(server.requests).toHaveLength(40);
    expect(server.connections()).toBe(40);
  });

  it('reads chunked responses and keeps their connections', { timeout: NET_TEST_MS }, async () => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      res.write('second ');
      res.end('last');
    });
    const report = await wireLoad(server.hookUrl, { count: 60, concurrency: 4, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ '200': 60 });
    expect(server.connections()).toBeLessThanOrEqual(4);
  });

  it('counts a 302 as 302 and does not follow it', { timeout: NET_TEST_MS }, async () => {
    const elsewhere = await serve();
    const server = await serve((_req, _body, res) => res.writeHead(302, { location: elsewhere.hookUrl }).end());
    const report = await wireLoad(server.hookUrl, { count: 10, concurrency: 2, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ '302': 10 });
    expect(report.ok).toBe(0);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it(
    'stops starting requests once the signal aborts, and says it was interrupted',
    { timeout: NET_TEST_MS },
    async () => {
      const controller = new AbortController();
      const server = await serve((_req, _body, res, index) => {
        if (index === 19) controller.abort();
        res.end('OK');
      });
      const report = await wireLoad(server.hookUrl, {
        count: 500,
        concurrency: 4,
        timeoutMs: 1_000,
        signal: controller.signal,
      });
      expect(report.interrupted).toBe(true);
      expect(report.sent).toBeLessThan(500);
      // Only the requests already in flight when it aborted were still sent, and each was answered.
      expect(report.sent).toBeGreaterThanOrEqual(20);
      expect(report.sent).toBeLessThanOrEqual(20 + 4);
      expect(server.requests).toHaveLength(report.sent);
      expect(report.statuses).toEqual({ '200': report.sent });
    },
  );

  it(
    'runLoad (the library wrapper) still delivers WebhookRequest objects end to end',
    { timeout: NET_TEST_MS },
    async () => {
      const server = await serve(verifyingHandler(SECRET));
      const template = prepareRequest(buildEvent('session.created'), { url: server.hookUrl, secret: SECRET });
      const report = await runLoad(requestFactory(template, SECRET), { count: 50, concurrency: 4, timeoutMs: 1_000 });
      expect(report.statuses).toEqual({ '200': 50 });
      expect(server.requests).toHaveLength(50);
      expect(new Set(server.requests.map((r) => r.headers['facesign-event-id'])).size).toBe(50);
    },
  );

  it(
    'sends a Latin-1 header value as the same bytes single-event delivery (undici) sends',
    { timeout: NET_TEST_MS },
    async () => {
      // parseHeader accepts \x80-\xff in a value (obs-text), so `--header "X-Customer: Café"` is legal;
      // undici writes the head as Latin-1 (é is the one byte 0xE9), and node:http reads it back as Latin-1.
      const server = await serve();
      const template = prepareRequest(buildEvent('session.verified'), {
        url: server.hookUrl,
        secret: SECRET,
        headers: ['X-Customer: Café'],
      });
      await deliver(template, { timeoutMs: 1_000 });
      const target = wireTarget(server.hookUrl);
      await runWireLoad(target, wireRequestFactory(template, SECRET, target), {
        count: 1,
        concurrency: 1,
        timeoutMs: 1_000,
      });
      await runLoad(requestFactory(template, SECRET), { count: 1, concurrency: 1, timeoutMs: 1_000 });
      expect(server.requests).toHaveLength(3);
      const [single, wire, library] = server.requests.map((r) => r.headers['x-customer']);
      expect(single).toBe('Café');
      expect({ wire, library }).toEqual({ wire: single, library: single });
    },
  );
});

describe('runWireLoad against misbehaving endpoints', () => {
  it('counts close-delimited responses as complete', { timeout: NET_TEST_MS }, async () => {
    const server = await rawServe((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello'));
    const report = await wireLoad(server.hookUrl, { count: 20, concurrency: 4, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ '200': 20 });
    expect(server.requests).toBe(20);
    expect(server.connections).toBe(20);
  });

  it(
    'replaces a connection the server closes after a response without saying Connection: close',
    { timeout: NET_TEST_MS },
    async () => {
      // RFC 9112 §9.6 wants `Connection: close` here; without it the next request may already be on
      // the closing connection. That one is counted (as a reset), never thrown, and the lane reconnects.
      const server = await rawServe((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
      const report = await wireLoad(server.hookUrl, { count: 20, concurrency: 2, timeoutMs: 1_000 });
      expect(report.sent).toBe(20);
      expect(Object.keys(report.statuses).filter((k) => k !== '200' && k !== 'error:reset')).toEqual([]);
      expect((report.statuses['200'] ?? 0) + (report.statuses['error:reset'] ?? 0)).toBe(20);
      // Every connection's first request is answered.
      expect(report.statuses['200']).toBe(server.connections);
    },
  );

  it('counts a reset on every request as error:reset and finishes', { timeout: NET_TEST_MS }, async () => {
    const server = await rawServe((socket) => socket.resetAndDestroy());
    const report = await wireLoad(server.hookUrl, { count: 12, concurrency: 3, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ 'error:reset': 12 });
    expect(report).toMatchObject({ sent: 12, ok: 0 });
    expect(server.requests).toBe(12);
  });

  it('counts a response cut short by a close as error:reset', { timeout: NET_TEST_MS }, async () => {
    const server = await rawServe((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part'));
    const report = await wireLoad(server.hookUrl, { count: 8, concurrency: 2, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ 'error:reset': 8 });
  });

  it('times out on a server that never answers, within the deadline', { timeout: NET_TEST_MS }, async () => {
    const server = await rawServe(() => undefined);
    const t0 = performance.now();
    const report = await wireLoad(server.hookUrl, { count: 4, concurrency: 2, timeoutMs: 300 });
    const elapsed = performance.now() - t0;
    expect(report.statuses).toEqual({ 'error:timeout': 4 });
    expect(report.sent).toBe(4);
    // Two rounds of 300 ms on two lanes; generous bound for a noisy machine.
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(5_000);
    // A timed-out connection is not reused: the second round came on new connections.
    expect(server.connections).toBe(4);
  });

  it(
    'times out on a body that trickles past the deadline (the deadline covers the whole response)',
    { timeout: NET_TEST_MS },
    async () => {
      const timers = new Set<NodeJS.Timeout>();
      const server = await rawServe((socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
        const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write('x')), 20);
        timers.add(timer);
      });
      try {
        const report = await wireLoad(server.hookUrl, { count: 2, concurrency: 2, timeoutMs: 300 });
        expect(report.statuses).toEqual({ 'error:timeout': 2 });
        expect(report.durationMs).toBeLessThan(5_000);
      } finally {
        for (const timer of timers) clearInterval(timer);
      }
    },
  );

  it('counts an answer that is not HTTP as a protocol error', { timeout: NET_TEST_MS }, async () => {
    const server = await rawServe((socket) => socket.write('NOT HTTP\r\n\r\n'));
    const report = await wireLoad(server.hookUrl, { count: 6, concurrency: 2, timeoutMs: 1_000 });
    expect(report.statuses).toEqual({ 'error:protocol': 6 });
    expect(report.sent).toBe(6);
  });

  it.each([
    ['with a Content-Length', true],
    ['chunked', false],
  ])(
    'counts a huge body (%s) as its status, reads only 64 KiB and drops the connection',
    { timeout: NET_TEST_MS },
    async (_name, contentLength) => {
      const huge = hugeBodyHandler(1024 ** 3, 'x', { contentLength });
      const server = await serve(huge.handler);
      const report = await wireLoad(server.hookUrl, { count: 6, concurrency: 2, timeoutMs: 1_000 });
      expect(report.statuses).toEqual({ '200': 6 });
      expect(report.durationMs).toBeLessThan(5_000);
      // Not reused: each truncated response cost its connection.
      expect(server.connections()).toBe(6);
      expect(huge.state.finished).toBe(false);
      expect(huge.state.written).toBeLessThan(64 * 1024 ** 2);
    },
  );

  it('counts a closed port as error:refused', { timeout: NET_TEST_MS }, async () => {
    const port = await closedPort();
    const report = await wireLoad(`http://127.0.0.1:${port}/webhooks/facesign`, {
      count: 10,
      concurrency: 3,
      timeoutMs: 1_000,
    });
    expect(report.statuses).toEqual({ 'error:refused': 10 });
    expect(report).toMatchObject({ sent: 10, ok: 0, interrupted: false });
  });

  it('counts https to a plain-HTTP server as an error, without throwing', { timeout: NET_TEST_MS }, async () => {
    const server = await serve();
    const report = await wireLoad(server.hookUrl.replace(/^http:/, 'https:'), {
      count: 4,
      concurrency: 2,
      timeoutMs: 1_000,
    });
    expect(report.sent).toBe(4);
    expect(report.ok).toBe(0);
    // The plain server's answer to a ClientHello is not TLS: counted by kind, like deliver names it.
    expect(report.statuses).toEqual({ 'error:tls': 4 });
    expect(server.requests).toHaveLength(0);
  });
});
