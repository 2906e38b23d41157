import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom, shuffleOrder } from '../../src/commands/flow.js';
import { FLOW_OUTCOMES } from '../../src/events/build.js';
import { STATUS_BY_TYPE, type EventType } from '../../src/events/types.js';
import { ndjson, runCli, type CliResult, type RunOptions } from '../helpers/cli.js';
import {
  independentSignatureOk,
  startServer,
  verifyingHandler,
  type Handler,
  type TestServer,
} from '../helpers/server.js';

const SECRET = 'whsec_flow_e2e_Hn4rW9xQ2c';
const servers: TestServer[] = [];

async function cli(args: string[], options?: RunOptions): Promise<CliResult> {
  const result = await runCli(args, options);
  expect(result.stdout + result.stderr).not.toContain(SECRET);
  return result;
}

async function serve(handler: Handler = verifyingHandler(SECRET)): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function received(server: TestServer) {
  return server.requests.map((r) => ({
    body: JSON.parse(r.body.toString()) as {
      id: string;
      type: EventType;
      created: number;
      data: { id: string; status: string; metadata: { user_id: string } };
    },
    eventIdHeader: r.headers['facesign-event-id'],
    signed: independentSignatureOk(r.body, r.headers['facesign-signature'], SECRET),
  }));
}

// Concurrent tests share this file's lifetime, so servers close once at the end.
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe.concurrent('flow <outcome>', () => {
  it.each(FLOW_OUTCOMES)('%s: created → started → outcome, one vs_ id, rising times, all signed', async (outcome) => {
    const server = await serve();
    const r = await cli(['flow', outcome, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    const got = received(server);
    expect(got.map((g) => g.body.type)).toEqual(['session.created', 'session.started', `session.${outcome}`]);
    expect(got.map((g) => g.body.data.status)).toEqual(got.map((g) => STATUS_BY_TYPE[g.body.type]));
    expect(new Set(got.map((g) => g.body.data.id)).size).toBe(1);
    expect(got[0]!.body.data.id).toMatch(/^vs_/);
    expect(new Set(got.map((g) => g.body.data.metadata.user_id)).size).toBe(1);
    expect(new Set(got.map((g) => g.body.id)).size).toBe(3);
    expect(got[0]!.body.created).toBeLessThan(got[1]!.body.created);
    expect(got[1]!.body.created).toBeLessThan(got[2]!.body.created);
    expect(got.every((g) => g.signed && g.eventIdHeader === g.body.id)).toBe(true);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`flow complete: session ${got[0]!.body.data.id}, 3 of 3 delivered`);
  });

  it('stops at the first failed delivery with exit 1', async () => {
    const server = await serve((_req, _body, res, index) => {
      res.writeHead(index === 1 ? 500 : 200);
      res.end(index === 1 ? 'db down' : 'OK');
    });
    const r = await cli(['flow', 'failed', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(1);
    expect(received(server).map((g) => g.body.type)).toEqual(['session.created', 'session.started']);
    expect(r.stdout).toContain('→ 500 "db down"');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('flow stopped: session.started was not accepted; 1 of 3 delivered');
  });

  it('--json: a delivery object per event and a summary; pinned session and user', async () => {
    const server = await serve();
    const r = await cli([
      'flow',
      'verified',
      '--json',
      '--session-id',
      'vs_pinned',
      '--user-id',
      'usr_pinned',
      '--to',
      server.hookUrl,
      '--secret',
      SECRET,
    ]);
    expect(r.code).toBe(0);
    const records = ndjson(r.stdout);
    expect(records.map((o) => o.type)).toEqual(['delivery', 'delivery', 'delivery', 'summary']);
    expect(records.slice(0, 3).map((o) => o.event_type)).toEqual([
      'session.created',
      'session.started',
      'session.verified',
    ]);
    expect(records.slice(0, 3).every((o) => o.session_id === 'vs_pinned' && o.status === 200 && o.met === true)).toBe(
      true,
    );
    expect(records[3]).toEqual({
      type: 'summary',
      session_id: 'vs_pinned',
      outcome: 'verified',
      delivered: 3,
      total: 3,
      stopped_at: null,
      interrupted: false,
    });
    expect(
      received(server).every((g) => g.body.data.id === 'vs_pinned' && g.body.data.metadata.user_id === 'usr_pinned'),
    ).toBe(true);
  });

  it('--json when it stops: the summary names where', async () => {
    const server = await serve((_req, _body, res, index) => {
      res.writeHead(index === 0 ? 503 : 200);
      res.end();
    });
    const r = await cli(['flow', 'cancelled', '--json', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(1);
    const records = ndjson(r.stdout);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({
      type: 'summary',
      outcome: 'cancelled',
      delivered: 0,
      total: 3,
      stopped_at: 'session.created',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('--shuffle delivers out of order; the printed seed repeats the order', async () => {
    const first = await serve();
    const a = await cli(['flow', 'expired', '--shuffle', '--to', first.hookUrl, '--secret', SECRET]);
    expect(a.code).toBe(0);
    const seed = /--seed (\d+)/.exec(a.stderr)?.[1];
    expect(seed).toBeDefined();
    const order = received(first).map((g) => g.body.type);
    expect(order).not.toEqual(['session.created', 'session.started', 'session.expired']);
    expect([...order].sort()).toEqual(['session.created', 'session.expired', 'session.started']);
    expect(a.stderr).toContain(order.join(' → '));

    const second = await serve();
    const b = await cli(['flow', 'expired', '--shuffle', '--seed', seed!, '--to', second.hookUrl, '--secret', SECRET]);
    expect(b.code).toBe(0);
    expect(received(second).map((g) => g.body.type)).toEqual(order);
    // Shuffled, the times still tell the true order: a handler must sort by them, not by arrival.
    const byType = Object.fromEntries(received(second).map((g) => [g.body.type, g.body.created]));
    expect(byType['session.created']).toBeLessThan(byType['session.started']!);
    expect(byType['session.started']).toBeLessThan(byType['session.expired']!);
    expect(received(second).every((g) => g.signed)).toBe(true);
  });

  it('--dry-run --json prints the three requests and sends nothing', async () => {
    const server = await serve();
    const r = await cli(['flow', 'verified', '--dry-run', '--json', '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(0);
    const records = ndjson(r.stdout);
    expect(records).toHaveLength(3);
    const bodies = records.map((o) => JSON.parse(o.body));
    expect(bodies.map((b) => b.type)).toEqual(['session.created', 'session.started', 'session.verified']);
    expect(new Set(bodies.map((b) => b.data.id)).size).toBe(1);
    expect(
      records.every((o) => independentSignatureOk(Buffer.from(o.body), o.headers['FaceSign-Signature'], SECRET)),
    ).toBe(true);
  });

  it.each([
    [['flow', 'approved'], 'unknown flow outcome "approved"'],
    [['flow', 'created'], 'unknown flow outcome "created"'],
    [['flow', 'verified', '--event-id', 'evt_x'], "unknown option '--event-id'"],
    [['flow', 'verified', '--seed', 'abc'], '--seed'],
  ])('%j is exit 2 and sends nothing', async (args, fragment) => {
    const server = await serve();
    const r = await cli([...args, '--to', server.hookUrl, '--secret', SECRET]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(fragment);
    expect(server.requests).toHaveLength(0);
  });
});

describe('shuffleOrder', () => {
  it('always changes the order, keeps every item, and repeats with the same seed', () => {
    const items = ['a', 'b', 'c'];
    for (let seed = 0; seed < 200; seed++) {
      const out = shuffleOrder(items, seededRandom(seed));
      expect(out).not.toEqual(items);
      expect([...out].sort()).toEqual(items);
      expect(shuffleOrder(items, seededRandom(seed))).toEqual(out);
    }
    expect(shuffleOrder(['only'], seededRandom(1))).toEqual(['only']);
  });

  it('reaches every non-identity order across seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) seen.add(shuffleOrder(['a', 'b', 'c'], seededRandom(seed)).join(''));
    expect([...seen].sort()).toEqual(['acb', 'bac', 'bca', 'cab', 'cba']);
  });
});
