import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// A user writes `from 'facesign-webhooks'`; this repository's own test imports the source.
import {
  CHECK_CASE_IDS,
  DEFAULT_SCHEDULE,
  EVENT_TYPES,
  SIGNATURE_HEADER,
  buildEvent,
  buildFlow,
  captureBody,
  checkEndpoint,
  createFakeClock,
  deliver,
  formatJUnit,
  planRetries,
  prepareRequest,
  runRetries,
  signPayload,
  simulateRetries,
  startReceiver,
  verifySignature,
  verifyWebhook,
  type Capture,
  type Receiver,
} from '../../../src/index.js';
import { startExampleApp, type ExampleApp } from '../../helpers/example-app/app.js';

const SECRET = 'whsec_example_app_secret';

/** Closes whatever a test started, even when it fails. */
const running: { close(): Promise<void> }[] = [];
async function track<T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const started = await thing;
  running.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});

/** Waits (bounded) until the receiver has recorded `count` deliveries. */
async function waitForDeliveries(receiver: Receiver, count: number, timeoutMs = 5_000): Promise<Capture[]> {
  const deadline = Date.now() + timeoutMs;
  while (receiver.deliveries().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return receiver.deliveries();
}

describe('your app, driven by facesign-webhooks', () => {
  let app: ExampleApp;
  beforeEach(async () => {
    app = await startExampleApp({ secret: SECRET });
  });
  afterEach(() => app.close());

  it('a signed session.verified marks the user verified; the same delivery again changes nothing', async () => {
    const event = buildEvent('session.verified', { userId: 'usr_42' });
    const request = prepareRequest(event, { url: app.url, secret: SECRET });
    const result = await deliver(request);

    expect(result.status).toBe(200);
    expect(result.responseBody).toBe('OK');
    const record = app.users.get('usr_42');
    expect(record).toMatchObject({ status: 'verified', sessionId: event.data.id, eventId: event.id });

    // FaceSign may deliver an event twice: the app must acknowledge it and not act again.
    const again = await deliver(request);
    expect(again.status).toBe(200);
    expect(again.responseBody).toBe('Already processed');
    expect(app.users.get('usr_42')).toBe(record); // the same record: the work ran once
    expect(app.users.size).toBe(1);
  });

  it('what went on the wire is exactly what was signed', async () => {
    const request = prepareRequest(buildEvent('session.verified', { userId: 'usr_7' }), {
      url: app.url,
      secret: SECRET,
    });
    await deliver(request);

    const received = app.log.at(-1)!;
    expect(received.body.equals(request.body)).toBe(true);
    expect(request.headers[SIGNATURE_HEADER]).toBe(signPayload(request.body, SECRET));
    expect(verifySignature(received.body, request.headers[SIGNATURE_HEADER], SECRET)).toMatchObject({ ok: true });
  });

  it('a whole session via buildFlow: created → started → failed marks the user failed', async () => {
    const events = buildFlow('failed', { userId: 'usr_flow' });

    expect(events.map((e) => e.type)).toEqual(['session.created', 'session.started', 'session.failed']);
    expect(new Set(events.map((e) => e.data.id)).size).toBe(1);
    for (const event of events) {
      const result = await deliver(prepareRequest(event, { url: app.url, secret: SECRET }));
      expect(result.status).toBe(200);
    }
    expect(app.users.get('usr_flow')).toMatchObject({
      status: 'failed',
      sessionId: events[0]!.data.id,
      eventId: events[2]!.id,
    });
    expect([...app.processed]).toEqual(events.map((e) => e.id));
  });

  it('all six types and an unknown one are acknowledged; only verified and failed touch the user', async () => {
    const send = (event: ReturnType<typeof buildEvent>) =>
      deliver(prepareRequest(event, { url: app.url, secret: SECRET }));

    for (const type of EVENT_TYPES.filter((t) => t !== 'session.verified' && t !== 'session.failed')) {
      expect((await send(buildEvent(type, { userId: 'usr_other' }))).status).toBe(200);
    }
    // A type FaceSign may add later: acknowledged, ignored.
    const future = buildEvent('session.verified', { userId: 'usr_other', fixture: { type: 'session.reviewed' } });
    expect((await send(future)).status).toBe(200);
    expect(app.users.has('usr_other')).toBe(false);

    expect((await send(buildEvent('session.verified', { userId: 'usr_other' }))).status).toBe(200);
    expect(app.users.get('usr_other')?.status).toBe('verified');
    expect(app.processed.size).toBe(6); // the four other types, the future one, the verified one
  });

  it('a bad, missing, malformed or tampered signature is rejected and changes nothing', async () => {
    const event = buildEvent('session.verified', { userId: 'usr_mallory' });

    const wrongSecret = prepareRequest(event, { url: app.url, secret: 'whsec_not_the_one' });
    expect(
      verifyWebhook({ body: wrongSecret.body, signature: wrongSecret.headers[SIGNATURE_HEADER], secret: SECRET }).ok,
    ).toBe(false);
    expect((await deliver(wrongSecret)).status).toBe(400);

    for (const signature of ['invalid', 'missing', 'malformed', 'tampered'] as const) {
      const request = prepareRequest(event, { url: app.url, secret: SECRET, signature });
      const result = await deliver(request);
      expect(result.status, signature).toBe(400);
      expect(result.responseBody, signature).toBe('Invalid signature');
    }
    expect(app.users.has('usr_mallory')).toBe(false);
    expect(app.processed.size).toBe(0);

    // The control: the same event, signed right, goes through.
    expect((await deliver(prepareRequest(event, { url: app.url, secret: SECRET }))).status).toBe(200);
    expect(app.users.get('usr_mallory')?.status).toBe('verified');
  });

  it('checkEndpoint: the conformance suite passes against the app', async () => {
    const report = await checkEndpoint({ url: app.url, secret: SECRET, burst: 12 });

    expect(report.cases.map((c) => c.id)).toEqual([...CHECK_CASE_IDS]);
    expect(report.failedIds).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.cases.filter((c) => c.outcome === 'fail').map((c) => `${c.id}: ${c.hint}`)).toEqual([]);
    expect(report.unreachable).toBeUndefined();
    expect(formatJUnit(report)).toMatch(/failures="0"/);
  });

  it("simulateRetries on a fake clock: a 2-delivery outage is ridden out on FaceSign's schedule", async () => {
    app.failNext(2); // a short database outage: the next two deliveries get a 500
    const request = prepareRequest(buildEvent('session.verified', { userId: 'usr_retry' }), {
      url: app.url,
      secret: SECRET,
    });
    const clock = createFakeClock();

    const run = await simulateRetries(request, { clock });

    expect(run.outcome).toBe('delivered');
    expect(run.deliveredOn).toBe(3);
    expect(run.attempts.map((a) => a.outcome.status)).toEqual([500, 500, 200]);
    // The documented delays: 5 s, then 30 s (provider docs, "Retries"), slept on the fake clock.
    expect(clock.sleeps).toEqual([5_000, 30_000]);
    const received = app.log.filter((entry) => entry.eventId === request.eventId);
    expect(received).toHaveLength(3);
    expect(received.every((entry) => entry.body.equals(request.body))).toBe(true);
    expect(app.users.get('usr_retry')?.status).toBe('verified');
  });

  it('runRetries: an app that keeps failing gets 6 attempts over 1 h 12 min 35 s, then the delivery is marked failed', async () => {
    app.failNext(100);
    const request = prepareRequest(buildEvent('session.verified', { userId: 'usr_down' }), {
      url: app.url,
      secret: SECRET,
    });
    const clock = createFakeClock();

    const run = await runRetries({ attempt: () => deliver(request), clock });

    expect(run.outcome).toBe('failed');
    expect(run.attempts).toHaveLength(6);
    expect(run.attempts.every((a) => a.outcome.status === 500)).toBe(true);
    expect(clock.sleeps).toEqual([...DEFAULT_SCHEDULE]);
    expect(planRetries().map((p) => p.offsetMs)).toEqual([0, 5_000, 35_000, 155_000, 755_000, 4_355_000]);
    expect(app.users.has('usr_down')).toBe(false);
  });
});

describe('with an app configured otherwise', () => {
  it('checkEndpoint fails when the app is configured with another secret', async () => {
    const app = await track(startExampleApp({ secret: 'whsec_rotated_secret' }));

    const report = await checkEndpoint({
      url: app.url,
      secret: SECRET,
      cases: ['valid.session.verified', 'wrong-secret'],
    });

    expect(report.failed).toBe(1);
    expect(report.cases.find((c) => c.id === 'valid.session.verified')).toMatchObject({ outcome: 'fail' });
    expect(report.cases.find((c) => c.id === 'wrong-secret')).toMatchObject({ outcome: 'pass' });
  });

  it('startReceiver as a test double for a service the app forwards verified events to', async () => {
    const AUDIT_SECRET = 'whsec_internal_audit';
    const audit = await track(startReceiver({ secret: AUDIT_SECRET, port: 0 }));
    const app = await track(startExampleApp({ secret: SECRET, forward: { url: audit.url, secret: AUDIT_SECRET } }));
    const event = buildEvent('session.verified', { userId: 'usr_audit' });
    const request = prepareRequest(event, { url: app.url, secret: SECRET });

    expect((await deliver(request)).status).toBe(200);
    const [forwarded] = await waitForDeliveries(audit, 1);

    expect(forwarded?.verdict).toMatchObject({
      outcome: 'accepted',
      signature: 'valid',
      event_id: event.id,
      user_id: 'usr_audit',
    });
    expect(captureBody(forwarded!).equals(request.body)).toBe(true);
    expect(audit.stats()).toMatchObject({ received: 1, accepted: 1, rejected: 0 });
  });

  it('the receiver double catches an app that signs its forwards with the wrong secret', async () => {
    const audit = await track(startReceiver({ secret: 'whsec_internal_audit', port: 0 }));
    const app = await track(startExampleApp({ secret: SECRET, forward: { url: audit.url, secret: 'whsec_stale' } }));

    await deliver(prepareRequest(buildEvent('session.verified'), { url: app.url, secret: SECRET }));
    const [forwarded] = await waitForDeliveries(audit, 1);

    expect(forwarded?.verdict).toMatchObject({ outcome: 'rejected', signature: 'mismatch', status: 400 });
  });
});

/** The example app itself, so a broken fixture cannot make the tests above pass for the wrong reason. */
describe('the example app', () => {
  it('answers 404 off its path and 405 to a GET', async () => {
    const app = await track(startExampleApp({ secret: SECRET }));
    const base = new URL(app.url);
    expect((await fetch(new URL('/elsewhere', base), { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(app.url)).status).toBe(405);
  });
});
