import { afterEach, describe, expect, it } from 'vitest';
import { deliver, MAX_RESPONSE_BYTES, type DeliveryResult } from '../../../src/delivery/deliver.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { buildEvent } from '../../../src/events/build.js';
import { ndjson, runCli } from '../../helpers/cli.js';
import { endlessBody, startRawServer, writes, type RawHandler, type RawServer } from '../../helpers/raw-server.js';

/*
 * Single deliveries against hostile endpoints: raw servers that write a fixed byte sequence. A
 * delivery is a success only for a complete 2xx response; a parse error is reported as one at
 * once (never as a timeout), a dropped connection as a reset.
 */

const SECRET = 'whsec_hostile_matrix';
const servers: RawServer[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  timers.splice(0).forEach(clearTimeout);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: RawHandler): Promise<RawServer> {
  const server = await startRawServer(handler);
  servers.push(server);
  return server;
}

const request = (url: string) => prepareRequest(buildEvent('session.verified'), { url, secret: SECRET });

/** Rejects when `promise` takes longer than `ms`: a broken client fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      timers.push(setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
    ),
  ]);
}

/** Delivers with a 5 s deadline and checks the verdict came long before it (a parse error is immediate). */
async function deliverFast(server: RawServer): Promise<DeliveryResult> {
  const started = Date.now();
  const res = await within(deliver(request(server.hookUrl), { timeoutMs: 5_000 }), 8_000, 'the delivery');
  expect(Date.now() - started, 'the verdict should not wait for the deadline').toBeLessThan(3_000);
  return res;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

// [name, bytes the server writes (the connection stays open unless `end`), the reason undici or the tool gives]
const PROTOCOL_CASES: [string, string, RegExp, { end?: boolean }?][] = [
  ['101 then HTTP/1.1 200', `HTTP/1.1 101 Switching Protocols\r\n\r\n${OK}`, /101 Switching Protocols/],
  [
    '101 with Upgrade headers then HTTP/1.1 200',
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${OK}`,
    /101 Switching Protocols/,
  ],
  ['a bare 101, connection left open', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', /101 Switching Protocols/],
  [
    'bare-LF line endings',
    'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
    /Response does not match the HTTP\/1\.1 protocol \(Missing expected CR after response line\)/,
  ],
  [
    'a header line starting with whitespace (obs-fold)',
    'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok',
    /Response does not match the HTTP\/1\.1 protocol/,
  ],
  [
    'duplicate conflicting Content-Length',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
    /Content-Length|content-length/,
  ],
  [
    'Content-Length and Transfer-Encoding',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    /Content-Length can't be present with Transfer-Encoding/,
  ],
  [
    'Content-Length and Transfer-Encoding, Content-Length first',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    /Content-Length|content-length/,
  ],
  [
    'NUL in the status line',
    'HTTP/1.1 200 O\0K\r\nContent-Length: 2\r\n\r\nok',
    /control character 0x00 in the status line/,
  ],
  [
    'a control byte (0x01) in the status line',
    'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok',
    /control character 0x01 in the status line/,
  ],
  ['NUL in a header value', 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok', /Invalid header value char/],
  [
    'a header line without a colon',
    'HTTP/1.1 200 OK\r\nXnocolon\r\nContent-Length: 2\r\n\r\nok',
    /Invalid header token/,
  ],
  ['a garbage banner (an SSH server)', 'SSH-2.0-OpenSSH_9.6\r\n', /Expected HTTP\//],
  ['a garbage banner, then a close', 'SSH-2.0-OpenSSH_9.6\r\n', /Expected HTTP\//, { end: true }],
];

describe('deliver: hostile servers', () => {
  it.each(PROTOCOL_CASES)(
    '%s: a protocol error at once, never a success or a timeout',
    async (_name, bytes, reason, options) => {
      const server = await serve(writes(bytes, options));
      const res = await deliverFast(server);
      expect(res.ok).toBe(false);
      expect(res.status).toBeUndefined();
      expect(res.error?.kind).toBe('protocol');
      expect(res.error?.message).toMatch(new RegExp(`^protocol error from 127\\.0\\.0\\.1:${server.port}: `));
      expect(res.error?.message).toMatch(reason);
      expect(res.error?.message).not.toContain('\n');
    },
  );

  it('a close mid-body (Content-Length 10, 2 bytes sent): a reset, not a success', async () => {
    const server = await serve(writes('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok', { end: true }));
    const res = await deliverFast(server);
    expect(res).toMatchObject({
      ok: false,
      error: { kind: 'reset', message: `connection reset by 127.0.0.1:${server.port} before a full response` },
    });
  });

  it('a chunked body cut off before its last chunk: a reset, not a success', async () => {
    const server = await serve(
      writes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n', { end: true }),
    );
    const res = await deliverFast(server);
    expect(res).toMatchObject({ ok: false, error: { kind: 'reset' } });
  });

  it('a reset (RST) after the request: a reset', async () => {
    const server = await serve((socket) => socket.resetAndDestroy());
    const res = await deliverFast(server);
    expect(res).toMatchObject({ ok: false, error: { kind: 'reset' } });
  });

  it('an endless body (1 GiB offered): 64 KiB read, truncated, the rest never read', async () => {
    const state = { written: 0 };
    const server = await serve(endlessBody(1024 ** 3, state));
    const res = await deliverFast(server);
    expect(res).toMatchObject({ ok: true, status: 200, truncated: true, responseBytes: MAX_RESPONSE_BYTES });
    expect(res.responseBody).toBe('z'.repeat(200));
    await within(server.closed, 3_000, 'the server seeing the client go away');
    // Socket buffers hold a few MiB at most: nowhere near the GiB.
    expect(state.written).toBeLessThan(64 * 1024 * 1024);
  });

  it.each([
    [MAX_RESPONSE_BYTES, false, MAX_RESPONSE_BYTES],
    [MAX_RESPONSE_BYTES + 1, true, MAX_RESPONSE_BYTES],
  ])('a body of %i bytes: truncated %s, %i bytes read', async (size, truncated, read) => {
    const body = Buffer.alloc(size, 'q');
    const server = await serve(
      writes(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`), body])),
    );
    const res = await deliverFast(server);
    expect(res).toMatchObject({ ok: true, status: 200, truncated, responseBytes: read });
  });

  it('a server that never answers: a timeout after the deadline', async () => {
    const server = await serve(() => undefined);
    const started = Date.now();
    const res = await within(deliver(request(server.hookUrl), { timeoutMs: 400 }), 5_000, 'the timed-out delivery');
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(res).toMatchObject({
      ok: false,
      error: { kind: 'timeout', message: `timeout after 400 ms — no full response from 127.0.0.1:${server.port}` },
    });
  });

  it('a head that never ends (headers trickled forever): a timeout, not a hang', async () => {
    const server = await serve((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const tick = () => {
        if (socket.destroyed) return;
        socket.write('X-Slow: 1\r\n');
        timers.push(setTimeout(tick, 50));
      };
      tick();
    });
    const res = await within(deliver(request(server.hookUrl), { timeoutMs: 500 }), 5_000, 'the timed-out delivery');
    expect(res.error?.kind).toBe('timeout');
  });

  it('a 302 with Location: reported, not followed', async () => {
    const elsewhere = await serve(writes(OK));
    const server = await serve(
      writes(`HTTP/1.1 302 Found\r\nLocation: ${elsewhere.hookUrl}\r\nContent-Length: 5\r\n\r\nmoved`),
    );
    const res = await deliverFast(server);
    expect(res).toMatchObject({ ok: false, status: 302, location: elsewhere.hookUrl, responseBody: 'moved' });
    expect(res.error).toBeUndefined();
    expect(elsewhere.received).toHaveLength(0);
  });

  it('TLS alert bytes on a plain-HTTP connection: one line that says the port speaks TLS', async () => {
    const server = await serve(writes(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]), { end: true }));
    const res = await deliverFast(server);
    expect(res).toMatchObject({
      ok: false,
      error: { kind: 'tls', message: `127.0.0.1:${server.port} speaks TLS — use https://` },
    });
  });
});

describe('send against hostile servers (built CLI)', () => {
  const send = (server: RawServer, extra: string[] = []) =>
    runCli(['send', 'verified', '--to', server.hookUrl, '--secret', SECRET, ...extra], { timeoutMs: 15_000 });

  it.each([
    [
      '101 then HTTP/1.1 200',
      `HTTP/1.1 101 Switching Protocols\r\n\r\n${OK}`,
      'a 101 Switching Protocols answer to a request that asked for no upgrade',
    ],
    [
      'bare-LF line endings',
      'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
      'Response does not match the HTTP/1.1 protocol (Missing expected CR after response line)',
    ],
    [
      'Content-Length and Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      "Response does not match the HTTP/1.1 protocol (Content-Length can't be present with Transfer-Encoding)",
    ],
  ])('%s: exit 1 and one ✘ line naming the protocol error', async (_name, bytes, reason) => {
    const server = await serve(writes(bytes));
    const r = await send(server);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^✘ session\.verified evt_\w+ → /);
    expect(lines[0]).toContain(`protocol error from 127.0.0.1:${server.port}: ${reason}`);
    expect(r.stderr).toBe('');
  });

  it('--json: the protocol error as a record with kind "protocol"', async () => {
    const server = await serve(writes('HTTP/1.1 101 Switching Protocols\r\n\r\n'));
    const r = await send(server, ['--json']);
    expect(r.code).toBe(1);
    const [delivery] = ndjson(r.stdout);
    expect(delivery).toMatchObject({ type: 'delivery', ok: false, status: null, error: { kind: 'protocol' } });
  });

  it('a hang: exit 1 with the timeout line', async () => {
    const server = await serve(() => undefined);
    const r = await send(server, ['--timeout', '500']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`timeout after 500 ms — no full response from 127.0.0.1:${server.port}`);
  });

  it('an endless body: exit 0, the line says the body was truncated at 64 KiB', async () => {
    const state = { written: 0 };
    const server = await serve(endlessBody(1024 ** 3, state));
    const r = await send(server);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✔ session\.verified .*→ 200 .*\(body truncated at 64 KiB\)/);
    expect(state.written).toBeLessThan(64 * 1024 * 1024);
  });
});
