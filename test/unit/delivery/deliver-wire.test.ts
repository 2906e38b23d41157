import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { deliver, MAX_RESPONSE_BYTES } from '../../../src/delivery/deliver.js';
import { prepareRequest, type PrepareOptions } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { ndjson, runCli } from '../../helpers/cli.js';
import { independentSignatureOk } from '../../helpers/server.js';

/*
 * Single deliveries (`deliver`, on undici) against servers whose every byte the test controls:
 * response framing, what goes on the wire, one connection per delivery, cutting, the whole-response
 * timeout, and https end to end through the built CLI.
 */

const SECRET = 'whsec_deliver_client_Kp4rT9';

// ---------------------------------------------------------------------------------------------
// Raw servers and cleanup

interface RawConn {
  socket: Socket;
  /** Every byte the client sent on this connection. */
  received: Buffer;
  /** The first complete request (head + Content-Length body). */
  request: Promise<Buffer>;
  closed: Promise<void>;
  isClosed: boolean;
}

/** Called once per connection, when its first request is complete. */
type RawHandler = (socket: Socket, request: Buffer, conn: RawConn) => void;

interface RawServer {
  port: number;
  url: string;
  hookUrl: string;
  conns: RawConn[];
  close(): Promise<void>;
}

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  const fns = cleanups.splice(0).reverse();
  for (const fn of fns) await fn();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `setTimeout`, cleared after the test. */
function later(ms: number, fn: () => void): void {
  const timer = setTimeout(fn, ms);
  cleanups.push(() => clearTimeout(timer));
}

/** Rejects when `promise` takes longer than `ms` (so a broken client fails the test instead of hanging it). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
    ),
  ]);
}

/** Where a request's head ends and how long it is in all, or undefined while incomplete. */
function requestLength(data: Buffer): number | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.toString('latin1', 0, end);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  return data.length >= total ? total : undefined;
}

async function rawServer(handler: RawHandler = () => undefined, host = '127.0.0.1'): Promise<RawServer> {
  const conns: RawConn[] = [];
  const server: NetServer = createNetServer((socket) => {
    socket.setNoDelay(true);
    let gotRequest!: (b: Buffer) => void;
    let gotClose!: () => void;
    const conn: RawConn = {
      socket,
      received: Buffer.alloc(0),
      request: new Promise<Buffer>((resolve) => (gotRequest = resolve)),
      closed: new Promise<void>((resolve) => (gotClose = resolve)),
      isClosed: false,
    };
    conns.push(conn);
    let handled = false;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      conn.isClosed = true;
      gotClose();
    });
    socket.on('data', (chunk: Buffer) => {
      conn.received = Buffer.concat([conn.received, chunk]);
      const length = handled ? undefined : requestLength(conn.received);
      if (length === undefined) return;
      handled = true;
      const request = conn.received.subarray(0, length);
      gotRequest(request);
      handler(socket, request, conn);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  const raw: RawServer = {
    port,
    url: `http://${shown}:${port}`,
    hookUrl: `http://${shown}:${port}/webhooks/facesign`,
    conns,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
  cleanups.push(() => raw.close());
  return raw;
}

/** A raw server that answers every request with exactly `bytes`, then (optionally) closes. */
function answer(bytes: string | Buffer, options: { end?: boolean } = {}): RawHandler {
  return (socket) => {
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    if (options.end) socket.end();
  };
}

/** Writes `bytes` one byte at a time, `delayMs` apart. */
function trickle(bytes: string, delayMs: number, options: { end?: boolean } = {}): RawHandler {
  return (socket) => {
    const data = Buffer.from(bytes, 'latin1');
    void (async () => {
      for (let i = 0; i < data.length && !socket.destroyed; i++) {
        socket.write(data.subarray(i, i + 1));
        await sleep(delayMs);
      }
      if (options.end && !socket.destroyed) socket.end();
    })();
  };
}

function requestTo(url: string, options: Partial<PrepareOptions> = {}) {
  return prepareRequest(buildEvent('session.verified'), { url, secret: SECRET, ...options });
}

/** Whether a server can listen on `host` on this machine. */
async function canListen(host: string): Promise<boolean> {
  const probe = createNetServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, host, () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return true;
  } catch {
    return false;
  }
}

const IPV6 = await canListen('::1');

// ---------------------------------------------------------------------------------------------

describe('deliver: response shapes (raw servers)', () => {
  it('a chunked response with chunk extensions and trailers: status and body right, ends on the last chunk', async () => {
    const server = await rawServer(
      answer(
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n' +
          '5;name=value\r\nhello\r\n' +
          '7;a=b;c="quoted ext"\r\n, world\r\n' +
          '0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n',
      ),
    );
    // The server keeps the connection open: the response must end on the chunk terminator, not the close.
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({
      ok: true,
      status: 200,
      responseBody: 'hello, world',
      responseBytes: 12,
      truncated: false,
    });
    expect(res.error).toBeUndefined();
  });

  it.each([
    ['Content-Length', 'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world'],
    [
      'chunked',
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n6;x=y\r\nhello \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n',
    ],
  ])('a %s response written one byte at a time is read right', async (_kind, bytes) => {
    const server = await rawServer(trickle(bytes, 2));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 8_000 });
    expect(res).toMatchObject({
      ok: true,
      status: 201,
      responseBody: 'hello world',
      responseBytes: 11,
      truncated: false,
    });
    expect(res.error).toBeUndefined();
  });

  // undici refuses a 100 Continue to a request that sent no `Expect: 100-continue` (the tool never
  // sends one): a protocol error at once, never a timeout and never the 200 that follows.
  it('an unasked-for 100 Continue, then the real response: a protocol error at once', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      later(30, () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: false, error: { kind: 'protocol' } });
    expect(res.status).toBeUndefined();
    expect(res.error?.message).toBe(
      `protocol error from 127.0.0.1:${server.port}: an unexpected interim response (100 Continue) to a request that did not ask for one`,
    );
  });

  it('an unasked-for 100 Continue and the response in one write: a protocol error, not the 200', async () => {
    const server = await rawServer(
      answer('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    );
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: false, error: { kind: 'protocol' } });
  });

  it('a close-delimited body (no length, no chunking) is ok with the body', async () => {
    const server = await rawServer(
      answer('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until close', { end: true }),
    );
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({
      ok: true,
      status: 200,
      responseBody: 'read until close',
      responseBytes: 16,
      truncated: false,
    });
    expect(res.error).toBeUndefined();
  });

  it('a body past 64 KiB (Content-Length 1 MiB): truncated, 65536 bytes, and the connection is closed soon after', async () => {
    const TOTAL = 1024 * 1024;
    const state = { written: 0 };
    const server = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${TOTAL}\r\n\r\n`);
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pump = () => {
        while (state.written < TOTAL && !socket.destroyed) {
          state.written += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 200, truncated: true, responseBytes: MAX_RESPONSE_BYTES });
    expect(res.responseBytes).toBe(65_536);
    expect(res.responseBody).toBe('a'.repeat(200));
    await within(server.conns[0]!.closed, 5_000, 'the server seeing the connection closed');
  });

  it.each([
    ['close-delimited', 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold school', true],
    ['with Content-Length, connection left open', 'HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nold school', false],
  ])('an HTTP/1.0 response (%s) is read fine', async (_kind, bytes, end) => {
    const server = await rawServer(answer(bytes, { end }));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'old school', responseBytes: 10 });
    expect(res.error).toBeUndefined();
  });

  it.each([301, 302, 307, 308])('a %i with Location: reported, not followed', async (status) => {
    const elsewhere = await rawServer(answer('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const location = `${elsewhere.hookUrl}?moved=1`;
    const server = await rawServer(
      answer(`HTTP/1.1 ${status} Moved\r\nLocation:   ${location}  \r\nContent-Length: 5\r\n\r\nmoved`),
    );
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: false, status, location, responseBody: 'moved' });
    expect(res.error).toBeUndefined();
    await sleep(100);
    expect(server.conns).toHaveLength(1);
    expect(elsewhere.conns).toHaveLength(0);
  });

  it('a Location on a 200 is not reported', async () => {
    const server = await rawServer(
      answer('HTTP/1.1 200 OK\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 2\r\n\r\nok'),
    );
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'ok' });
    expect(res.location).toBeUndefined();
  });

  it('non-UTF-8 bytes in the body do not throw', async () => {
    const body = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80, 0xe9, 0x41]);
    const server = await rawServer(
      answer(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body])),
    );
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 200, responseBytes: body.length, truncated: false });
    expect(typeof res.responseBody).toBe('string');
    expect(res.responseBody).toContain('\uFFFD');
    expect(res.responseBody!.endsWith('A')).toBe(true);
  });

  it('a garbage response is a protocol error with a one-line message', async () => {
    const server = await rawServer(answer('SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n'));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.status).toBeUndefined();
    expect(res.error?.kind).toBe('protocol');
    expect(res.error?.message).toBe(
      `protocol error from 127.0.0.1:${server.port}: Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or ICE/)`,
    );
    expect(res.error?.message).not.toContain('\n');
  });

  it('a garbage line that never forms a head, then a close, is still a protocol error (not a "reset")', async () => {
    // What an SSH or SMTP server on the port does: a banner line, then hang up on the HTTP request.
    const server = await rawServer(answer('SSH-2.0-OpenSSH_9.6\r\n', { end: true }));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.error?.kind).toBe('protocol');
    expect(res.error?.message).toContain('Response does not match the HTTP/1.1 protocol');
  });

  it('a garbage line that never forms a head, connection left open, fails at once instead of waiting for the timeout', async () => {
    // An HTTP client can tell from the first bytes that this is no HTTP response.
    const server = await rawServer(answer('SSH-2.0-OpenSSH_9.6\r\n'));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 1_500 });
    expect(res.ok).toBe(false);
    expect(res.error?.kind).toBe('protocol');
  });

  it('a response head over 64 KiB is an error, without waiting for the rest', async () => {
    const server = await rawServer(answer(`HTTP/1.1 200 OK\r\nX-Big: ${'h'.repeat(70 * 1024)}\r\n`));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.status).toBeUndefined();
    expect(res.error).toMatchObject({ kind: 'protocol' });
    expect(res.error?.message).toContain('response head over 64 KiB');
  });

  it('a Content-Length body cut short by a close is a reset', async () => {
    const server = await rawServer(
      answer('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it', { end: true }),
    );
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.error).toMatchObject({
      kind: 'reset',
      message: `connection reset by 127.0.0.1:${server.port} before a full response`,
    });
  });
});

// ---------------------------------------------------------------------------------------------

/** A raw request split into its request line, header lines (raw bytes) and body. */
function parseRaw(raw: Buffer) {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end);
  const lines: Buffer[] = [];
  for (let at = 0; at <= head.length;) {
    const eol = head.indexOf('\r\n', at);
    const stop = eol < 0 ? head.length : eol;
    lines.push(head.subarray(at, stop));
    at = stop + 2;
  }
  const [first, ...headerLines] = lines;
  const headers = headerLines.map((l) => {
    const text = l.toString('latin1');
    const colon = text.indexOf(':');
    return { name: text.slice(0, colon).toLowerCase(), value: text.slice(colon + 1).trim(), raw: l };
  });
  return { requestLine: first!.toString('latin1'), headers, body: raw.subarray(end + 4) };
}

describe('deliver: what goes on the wire', () => {
  const ok204 = answer('HTTP/1.1 204 No Content\r\n\r\n');

  it('request line, Host, Content-Length, every prepared header once, a Latin-1 value as one byte, the exact body', async () => {
    const server = await rawServer(ok204);
    const url = `http://127.0.0.1:${server.port}/webhooks/facesign?x=1`;
    const req = requestTo(url, { headers: ['X-Customer: Café', 'X-Request-Id: 42'], fromIp: true });
    const res = await deliver(req, { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 204 });
    await sleep(50);
    const conn = server.conns[0]!;
    const raw = await conn.request;
    // Nothing after the request: the whole connection carried exactly these bytes.
    expect(conn.received.length).toBe(raw.length);
    const { requestLine, headers, body } = parseRaw(raw);
    expect(requestLine).toBe('POST /webhooks/facesign?x=1 HTTP/1.1');
    const named = (name: string) => headers.filter((h) => h.name === name);
    expect(named('host').map((h) => h.value)).toEqual([`127.0.0.1:${server.port}`]);
    expect(named('content-length').map((h) => h.value)).toEqual([String(req.body.length)]);
    expect(named('transfer-encoding')).toHaveLength(0);
    for (const [name, value] of Object.entries(req.headers)) {
      const found = named(name.toLowerCase());
      expect(found, name).toHaveLength(1);
      expect(found[0]!.raw.equals(Buffer.from(`${name}: ${value}`, 'latin1')), name).toBe(true);
    }
    // undici's own: Host, Content-Length and `connection: keep-alive` (the connection is closed after the response all the same).
    expect(named('connection').map((h) => h.value)).toEqual(['keep-alive']);
    expect(headers).toHaveLength(Object.keys(req.headers).length + 3);
    const customer = named('x-customer')[0]!.raw;
    // "Café": the é is the single byte 0xE9 (Latin-1), not UTF-8's C3 A9.
    expect([...customer.subarray(-4)]).toEqual([0x43, 0x61, 0x66, 0xe9]);
    expect(customer.toString('latin1')).toBe('X-Customer: Café');
    expect(customer.length).toBe('X-Customer: Café'.length);
    expect(body.equals(req.body)).toBe(true);
    expect(independentSignatureOk(body, named('facesign-signature')[0]!.value, SECRET)).toBe(true);
  });

  it('a --header "Host: …" replaces the Host instead of adding a second one', async () => {
    const server = await rawServer(ok204);
    const req = requestTo(server.hookUrl, { headers: ['Host: other.example'] });
    const res = await deliver(req, { timeoutMs: 5_000 });
    expect(res.status).toBe(204);
    const { headers, requestLine } = parseRaw(await server.conns[0]!.request);
    expect(requestLine).toBe('POST /webhooks/facesign HTTP/1.1');
    expect(headers.filter((h) => h.name === 'host').map((h) => h.value)).toEqual(['other.example']);
  });

  it('--header Content-Length / Transfer-Encoding / Connection cannot change the framing: one right Content-Length, no Transfer-Encoding', async () => {
    const server = await rawServer(ok204);
    const req = requestTo(server.hookUrl, {
      headers: ['Content-Length: 1', 'Transfer-Encoding: chunked', 'Connection: keep-alive', 'X-Kept: yes'],
    });
    const res = await deliver(req, { timeoutMs: 5_000 });
    expect(res.status).toBe(204);
    const conn = server.conns[0]!;
    const raw = await conn.request;
    const { headers, body } = parseRaw(raw);
    expect(headers.filter((h) => h.name === 'content-length').map((h) => h.value)).toEqual([String(req.body.length)]);
    expect(headers.filter((h) => h.name === 'transfer-encoding')).toHaveLength(0);
    expect(headers.filter((h) => h.name === 'x-kept').map((h) => h.value)).toEqual(['yes']);
    expect(body.equals(req.body)).toBe(true);
    await sleep(50);
    expect(conn.received.length).toBe(raw.length);
  });

  it('an IPv6 URL has a bracketed Host', async ({ skip }) => {
    if (!IPV6) return skip('cannot listen on ::1 on this machine');
    const server = await rawServer(ok204, '::1');
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.status).toBe(204);
    const { headers } = parseRaw(await server.conns[0]!.request);
    expect(headers.filter((h) => h.name === 'host').map((h) => h.value)).toEqual([`[::1]:${server.port}`]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('deliver: connections', () => {
  it('each delivery opens a new connection, carries one request, and the client closes it after the response', async () => {
    // The server keeps every connection open (keep-alive): only the client can close them.
    const server = await rawServer(answer('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok'));
    const req = requestTo(server.hookUrl);
    for (let i = 0; i < 3; i++) {
      const res = await deliver(req, { timeoutMs: 5_000 });
      expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'ok' });
      expect(server.conns).toHaveLength(i + 1);
      await within(server.conns[i]!.closed, 5_000, `the server seeing connection ${i + 1} closed`);
    }
    for (const conn of server.conns) expect(conn.received.length).toBe((await conn.request).length);
  });

  it("a caller's undici Agent is used and left open: its one keep-alive connection carries every delivery", async () => {
    const server = await rawServer((socket) => {
      // Answers every request on the connection (a raw server's handler sees only the first).
      let seen = 1;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      socket.on('data', (chunk: Buffer) => {
        const count = chunk.toString('latin1').split('POST /').length - 1;
        for (let i = 0; i < count; i++, seen++) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const agent = new Agent({ connections: 1 });
    cleanups.push(() => agent.destroy());
    const req = requestTo(server.hookUrl);
    for (let i = 0; i < 3; i++)
      expect(await deliver(req, { timeoutMs: 5_000, dispatcher: agent })).toMatchObject({
        ok: true,
        status: 200,
        responseBody: 'ok',
      });
    expect(server.conns).toHaveLength(1);
    expect(server.conns[0]!.isClosed).toBe(false);
    await agent.close();
    await within(
      server.conns[0]!.closed,
      5_000,
      'the server seeing the connection closed once the caller closes its Agent',
    );
  });

  it('localhost reaches a server listening only on 127.0.0.1', async () => {
    const server = await rawServer(answer('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nv4ok'), '127.0.0.1');
    const res = await deliver(requestTo(`http://localhost:${server.port}/webhooks/facesign`), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'v4ok' });
    const { headers } = parseRaw(await server.conns[0]!.request);
    expect(headers.filter((h) => h.name === 'host').map((h) => h.value)).toEqual([`localhost:${server.port}`]);
  });

  it.skipIf(!IPV6)(
    'localhost reaches a server listening only on ::1 (skipped when ::1 cannot be bound on this machine)',
    async () => {
      const server = await rawServer(answer('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nv6ok'), '::1');
      const res = await deliver(requestTo(`http://localhost:${server.port}/webhooks/facesign`), { timeoutMs: 5_000 });
      expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'v6ok' });
      expect(server.conns).toHaveLength(1);
    },
  );
});

// ---------------------------------------------------------------------------------------------

describe('deliver: cutting', () => {
  it("destroying the caller's Agent ends an in-flight delivery through it promptly, as a reset", async () => {
    const server = await rawServer(); // reads the request, never answers
    const agent = new Agent();
    const pending = deliver(requestTo(server.hookUrl), { timeoutMs: 10_000, dispatcher: agent });
    for (const deadline = Date.now() + 2_000; server.conns.length < 1 && Date.now() < deadline;) await sleep(10);
    await agent.destroy();
    const res = await within(pending, 5_000, 'the cut delivery resolving');
    expect(res.ok).toBe(false);
    expect(res.status).toBeUndefined();
    expect(res.error?.kind).toBe('reset');
    await within(server.conns[0]!.closed, 5_000, 'the server seeing the cut');
  });

  it('an AbortSignal aborted right after an https delivery starts (undici still loading) ends it promptly', async () => {
    const server = await rawServer(); // accepts, never answers (not even the TLS handshake)
    const controller = new AbortController();
    const pending = deliver(requestTo(`https://127.0.0.1:${server.port}/webhooks/facesign`), {
      timeoutMs: 3_000,
      signal: controller.signal,
    });
    controller.abort();
    const res = await within(pending, 5_000, 'the cut https delivery resolving');
    expect(res.ok).toBe(false);
    expect(res.error?.kind).not.toBe('timeout');
  });

  it('an AbortSignal aborted after 100 ms ends the delivery promptly with an error', async () => {
    const server = await rawServer();
    const controller = new AbortController();
    const started = Date.now();
    const pending = deliver(requestTo(server.hookUrl), { timeoutMs: 10_000, signal: controller.signal });
    later(100, () => controller.abort());
    const res = await within(pending, 5_000, 'the aborted delivery resolving');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(res.ok).toBe(false);
    expect(res.status).toBeUndefined();
    expect(res.error).toBeDefined();
    expect(res.error?.kind).not.toBe('timeout');
    expect(res.error?.message).toContain(`127.0.0.1:${server.port}`);
    await within(server.conns[0]!.closed, 5_000, 'the server seeing the connection closed');
  });

  it('an already-aborted signal resolves at once and opens no connection', async () => {
    const server = await rawServer();
    const res = await within(
      deliver(requestTo(server.hookUrl), { timeoutMs: 10_000, signal: AbortSignal.abort() }),
      5_000,
      'the delivery resolving',
    );
    expect(res.ok).toBe(false);
    expect(res.error).toBeDefined();
    await sleep(200);
    expect(server.conns).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('deliver: the whole-response timeout', () => {
  it('a head then a body trickled one byte every 50 ms: timeout around timeoutMs', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write('.')), 50);
      cleanups.push(() => clearInterval(timer));
    });
    const started = Date.now();
    const res = await within(deliver(requestTo(server.hookUrl), { timeoutMs: 300 }), 5_000, 'the timed-out delivery');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(res.ok).toBe(false);
    expect(res.error).toMatchObject({
      kind: 'timeout',
      message: `timeout after 300 ms — no full response from 127.0.0.1:${server.port}`,
    });
    await within(server.conns[0]!.closed, 5_000, 'the server seeing the connection closed');
  });
});

// ---------------------------------------------------------------------------------------------

const HAS_OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!HAS_OPENSSL)(
  'https end to end through the built CLI (skipped: the openssl CLI is not available to make certificates)',
  () => {
    let dir = '';
    let caPath = '';
    let server: HttpsServer | undefined;
    let port = 0;
    const received: { body: Buffer; signature: unknown; servername: string | false | null | undefined; url: string }[] =
      [];

    function openssl(args: string[]): void {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fsw-tls-'));
      writeFileSync(
        join(dir, 'ca.cnf'),
        '[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n[dn]\nCN = facesign-webhooks throwaway test CA\n' +
          '[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n',
      );
      writeFileSync(join(dir, 'csr.cnf'), '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = localhost\n');
      writeFileSync(
        join(dir, 'server.ext'),
        'subjectAltName = IP:127.0.0.1,DNS:localhost\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nauthorityKeyIdentifier = keyid\n',
      );
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      openssl(['req', '-x509', ...ec, '-config', 'ca.cnf', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2']);
      openssl(['req', '-new', ...ec, '-config', 'csr.cnf', '-keyout', 'server.key', '-out', 'server.csr']);
      openssl([
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        '0x1001',
        '-days',
        '2',
        '-extfile',
        'server.ext',
        '-out',
        'server.crt',
      ]);
      caPath = join(dir, 'ca.crt');

      server = createHttpsServer(
        { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')) },
        (req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            received.push({
              body: Buffer.concat(chunks),
              signature: req.headers['facesign-signature'],
              servername: (req.socket as TLSSocket).servername,
              url: req.url ?? '',
            });
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('secure');
          });
        },
      );
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    afterEach(() => {
      received.splice(0);
    });

    it('send to https://localhost:PORT with the CA trusted: exit 0, 200, a validly signed body, SNI "localhost"', async () => {
      const url = `https://localhost:${port}/webhooks/facesign`;
      const r = await runCli(['send', 'verified', '--to', url, '--secret', SECRET, '--json'], {
        env: { NODE_EXTRA_CA_CERTS: caPath },
        timeoutMs: 15_000,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [delivery] = ndjson(r.stdout);
      expect(delivery).toMatchObject({
        type: 'delivery',
        url,
        status: 200,
        ok: true,
        response_body: 'secure',
        error: null,
      });
      expect(received).toHaveLength(1);
      expect(received[0]!.url).toBe('/webhooks/facesign');
      expect(independentSignatureOk(received[0]!.body, received[0]!.signature, SECRET)).toBe(true);
      expect(received[0]!.servername).toBe('localhost');
    });

    it('without the CA: exit 1, a one-line TLS error naming the host (kind "tls" in --json), no stack trace', async () => {
      const url = `https://localhost:${port}/webhooks/facesign`;
      const env = { NODE_EXTRA_CA_CERTS: undefined };
      const json = await runCli(['send', 'verified', '--to', url, '--secret', SECRET, '--json'], {
        env,
        timeoutMs: 15_000,
      });
      expect(json.code).toBe(1);
      const [delivery] = ndjson(json.stdout);
      expect(delivery).toMatchObject({ status: null, ok: false, error: { kind: 'tls' } });
      expect(delivery!.error.message).toMatch(new RegExp(`^TLS error talking to localhost:${port}: `));
      expect(delivery!.error.message).not.toContain('\n');

      const human = await runCli(['send', 'verified', '--to', url, '--secret', SECRET], { env, timeoutMs: 15_000 });
      expect(human.code).toBe(1);
      const lines = human.stdout.split('\n').filter((l) => l.includes('TLS error'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`TLS error talking to localhost:${port}: `);
      for (const text of [json.stdout, json.stderr, human.stdout, human.stderr])
        expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(received).toHaveLength(0);
    });

    it('load mode over TLS: --count 20 --concurrency 4 to https://127.0.0.1:PORT, all 200, no SNI for an address', async () => {
      const url = `https://127.0.0.1:${port}/webhooks/facesign`;
      const r = await runCli(
        ['send', 'verified', '--count', '20', '--concurrency', '4', '--to', url, '--secret', SECRET, '--json'],
        {
          env: { NODE_EXTRA_CA_CERTS: caPath },
          timeoutMs: 20_000,
        },
      );
      expect(r.code).toBe(0);
      const records = ndjson(r.stdout);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        type: 'load',
        url,
        sent: 20,
        ok: 20,
        met: 20,
        statuses: { '200': 20 },
        interrupted: false,
      });
      expect(received).toHaveLength(20);
      expect(received.every((q) => independentSignatureOk(q.body, q.signature, SECRET))).toBe(true);
      expect(new Set(received.map((q) => q.body.toString())).size).toBe(20);
      expect(received.every((q) => !q.servername)).toBe(true);
    });
  },
);
