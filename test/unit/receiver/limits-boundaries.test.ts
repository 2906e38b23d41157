import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/build.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { deliver } from '../../../src/delivery/deliver.js';
import { runWireLoad, wireRequestFactory, wireTarget } from '../../../src/delivery/load.js';
import { startReceiver, type Receiver } from '../../../src/receiver/server.js';
import { killListeners, startListen } from '../../helpers/listen-process.js';
import { startServer, type TestServer } from '../../helpers/server.js';

/*
 * The limits the README states, tested at the limit and one past it: listen's --max-body, the
 * receiver's duplicate window, load mode's 64 KiB response-read cap.
 */

const SECRET = 'whsec_boundary_test';
const sign = (body: Buffer) => createHmac('sha256', SECRET).update(body).digest('hex');

let servers: TestServer[] = [];
let receivers: Receiver[] = [];
afterEach(async () => {
  killListeners();
  await Promise.all([...servers.map((s) => s.close()), ...receivers.map((r) => r.close())]);
  servers = [];
  receivers = [];
});

/** A validly shaped session.verified event serialized to exactly `bytes` bytes (padded in one field). */
function eventOfSize(bytes: number): Buffer {
  const event = { ...buildEvent('session.verified'), padding: '' };
  const pad = bytes - Buffer.byteLength(JSON.stringify(event));
  expect(pad).toBeGreaterThanOrEqual(0);
  const body = Buffer.from(JSON.stringify({ ...event, padding: 'x'.repeat(pad) }));
  expect(body.length).toBe(bytes);
  return body;
}

async function post(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'facesign-signature': sign(body),
      'facesign-event-id': JSON.parse(body.toString()).id,
    },
  });
  return { status: res.status, text: await res.text() };
}

describe('listen --max-body', () => {
  it.each([
    ['the default (1 MiB)', [], 1024 * 1024],
    ['--max-body 4kb', ['--max-body', '4kb'], 4096],
  ] as const)(
    '%s: a body of exactly the limit is accepted, one byte more is 413',
    { timeout: 30_000 },
    async (_name, args, limit) => {
      const listen = await startListen(['--secret', SECRET, ...args]);
      const exact = await post(listen.url, eventOfSize(limit));
      expect(exact).toEqual({ status: 200, text: 'OK' });
      const over = await post(listen.url, eventOfSize(limit + 1));
      expect(over.status).toBe(413);
      const [first, second] = await listen.deliveries(2);
      expect(first).toMatchObject({ outcome: 'accepted', status: 200, body_bytes: limit });
      expect(second).toMatchObject({ status: 413 });
    },
  );
});

describe('the duplicate window', () => {
  // README (listen): the receiver remembers the last 100,000 accepted event ids.
  const WINDOW = 100_000;

  it(`keeps exactly ${WINDOW} accepted event ids and forgets the oldest first`, { timeout: 240_000 }, async () => {
    const receiver = await startReceiver({ secret: SECRET, port: 0, historyLimit: 10 });
    receivers.push(receiver);
    const template = (): ReturnType<typeof prepareRequest> =>
      prepareRequest(buildEvent('session.verified'), { url: receiver.url, secret: SECRET });
    const [a, b] = [template(), template()];
    const send = async (req: ReturnType<typeof prepareRequest>) =>
      (await deliver(req, { timeoutMs: 10_000 })).responseBody;
    expect(await send(a)).toBe('OK');
    expect(await send(b)).toBe('OK');
    // Fill the window: a and b plus WINDOW - 2 distinct others.
    const target = wireTarget(receiver.url);
    const report = await runWireLoad(target, wireRequestFactory(template(), SECRET, target), {
      count: WINDOW - 2,
      concurrency: 8,
      timeoutMs: 10_000,
    });
    expect(report.statuses).toEqual({ '200': WINDOW - 2 });
    expect(receiver.stats()).toMatchObject({ accepted: WINDOW, duplicates: 0 });

    // Full, not over: the oldest is still known.
    expect(await send(a)).toBe('Already processed');
    // One more accepted id pushes the oldest (a) out, and only that one.
    expect(await send(template())).toBe('OK');
    expect(await send(b)).toBe('Already processed');
    expect(await send(a)).toBe('OK');
    // a came back as the newest, which pushed out b, the oldest then.
    expect(await send(b)).toBe('OK');
  });
});

describe("load mode's 64 KiB response-read cap", () => {
  const CAP = 64 * 1024;

  it.each([
    ['Content-Length', true],
    ['chunked', false],
  ])(
    '%s: a body of exactly 64 KiB is read whole (connection kept), one byte more is cut (connection dropped)',
    { timeout: 30_000 },
    async (_name, contentLength) => {
      for (const [size, connections] of [
        [CAP, 1],
        [CAP + 1, 6],
      ] as const) {
        const body = Buffer.alloc(size, 'x');
        let opened = 0;
        const server = await startServer((_req, _body, res) => {
          res.writeHead(200, contentLength ? { 'content-length': String(size) } : {});
          res.end(body);
        });
        servers.push(server);
        server.server.on('connection', () => opened++);
        const template = prepareRequest(buildEvent('session.verified'), { url: server.hookUrl, secret: SECRET });
        const target = wireTarget(server.hookUrl);
        const report = await runWireLoad(target, wireRequestFactory(template, SECRET, target), {
          count: 6,
          concurrency: 1,
          timeoutMs: 10_000,
        });
        // Either way the status counts; past the cap the rest is not read, so the connection cannot be reused.
        expect(report.statuses, `${size} bytes`).toEqual({ '200': 6 });
        expect(opened, `${size} bytes`).toBe(connections);
      }
    },
  );
});
