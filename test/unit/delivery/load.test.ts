import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../../src/events/build.js';
import { prepareRequest } from '../../../src/delivery/request.js';
import { requestFactory, runLoad } from '../../../src/delivery/load.js';
import { LatencyHistogram } from '../../../src/delivery/histogram.js';
import { ndjson, runCli } from '../../helpers/cli.js';
import { independentSignatureOk, startServer, verifyingHandler, type TestServer } from '../../helpers/server.js';

const SECRET = 'whsec_load_test';
let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function serve(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

describe('LatencyHistogram', () => {
  it('gives percentiles within 1% of the exact ones, in fixed memory', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 10); // 0.1 … 1000 ms
    for (const v of values) h.record(v);
    expect(h.count).toBe(10_000);
    expect(h.max).toBe(1000);
    for (const [p, exact] of [
      [50, 500],
      [95, 950],
      [99, 990],
    ] as const) {
      expect(Math.abs(h.percentile(p) - exact) / exact).toBeLessThan(0.011);
    }
    expect(h.mean).toBeCloseTo(500.05, 5);
  });
  it('is empty-safe', () => {
    expect(new LatencyHistogram().percentile(99)).toBe(0);
  });
});

describe('requestFactory', () => {
  it('makes distinct, validly signed requests that differ from the template only in their ids', () => {
    const event = buildEvent('session.verified');
    const template = prepareRequest(event, { url: 'http://127.0.0.1:1/webhooks/facesign', secret: SECRET });
    const next = requestFactory(template, SECRET);
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const req = next();
      const body = JSON.parse(req.body.toString('utf8'));
      ids.add(req.eventId);
      expect(body.id).toBe(req.eventId);
      expect(body.data.id).toBe(req.sessionId);
      expect(req.headers['FaceSign-Event-Id']).toBe(req.eventId);
      expect(req.headers['FaceSign-Signature']).toBe(createHmac('sha256', SECRET).update(req.body).digest('hex'));
      // Put the template's ids back and the bytes are the template's exactly.
      const restored = { ...body, id: event.id, data: { ...body.data, id: event.data.id } };
      expect(JSON.stringify(restored)).toBe(template.body.toString('utf8'));
    }
    expect(ids.size).toBe(500);
  });
});

describe('runLoad against a real server', () => {
  it('sends exactly count requests, never more than concurrency at once, and counts statuses', async () => {
    let inFlight = 0;
    let peak = 0;
    const server = await serve((req, body, res, index) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Every fifth request is refused, so the status counts have two kinds.
      setTimeout(() => {
        inFlight--;
        res.writeHead(index % 5 === 4 ? 503 : 200).end('ok');
      }, 2);
    });
    const template = prepareRequest(buildEvent('session.created'), { url: server.hookUrl, secret: SECRET });
    const report = await runLoad(requestFactory(template, SECRET), { count: 300, concurrency: 8, timeoutMs: 5_000 });
    expect(report.sent).toBe(300);
    expect(server.requests).toHaveLength(300);
    expect(peak).toBeLessThanOrEqual(8);
    expect(report.statuses).toEqual({ '200': 240, '503': 60 });
    expect(report.ok).toBe(240);
    expect(report.latency.p50).toBeGreaterThan(0);
    expect(report.latency.max).toBeGreaterThanOrEqual(report.latency.p99);
    expect(new Set(server.requests.map((r) => r.headers['facesign-event-id'])).size).toBe(300);
  });

  it('counts network failures by kind instead of throwing', async () => {
    const server = await serve();
    const url = server.hookUrl;
    await server.close();
    servers = [];
    const template = prepareRequest(buildEvent('session.created'), { url, secret: SECRET });
    const report = await runLoad(requestFactory(template, SECRET), { count: 20, concurrency: 4, timeoutMs: 2_000 });
    expect(report.sent).toBe(20);
    expect(report.statuses).toEqual({ 'error:refused': 20 });
  });
});

describe('send --count (end to end)', () => {
  it('delivers N distinct, validly signed events of all six types and reports rates, percentiles and statuses', async () => {
    const server = await serve(verifyingHandler(SECRET));
    const r = await runCli(
      ['send', 'all', '--count', '120', '--concurrency', '6', '--to', server.hookUrl, '--secret', SECRET, '--json'],
      { timeoutMs: 30_000 },
    );
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    expect(records).toHaveLength(1);
    const load = records[0]!;
    expect(load).toMatchObject({
      type: 'load',
      sent: 120,
      ok: 120,
      met: 120,
      expected: '2xx',
      concurrency: 6,
      statuses: { '200': 120 },
      interrupted: false,
    });
    expect(load.requests_per_second).toBeGreaterThan(0);
    for (const key of ['p50', 'p95', 'p99', 'max', 'mean']) expect(typeof load.latency_ms[key]).toBe('number');
    expect(server.requests).toHaveLength(120);
    expect(
      server.requests.every((req) => independentSignatureOk(req.body, req.headers['facesign-signature'], SECRET)),
    ).toBe(true);
    const events = server.requests.map((req) => JSON.parse(req.body.toString('utf8')));
    expect(new Set(events.map((e) => e.id)).size).toBe(120);
    expect(new Set(events.map((e) => e.type)).size).toBe(6);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('exits 1 when responses miss --expect, and the human report names the counts', async () => {
    const server = await serve((_req, _body, res) => res.writeHead(500).end('no'));
    const r = await runCli([
      'send',
      'verified',
      '--count',
      '10',
      '--concurrency',
      '2',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^10 requests in .* req\/s, 2 concurrent$/m);
    expect(r.stdout).toMatch(/^latency {2}p50 .* p95 .* p99 .* max /m);
    expect(r.stdout).toContain('statuses 500: 10');
    expect(r.stdout).toContain('10 of 10 did not meet 2xx');
  });

  it('rejects a bad --count or --concurrency as a usage error', async () => {
    for (const flags of [
      ['--count', '0'],
      ['--count', 'many'],
      ['--count', '5', '--concurrency', '0'],
    ]) {
      const r = await runCli(['send', 'verified', ...flags, '--to', ':1', '--secret', SECRET]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--(count|concurrency) takes a whole number of at least 1/);
    }
  });
});
