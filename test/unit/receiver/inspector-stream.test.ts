import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ReceivedCapture, type CaptureVerdict } from '../../../src/receiver/capture.js';
import { deliverySummary, InspectorStream, lastEventId } from '../../../src/receiver/inspector-stream.js';
import { History } from '../../../src/receiver/ledger.js';
import { openStream } from '../../helpers/inspector-http.js';

const verdict = (reason?: string): CaptureVerdict => ({
  status: 200,
  outcome: 'accepted',
  signature: 'valid',
  event_id: 'evt_1',
  event_type: 'session.verified',
  session_id: 'vs_1',
  user_id: 'usr_1',
  ...(reason !== undefined ? { reason } : {}),
});

let seq = 0;
const capture = (reason?: string) =>
  new ReceivedCapture(
    ++seq,
    Date.UTC(2026, 0, 1),
    '127.0.0.1',
    5000,
    'POST',
    '/webhooks/facesign',
    'Content-Type\0application/json',
    Buffer.from('{"id":"evt_1"}'),
    false,
    verdict(reason),
  );

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server?.closeAllConnections();
  server = undefined;
});

/** A real HTTP server whose every request becomes a stream client. */
async function serve(stream: InspectorStream): Promise<number> {
  server = createServer((req, res) => stream.connect(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const until = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('InspectorStream', () => {
  it('builds nothing with no browser connected', () => {
    const stream = new InspectorStream(new History(10, 1e6));
    const c = capture();
    let read = 0;
    // Any summary reads the verdict: count the reads.
    Object.defineProperty(c, 'verdict', { get: () => (read++, verdict()) });
    stream.recorded(c);
    expect(read).toBe(0);
  });

  it('drops a browser that stops reading once its backlog passes the cap; a reading one keeps everything', async () => {
    const stream = new InspectorStream(new History(10, 1e6), { backlogBytes: 64 * 1024, pingMs: 60_000 });
    const port = await serve(stream);
    const reader = await openStream(`http://127.0.0.1:${port}`);
    // A client that sends its request, then never reads a byte.
    const stalled = connect(port, '127.0.0.1');
    stalled.write(`GET /__facesign/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    stalled.pause();
    await until(() => stream.size === 2, 'two clients');
    const big = 'x'.repeat(32 * 1024);
    let sent = 0;
    // The kernel's socket buffers take some megabytes first; the loop is bounded either way.
    while (stream.size === 2 && sent < 2_000) {
      stream.recorded(capture(big));
      sent++;
      // Let the sockets write (and the reader read) between deliveries.
      await new Promise((r) => setImmediate(r));
    }
    expect(stream.size).toBe(1);
    expect(sent).toBeLessThan(2_000);
    await reader.deliveries(sent);
    stalled.destroy();
    reader.close();
  });

  it('pings every interval and ends every stream on close', async () => {
    const stream = new InspectorStream(new History(10, 1e6), { backlogBytes: 1e6, pingMs: 30 });
    const port = await serve(stream);
    const client = await openStream(`http://127.0.0.1:${port}`);
    await until(() => client.messages.some((m) => m.comment === 'ping'), 'a ping');
    stream.close();
    await client.ended;
    expect(stream.size).toBe(0);
  });

  it('reads Last-Event-ID (run:seq) from the header or the query; another run or anything else means from the start', () => {
    const req = (url: string, header?: string) =>
      ({ url, headers: header === undefined ? {} : { 'last-event-id': header } }) as never;
    expect(lastEventId(req('/__facesign/stream', 'runA:42'), 'runA')).toBe(42);
    expect(lastEventId(req('/__facesign/stream?last_event_id=runA:7'), 'runA')).toBe(7);
    // A listen restarted on the same port counts from 1 again: the old run's position means nothing.
    expect(lastEventId(req('/__facesign/stream', 'runA:42'), 'runB')).toBe(0);
    expect(lastEventId(req('/__facesign/stream', '42'), 'runA')).toBe(0);
    expect(lastEventId(req('/__facesign/stream', 'abc'), 'runA')).toBe(0);
    expect(lastEventId(req('/__facesign/stream', 'runA:-1'), 'runA')).toBe(0);
  });

  it('starts each stream with a hello naming the run; every id carries the run', async () => {
    const history = new History<ReceivedCapture>(10, 1e6);
    history.add(capture());
    const stream = new InspectorStream(history);
    const other = new InspectorStream(history);
    expect(stream.run).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect(other.run).not.toBe(stream.run);
    const port = await serve(stream);
    const client = await openStream(`http://127.0.0.1:${port}`);
    const [first] = await client.deliveries(1);
    const events = client.messages.filter((m) => m.event !== undefined);
    expect(events[0]!.event).toBe('hello');
    const hello = JSON.parse(events[0]!.data!);
    expect(hello).toEqual({ run: stream.run, last_seq: JSON.parse(first!.data!).seq });
    expect(first!.id).toBe(`${stream.run}:${JSON.parse(first!.data!).seq}`);
    client.close();
  });

  it('a summary is the capture without its heavy fields, plus seq', () => {
    const c = capture();
    const full = c.toJSON();
    const summary = deliverySummary(c);
    expect(summary.seq).toBe(c.sequence);
    const { headers, raw_headers, body_base64, body_text, ...light } = full;
    expect([headers, raw_headers, body_base64, body_text].every((v) => v !== undefined)).toBe(true);
    expect({ ...summary, seq: undefined }).toEqual({ ...light, seq: undefined });
  });

  it('a summary says a redacted capture kept its received bytes (raw_body_kept), without those bytes', () => {
    const raw = Buffer.from('{"id":"evt_1","email":"a@b.c"}');
    const c = new ReceivedCapture(1, 0, null, null, 'POST', '/', '', Buffer.from('{"id":"evt_1"}'), false, verdict(), {
      redacted: true,
      rawBody: raw,
    });
    const summary = deliverySummary(c);
    expect(summary).toMatchObject({ redacted: true, raw_body_kept: true });
    expect(JSON.stringify(summary)).not.toContain(raw.toString('base64'));
    expect(deliverySummary(capture())).not.toHaveProperty('raw_body_kept');
  });
});
