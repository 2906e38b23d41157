import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { deliver, MAX_RESPONSE_BYTES } from '../../../src/delivery/deliver.js';
import { describeNetworkError } from '../../../src/delivery/network-error.js';
import { parseExpectation } from '../../../src/delivery/expect.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { CliError } from '../../../src/errors.js';
import {
  closedPort,
  hugeBodyHandler,
  independentSignatureOk,
  startServer,
  verifyingHandler,
  type Handler,
  type TestServer,
} from '../../helpers/server.js';

const SECRET = 'whsec_deliver_test';
const servers: TestServer[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function requestTo(url: string, signature: 'valid' | 'invalid' = 'valid') {
  return prepareRequest(buildEvent('session.verified'), { url, secret: SECRET, signature });
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('deliver', () => {
  it('posts the exact prepared bytes and headers, and reports a 2xx', async () => {
    const server = await serve(verifyingHandler(SECRET));
    const req = requestTo(server.hookUrl);
    const res = await deliver(req, { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, status: 200, responseBody: 'OK', truncated: false, responseBytes: 2 });
    expect(res.latencyMs).toBeGreaterThan(0);
    expect(res.startedAt).toBeGreaterThan(Date.now() - 60_000);
    const got = server.requests[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/webhooks/facesign');
    expect(got.body.equals(req.body)).toBe(true);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['facesign-event-id']).toBe(req.eventId);
    expect(got.headers['user-agent']).toMatch(/^facesign-webhooks\//);
    expect(independentSignatureOk(got.body, got.headers['facesign-signature'], SECRET)).toBe(true);
  });

  it.each([
    [201, true],
    [204, true],
    [400, false],
    [409, false],
    [500, false],
    [503, false],
  ])('a %i response is ok=%s, with its status and body', async (status, ok) => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(status);
      res.end(status === 204 ? undefined : `status ${status}`);
    });
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.ok).toBe(ok);
    expect(res.status).toBe(status);
    expect(res.error).toBeUndefined();
    expect(res.responseBody).toBe(status === 204 ? '' : `status ${status}`);
  });

  it('keeps the first 200 characters of the body', async () => {
    const server = await serve((_req, _body, res) => res.end('x'.repeat(150) + 'y'.repeat(150)));
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.responseBody).toBe('x'.repeat(150) + 'y'.repeat(50));
    expect(res.responseBytes).toBe(300);
    expect(res.truncated).toBe(false);
  });

  it('does not follow a redirect: a 3xx fails and its Location is reported', async () => {
    const target = await serve((_req, _body, res) => res.end('should not be reached'));
    const server = await serve((_req, _body, res) => {
      res.writeHead(302, { location: target.hookUrl });
      res.end('moved');
    });
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: false, status: 302, location: target.hookUrl });
    expect(server.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });

  it('names a refused connection with host and port', async () => {
    const port = await closedPort();
    const res = await deliver(requestTo(`http://127.0.0.1:${port}/webhooks/facesign`), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.status).toBeUndefined();
    expect(res.error).toEqual({
      kind: 'refused',
      code: 'ECONNREFUSED',
      message: `connection refused at 127.0.0.1:${port} — is the server running?`,
    });
  });

  it('times out on a server that never answers, within the deadline', async () => {
    const server = await serve(() => undefined);
    const started = Date.now();
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 500 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res.ok).toBe(false);
    expect(res.error?.kind).toBe('timeout');
    expect(res.error?.message).toBe(`timeout after 500 ms — no full response from 127.0.0.1:${server.port}`);
    expect(server.requests).toHaveLength(1);
  });

  it('times out on a body that trickles past the deadline (the timeout covers the whole response)', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = await serve((_req, _body, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 50);
      timers.push(timer);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 500 });
      expect(res.ok).toBe(false);
      expect(res.error?.kind).toBe('timeout');
    } finally {
      timers.forEach(clearInterval);
    }
  });

  it('names a connection reset before the response', async () => {
    const server = await serve((req) => req.socket.destroy());
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.error?.kind).toBe('reset');
    expect(res.error?.message).toBe(`connection reset by 127.0.0.1:${server.port} before a full response`);
  });

  it('names a TLS error (https to a plain-HTTP server) in one line that says so', async () => {
    const server = await serve((_req, _body, res) => res.end('OK'));
    const res = await deliver(requestTo(`https://127.0.0.1:${server.port}/webhooks/facesign`), { timeoutMs: 5_000 });
    expect(res.ok).toBe(false);
    expect(res.error?.kind).toBe('tls');
    expect(res.error?.message).toBe(`TLS error: 127.0.0.1:${server.port} answered in plain HTTP — use http://`);
  });

  it('stops reading a huge body after 64 KiB, and the server sees the client go away', async () => {
    const TOTAL = 512 * 1024 * 1024;
    const huge = hugeBodyHandler(TOTAL, 'a', { contentLength: true });
    const server = await serve(huge.handler);
    const started = Date.now();
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res).toMatchObject({ ok: true, status: 200, truncated: true, responseBytes: MAX_RESPONSE_BYTES });
    expect(res.responseBody).toBe('a'.repeat(200));
    await Promise.race([
      huge.state.clientGone,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the server never saw the client go away')), 5_000)),
    ]);
    expect(huge.state.finished).toBe(false);
    expect(huge.state.written).toBeLessThan(TOTAL / 8);
  });

  it('reads a body of exactly 64 KiB whole, without calling it truncated', async () => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-length': String(MAX_RESPONSE_BYTES) });
      res.end(Buffer.alloc(MAX_RESPONSE_BYTES, 'b'));
    });
    const res = await deliver(requestTo(server.hookUrl), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: true, responseBytes: MAX_RESPONSE_BYTES, truncated: false });
  });

  it('uses a given dispatcher, and sends the same bytes each time (no re-signing)', async () => {
    const server = await serve(verifyingHandler(SECRET));
    const dispatcher = new Agent({ connections: 2 });
    try {
      const req = requestTo(server.hookUrl);
      for (let i = 0; i < 3; i++) expect((await deliver(req, { timeoutMs: 5_000, dispatcher })).status).toBe(200);
      expect(new Set(server.requests.map((r) => r.body.toString())).size).toBe(1);
      expect(new Set(server.requests.map((r) => r.headers['facesign-signature'])).size).toBe(1);
    } finally {
      await dispatcher.destroy();
    }
  });

  it("an invalid signature gets the verifying server's 400", async () => {
    const server = await serve(verifyingHandler(SECRET));
    const res = await deliver(requestTo(server.hookUrl, 'invalid'), { timeoutMs: 5_000 });
    expect(res).toMatchObject({ ok: false, status: 400, responseBody: 'Invalid signature' });
  });
});

describe('describeNetworkError', () => {
  const url = 'http://hooks.example.test:4000/x';
  it.each([
    [{ code: 'ENOTFOUND' }, 'dns', 'DNS lookup failed for hooks.example.test (ENOTFOUND) — check the host name'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'timeout', 'timeout after 900 ms connecting to hooks.example.test:4000'],
    [{ code: 'ECONNRESET' }, 'reset', 'connection reset by hooks.example.test:4000 before a full response'],
    [
      { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: 'bad cert' },
      'tls',
      'TLS error talking to hooks.example.test:4000: bad cert (ERR_TLS_CERT_ALTNAME_INVALID) — trust its CA with --ca FILE, or skip the check with --insecure',
    ],
    [
      {
        code: 'ERR_SSL_WRONG_VERSION_NUMBER',
        message: '80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl/record/ssl3_record.c:354:',
      },
      'tls',
      'TLS error: hooks.example.test:4000 answered in plain HTTP — use http://',
    ],
    [
      { code: 'UND_ERR_SOCKET', message: 'other side closed' },
      'reset',
      'connection reset by hooks.example.test:4000 before a full response',
    ],
    [
      { code: 'UND_ERR_SOCKET', message: 'bad upgrade' },
      'protocol',
      'protocol error from hooks.example.test:4000: a 101 Switching Protocols (upgrade) answer to a request that asked for none',
    ],
    [
      {
        code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
        message: 'Response body length does not match content-length header',
      },
      'protocol',
      'protocol error from hooks.example.test:4000: Response body length does not match content-length header',
    ],
    [
      { name: 'HTTPParserError', message: 'Response does not match the HTTP/1.1 protocol (Invalid header value char)' },
      'protocol',
      'protocol error from hooks.example.test:4000: Response does not match the HTTP/1.1 protocol (Invalid header value char)',
    ],
    [
      {
        name: 'HTTPParserError',
        message: 'Response does not match the HTTP/1.1 protocol (Expected HTTP/)',
        data: '\x15\x03\x01\x00\x02\x02\x46',
      },
      'tls',
      'hooks.example.test:4000 speaks TLS — use https://',
    ],
    [
      { code: 'UND_ERR_HEADERS_TIMEOUT' },
      'timeout',
      'timeout after 900 ms — no full response from hooks.example.test:4000',
    ],
    [
      { cause: { errors: [{ code: 'ECONNREFUSED' }] } },
      'refused',
      'connection refused at hooks.example.test:4000 — is the server running?',
    ],
  ])('%j → %s', (raw, kind, message) => {
    const err = Object.assign(new Error((raw as { message?: string }).message ?? 'x'), raw);
    expect(describeNetworkError(err, url, 900)).toMatchObject({ kind, message });
  });

  it('calls anything after our own deadline a timeout', () => {
    expect(describeNetworkError(new Error('aborted'), url, 750, true)).toMatchObject({
      kind: 'timeout',
      message: 'timeout after 750 ms — no full response from hooks.example.test:4000',
    });
  });
});

describe('parseExpectation', () => {
  it('matches a class or an exact status', () => {
    const two = parseExpectation('2xx');
    expect([199, 200, 299, 300, undefined].map((s) => two.matches(s))).toEqual([false, true, true, false, false]);
    const four = parseExpectation('4XX');
    expect(four.label).toBe('4xx');
    expect([400, 404, 499, 500].map((s) => four.matches(s))).toEqual([true, true, true, false]);
    const exact = parseExpectation('409');
    expect([409, 400, 410].map((s) => exact.matches(s))).toEqual([true, false, false]);
    expect(parseExpectation().label).toBe('2xx');
  });

  it.each(['600', '2x', 'ok', '20', '2000', ''])('refuses %j with exit 2', (value) => {
    let caught: unknown;
    try {
      parseExpectation(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(2);
  });
});
