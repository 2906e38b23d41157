import { execFile, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver, type ReceiverOptions } from '../../../src/receiver/server.js';
import { verifySignature } from '../../../src/signature/index.js';
import { httpRequest, openStream, pageToken, postAction, type Answer } from '../../helpers/inspector-http.js';
import { independentSignatureOk, startServer, type TestServer } from '../../helpers/server.js';

const SECRET = 'whsec_inspector_unit';
const OTHER = 'whsec_someone_else';
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const event = (n: number) =>
  JSON.stringify({
    id: `evt_inspector_${n}`,
    object: 'event',
    type: 'session.verified',
    created: 1,
    data: { id: `vs_${n}`, metadata: { user_id: `usr_${n}` } },
  });

/** POSTs one delivery signed with `secret` to the receiver's webhook URL. */
function deliver(r: Receiver, n: number, secret = SECRET): Promise<Answer> {
  const body = event(n);
  return httpRequest(r.url, r.path, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'FaceSign-Signature': createHmac('sha256', secret).update(body).digest('hex'),
      'FaceSign-Event-Id': `evt_inspector_${n}`,
    },
    body,
  });
}

let receiver: Receiver | undefined;
const dirs: string[] = [];
const start = async (options: Partial<ReceiverOptions> = {}) =>
  (receiver = await startReceiver({ secret: SECRET, port: 0, closeGraceMs: 200, ...options }));
const base = (r: Receiver) => `http://127.0.0.1:${r.port}`;

afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the inspector page and its files', () => {
  it('serves the page at / and /__facesign/ui/ with a fresh token in its meta tag and the security headers', async () => {
    const r = await start();
    const root = await httpRequest(base(r), '/');
    const ui = await httpRequest(base(r), '/__facesign/ui/');
    for (const page of [root, ui]) {
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toBe(CSP);
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['access-control-allow-origin']).toBeUndefined();
      expect(page.text).not.toContain('__FACESIGN_TOKEN__');
      expect(page.text).toContain('href="/__facesign/ui/inspector.css"');
      expect(page.text).toContain('src="/__facesign/ui/inspector.js"');
    }
    const token = await pageToken(base(r));
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(root.text).toContain(`content="${token}"`);
    // Another run has another token.
    const other = await startReceiver({ secret: SECRET, port: 0 });
    try {
      expect(await pageToken(`http://127.0.0.1:${other.port}`)).not.toBe(token);
    } finally {
      await other.close();
    }
    expect(r.inspectorUrl).toBe(`http://127.0.0.1:${r.port}/`);
  });

  it('puts listen’s webhook URL, attribute-escaped, in the page’s facesign-webhook-url meta tag', async () => {
    const r = await start({ path: '/hooks/a&b"<x>\'' });
    const page = await httpRequest(base(r), '/');
    expect(page.text).not.toContain('__FACESIGN_WEBHOOK_URL__');
    expect(page.text).toContain('<meta name="facesign-forward-to" content="" />');
    expect(page.text).toContain(
      `<meta name="facesign-webhook-url" content="http://127.0.0.1:${r.port}/hooks/a&amp;b&quot;&lt;x&gt;&#39;" />`,
    );
    const plain = await startReceiver({ secret: SECRET, port: 0, path: '/custom/in' });
    try {
      const html = (await httpRequest(`http://127.0.0.1:${plain.port}`, '/')).text;
      expect(html).toContain(`content="http://127.0.0.1:${plain.port}/custom/in"`);
    } finally {
      await plain.close();
    }
  });

  it('serves the script and the style sheet with their types; a POST to the page is 405', async () => {
    const r = await start();
    const js = await httpRequest(base(r), '/__facesign/ui/inspector.js');
    const css = await httpRequest(base(r), '/__facesign/ui/inspector.css');
    expect([js.status, js.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect([css.status, css.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
    expect(js.text).toBe(readFileSync(new URL('../../../ui/inspector.js', import.meta.url), 'utf8'));
    expect(js.headers['content-security-policy']).toBe(CSP);
    const post = await httpRequest(base(r), '/__facesign/ui/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.json()).toEqual({ error: expect.stringContaining('GET') });
  });

  it('answers HEAD of the page, its files and the curl command with their GET headers and no body bytes', async () => {
    const r = await start();
    await deliver(r, 1);
    for (const path of [
      '/',
      '/__facesign/ui/inspector.js',
      '/__facesign/ui/inspector.css',
      '/__facesign/deliveries/1/curl',
    ]) {
      const get = await httpRequest(base(r), path);
      const wire = await new Promise<string>((resolve, reject) => {
        const socket = connect(r.port, '127.0.0.1', () =>
          socket.write(`HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nConnection: close\r\n\r\n`),
        );
        let got = '';
        socket.setEncoding('utf8').on('data', (d: string) => (got += d));
        socket.on('end', () => resolve(got)).on('error', reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to HEAD ${path}`)));
      });
      expect(wire.startsWith('HTTP/1.1 200 ')).toBe(true);
      expect(wire.endsWith('\r\n\r\n')).toBe(true);
      expect(wire.toLowerCase()).toContain(`content-length: ${get.body.length}\r\n`);
      expect(wire.toLowerCase()).toContain(`content-type: ${get.headers['content-type']}\r\n`);
    }
  });

  it('with the webhook path at /, a GET of / is a delivery to judge and the page is at /__facesign/ui/', async () => {
    const r = await start({ path: '/' });
    expect(r.inspectorUrl).toBe(`http://127.0.0.1:${r.port}/__facesign/ui/`);
    const root = await httpRequest(base(r), '/');
    expect(root.status).toBe(405);
    expect(r.deliveries()).toHaveLength(1);
    expect((await httpRequest(base(r), '/__facesign/ui/')).status).toBe(200);
  });

  it('a POST to / is still judged as a delivery (wrong path), not served the page', async () => {
    const r = await start();
    const res = await httpRequest(base(r), '/', { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(r.deliveries()[0]!.verdict.outcome).toBe('rejected');
  });
});

describe('who may use the page and its API', () => {
  it('answers 421 to a foreign Host on the page, the stream, a capture and an action', async () => {
    const r = await start();
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/__facesign/ui/'],
      ['GET', '/__facesign/stream'],
      ['GET', '/__facesign/deliveries/1'],
      ['POST', '/__facesign/actions/replay'],
    ] as const) {
      const res = await httpRequest(base(r), path, { method, headers: { Host: `evil.example:${r.port}` }, body: '{}' });
      expect(res.status, path).toBe(421);
    }
  });

  it('answers 403 to a foreign Origin on GET and POST, and serves the page its own Origin', async () => {
    const r = await start();
    const token = await pageToken(base(r));
    const own = `http://127.0.0.1:${r.port}`;
    for (const origin of ['http://evil.example', 'null', `https://127.0.0.1:${r.port}`, `http://localhost:${r.port}`]) {
      const get = await httpRequest(base(r), '/__facesign/deliveries', { headers: { Origin: origin } });
      expect(get.status, origin).toBe(403);
      expect(get.json().error).toContain('Origin');
      const post = await httpRequest(base(r), '/__facesign/actions/verify', {
        method: 'POST',
        headers: { Origin: origin, 'Content-Type': 'application/json', 'X-FaceSign-Token': token },
        body: JSON.stringify({ seq: 1, secret: SECRET }),
      });
      expect(post.status, origin).toBe(403);
      expect(post.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect((await httpRequest(base(r), '/', { headers: { Origin: own } })).status).toBe(200);
    // localhost is the page's own origin when the page was opened as localhost.
    const viaLocalhost = await httpRequest(base(r), '/', {
      headers: { Host: `localhost:${r.port}`, Origin: `http://localhost:${r.port}` },
    });
    expect(viaLocalhost.status).toBe(200);
  });

  it('refuses an action without the token or with a wrong one (403), not JSON (415), too large (413), bad JSON (400)', async () => {
    const r = await start();
    await deliver(r, 1);
    const token = await pageToken(base(r));
    const path = '/__facesign/actions/verify';
    const body = JSON.stringify({ seq: 1, secret: SECRET });
    const json = { 'Content-Type': 'application/json' };
    const none = await httpRequest(base(r), path, { method: 'POST', headers: json, body });
    const wrong = await httpRequest(base(r), path, {
      method: 'POST',
      headers: { ...json, 'X-FaceSign-Token': `${token.slice(0, -1)}x` },
      body,
    });
    const plain = await httpRequest(base(r), path, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'X-FaceSign-Token': token },
      body,
    });
    const huge = await httpRequest(base(r), path, {
      method: 'POST',
      headers: { ...json, 'X-FaceSign-Token': token },
      body: JSON.stringify({ seq: 1, secret: 'x'.repeat(64 * 1024) }),
    });
    const bad = await httpRequest(base(r), path, {
      method: 'POST',
      headers: { ...json, 'X-FaceSign-Token': token },
      body: '{"seq":',
    });
    const get = await httpRequest(base(r), path, { headers: { 'X-FaceSign-Token': token } });
    expect([none.status, wrong.status, plain.status, huge.status, bad.status, get.status]).toEqual([
      403, 403, 415, 413, 400, 405,
    ]);
    for (const res of [none, wrong, plain, huge, bad, get]) expect(Object.keys(res.json())).toEqual(['error']);
    // The same request with the token and JSON works.
    const ok = await postAction(base(r), 'verify', token, { seq: 1, secret: SECRET });
    expect(ok.status).toBe(200);
    expect(ok.json().valid).toBe(true);
  });

  it('with ui: false, the page, its files, the stream and the actions are 404; the history stays', async () => {
    const r = await start({ ui: false });
    expect(r.inspectorUrl).toBeUndefined();
    await deliver(r, 1);
    for (const path of [
      '/__facesign/ui/',
      '/__facesign/ui/inspector.js',
      '/__facesign/stream',
      '/__facesign/actions/replay',
    ]) {
      const res = await httpRequest(base(r), path, { method: path.includes('actions') ? 'POST' : 'GET' });
      expect(res.status, path).toBe(404);
    }
    // `/` is no page: it is judged as a request to a wrong path, as before the inspector existed.
    expect((await httpRequest(base(r), '/')).status).toBe(404);
    const history = await httpRequest(base(r), '/__facesign/deliveries');
    expect(history.status).toBe(200);
    expect(history.json().count).toBe(2);
  });
});

describe('the delivery stream', () => {
  it('sends the history, then live deliveries in order, with ids; a reconnect resumes after Last-Event-ID', async () => {
    const r = await start();
    await deliver(r, 1);
    await deliver(r, 2);
    const sse = await openStream(base(r));
    expect(sse.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sse.res.headers['cache-control']).toBe('no-store');
    expect(sse.res.headers['content-security-policy']).toBe(CSP);
    await sse.deliveries(2);
    await deliver(r, 3, OTHER);
    await deliver(r, 4);
    const got = await sse.deliveries(4);
    const run = JSON.parse(sse.messages.find((m) => m.event === 'hello')!.data!).run as string;
    expect(got.map((m) => m.id)).toEqual([1, 2, 3, 4].map((n) => `${run}:${n}`));
    const summaries = got.map((m) => JSON.parse(m.data!));
    expect(summaries.map((s) => [s.seq, s.verdict.event_id, s.verdict.outcome, s.verdict.signature])).toEqual([
      [1, 'evt_inspector_1', 'accepted', 'valid'],
      [2, 'evt_inspector_2', 'accepted', 'valid'],
      [3, 'evt_inspector_3', 'rejected', 'mismatch'],
      [4, 'evt_inspector_4', 'accepted', 'valid'],
    ]);
    const file = r.deliveries()[2]!;
    expect(summaries[2]).toMatchObject({ received_at: file.received_at, body_bytes: file.body_bytes });
    expect(summaries[2].verdict).toEqual(file.verdict);
    for (const heavy of ['headers', 'raw_headers', 'body_base64', 'body_text', 'raw_body_base64'])
      expect(summaries[0]).not.toHaveProperty(heavy);
    sse.close();

    const resumed = await openStream(base(r), { 'Last-Event-ID': `${run}:2` });
    await deliver(r, 5);
    expect((await resumed.deliveries(3)).map((m) => m.id)).toEqual([3, 4, 5].map((n) => `${run}:${n}`));
    resumed.close();
    // The id of another run (a listen that ran on this port before) resumes nothing: all from the start.
    const stranger = await openStream(base(r), { 'Last-Event-ID': 'anotherRun:4' });
    expect((await stranger.deliveries(5)).map((m) => m.id)).toEqual([1, 2, 3, 4, 5].map((n) => `${run}:${n}`));
    stranger.close();
  });

  it('ends the stream when the receiver closes, and close() does not wait for the browser', async () => {
    const r = await start({ closeGraceMs: 5_000 });
    const sse = await openStream(base(r));
    await deliver(r, 1);
    await sse.deliveries(1);
    const t0 = Date.now();
    await r.close();
    await sse.ended;
    // Far below the 5 s grace: the open stream is not a request close() waits for.
    expect(Date.now() - t0).toBeLessThan(4_000);
    receiver = undefined;
  });
});

describe('one capture, as --save writes it', () => {
  it('GET /__facesign/deliveries/<seq> is the --save file byte for byte; ?download=1 names that file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fsw-inspector-'));
    dirs.push(dir);
    const r = await start({ saveDir: dir });
    await deliver(r, 1);
    await deliver(r, 2, OTHER);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    for (const [i, name] of files.entries()) {
      const one = await httpRequest(base(r), `/__facesign/deliveries/${i + 1}`);
      expect(one.status).toBe(200);
      expect(one.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(one.headers['content-disposition']).toBeUndefined();
      expect(one.body.equals(readFileSync(join(dir, name)))).toBe(true);
      const download = await httpRequest(base(r), `/__facesign/deliveries/${i + 1}?download=1`);
      expect(download.headers['content-disposition']).toBe(`attachment; filename="${name}"`);
      expect(download.body.equals(one.body)).toBe(true);
    }
    const missing = await httpRequest(base(r), '/__facesign/deliveries/99');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: 'delivery 99 is not in the history' });
  });
});

describe('actions', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startServer((_req, _body, res) => {
      res.writeHead(201, { 'X-App': 'yes', 'Content-Type': 'text/plain' });
      res.end('created by the app');
    });
  });
  afterAll(() => app.close());

  it('replay sends the captured bytes and signature to a URL typed in (the --to shorthand works)', async () => {
    const r = await start();
    const sent = await deliver(r, 1);
    expect(sent.status).toBe(200);
    const token = await pageToken(base(r));
    const before = app.requests.length;
    const res = await postAction(base(r), 'replay', token, { seq: 1, to: `:${app.port}/hook` });
    expect(res.status).toBe(200);
    const out = res.json();
    expect(out).toMatchObject({
      ok: true,
      to: `http://localhost:${app.port}/hook`,
      resigned: false,
      status: 201,
      body_preview: 'created by the app',
    });
    expect(out.headers).toContainEqual(['x-app', 'yes']);
    expect(out.duration_ms).toBeGreaterThanOrEqual(0);
    const got = app.requests[before]!;
    const capture = r.deliveries()[0]!;
    expect(got.url).toBe('/hook');
    expect(got.body.equals(Buffer.from(capture.body_base64, 'base64'))).toBe(true);
    expect(got.headers['facesign-signature']).toBe(capture.headers['facesign-signature']);
    expect(got.headers['facesign-event-id']).toBe('evt_inspector_1');
    expect(independentSignatureOk(got.body, got.headers['facesign-signature'], SECRET)).toBe(true);
  });

  it('replay without "to" goes to the forward target; without one it is a 400', async () => {
    const plain = await start();
    await deliver(plain, 1);
    const res = await postAction(base(plain), 'replay', await pageToken(base(plain)), { seq: 1 });
    expect(res.status).toBe(400);
    expect(res.json().error).toContain('no target');
    await plain.close();

    const r = await start({ forwardTo: `${app.url}/fwd` });
    await deliver(r, 2);
    const before = app.requests.length;
    const out = await postAction(base(r), 'replay', await pageToken(base(r)), { seq: 1 });
    expect(out.json()).toMatchObject({ ok: true, to: `${app.url}/fwd`, status: 201 });
    expect(app.requests.length).toBe(before + 1);
    expect(app.requests.at(-1)!.url).toBe('/fwd');
  });

  it('re-sign signs the captured bytes with listen’s secret; the secret is in no answer', async () => {
    const r = await start();
    await deliver(r, 1, OTHER);
    expect(r.deliveries()[0]!.verdict.signature).toBe('mismatch');
    const token = await pageToken(base(r));
    const before = app.requests.length;
    const answers: Answer[] = [await postAction(base(r), 'replay', token, { seq: 1, to: app.url, resign: true })];
    expect(answers[0]!.json()).toMatchObject({ ok: true, resigned: true });
    const got = app.requests[before]!;
    expect(got.body.toString()).toBe(event(1));
    expect(verifySignature(got.body, got.headers['facesign-signature'], SECRET).ok).toBe(true);
    expect(independentSignatureOk(got.body, got.headers['facesign-signature'], SECRET)).toBe(true);
    answers.push(
      await httpRequest(base(r), '/'),
      await httpRequest(base(r), '/__facesign/deliveries'),
      await httpRequest(base(r), '/__facesign/deliveries/1'),
      await httpRequest(base(r), '/__facesign/deliveries/1/curl'),
      await postAction(base(r), 'verify', token, { seq: 1, secret: OTHER }),
      await postAction(base(r), 'replay', token, { seq: 1, to: app.url }),
    );
    for (const a of answers) expect(a.text).not.toContain(SECRET);
  });

  it('re-sign without a secret in listen is a 400; bad seq, resign or to are 400/404 with one line', async () => {
    const r = await start({ secret: undefined, forwardTo: app.url });
    await deliver(r, 1);
    const token = await pageToken(base(r));
    const cases: [unknown, number, string][] = [
      [{ seq: 1, resign: true }, 400, 'without a secret'],
      [{ seq: 0 }, 400, 'seq must be'],
      [{ seq: '1' }, 400, 'seq must be'],
      [[1], 400, 'JSON object'],
      [{ seq: 7 }, 404, 'delivery 7 is not in the history'],
      [{ seq: 1, resign: 'yes' }, 400, 'resign must be'],
      [{ seq: 1, to: 'ftp://x' }, 400, 'only http and https'],
    ];
    for (const [body, status, error] of cases) {
      const res = await postAction(base(r), 'replay', token, body);
      expect([res.status, res.json().error], JSON.stringify(body)).toEqual([status, expect.stringContaining(error)]);
    }
  });

  it('verify gives the verify command’s diagnosis for the right and a wrong secret', async () => {
    const r = await start();
    await deliver(r, 1);
    const token = await pageToken(base(r));
    const right = (await postAction(base(r), 'verify', token, { seq: 1, secret: SECRET })).json();
    expect(right).toMatchObject({ valid: true, ok: true, reason: null });
    expect(right.lines[0]).toMatch(/^✔ valid {3}signature matches \(session\.verified evt_inspector_1, \d+ bytes\)$/);
    expect(right.lines).toContain('  listen    accepted this signature too');
    const wrong = (await postAction(base(r), 'verify', token, { seq: 1, secret: OTHER })).json();
    expect(wrong).toMatchObject({ valid: false, ok: false, reason: 'mismatch' });
    expect(wrong.lines[0]).toContain('✘ invalid: signature does not match');
    expect(wrong.lines.join('\n')).toContain('the two secrets differ');
    expect(wrong.lines.join('\n')).not.toContain(OTHER);
    const empty = await postAction(base(r), 'verify', token, { seq: 1, secret: '' });
    expect(empty.status).toBe(400);
  });

  it('verify without "secret" checks with the secret listen holds, which is in no answer', async () => {
    const r = await start();
    await deliver(r, 1, OTHER);
    await deliver(r, 2);
    const token = await pageToken(base(r));
    const bad = await postAction(base(r), 'verify', token, { seq: 1 });
    expect(bad.status).toBe(200);
    expect(bad.json()).toMatchObject({ valid: false, reason: 'mismatch' });
    expect(bad.json().lines[0]).toContain('✘ invalid: signature does not match');
    expect(bad.json().lines).toContain('  listen    rejected it too: signature does not match the body and secret');
    const expected = createHmac('sha256', SECRET).update(event(1)).digest('hex');
    expect(bad.json().lines.join('\n')).toContain(`expected  ${expected}`);
    const good = await postAction(base(r), 'verify', token, { seq: 2 });
    expect(good.json()).toMatchObject({ valid: true, reason: null });
    for (const answer of [bad, good]) expect(answer.text).not.toContain(SECRET);
  });

  it('verify without "secret" is a 400 naming the cause when listen has no secret', async () => {
    const r = await start({ secret: undefined, forwardTo: app.url });
    await deliver(r, 1);
    const res = await postAction(base(r), 'verify', await pageToken(base(r)), { seq: 1 });
    expect(res.status).toBe(400);
    expect(res.json().error).toMatch(/listen runs without a secret \(--secret\).*give "secret"/);
    const typed = await postAction(base(r), 'verify', await pageToken(base(r)), { seq: 1, secret: SECRET });
    expect(typed.json()).toMatchObject({ valid: true });
  });

  it('a redacted capture without its raw bytes: replay as captured and verify say so; re-sign works', async () => {
    const r = await start({ redact: true });
    const body = JSON.stringify({
      id: 'evt_red',
      type: 'session.verified',
      data: { verified_outputs: { first_name: 'Jane' } },
    });
    await httpRequest(r.url, r.path, {
      method: 'POST',
      headers: { 'FaceSign-Signature': createHmac('sha256', SECRET).update(body).digest('hex') },
      body,
    });
    const token = await pageToken(base(r));
    const replay = await postAction(base(r), 'replay', token, { seq: 1, to: app.url });
    expect(replay.status).toBe(409);
    expect(replay.json().error).toContain('redacted');
    expect(replay.json().note).toContain('Re-sign');
    const verify = await postAction(base(r), 'verify', token, { seq: 1, secret: SECRET });
    expect(verify.status).toBe(409);
    expect(verify.json().error).toContain('redacted');
    const resigned = await postAction(base(r), 'replay', token, { seq: 1, to: app.url, resign: true });
    expect(resigned.json()).toMatchObject({ ok: true, resigned: true });
    expect(app.requests.at(-1)!.body.toString()).not.toContain('Jane');
  });
});

describe('copy as curl', () => {
  const hasCurl = spawnSync('sh', ['-c', 'command -v curl']).status === 0;

  it('is a curl command that, run, re-sends the captured bytes and headers to the forward target', async () => {
    // The machines this runs on have curl; without it this test must fail, not pass quietly.
    expect(hasCurl).toBe(true);
    const app = await startServer();
    try {
      const r = await start({ forwardTo: `${app.url}/hook` });
      const body = `${event(1)}\n  'quoted' $HOME \`x\``;
      await httpRequest(r.url, r.path, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'FaceSign-Signature': createHmac('sha256', SECRET).update(body).digest('hex'),
          'FaceSign-Event-Id': 'evt_inspector_1',
        },
        body,
      });
      const curl = await httpRequest(base(r), '/__facesign/deliveries/1/curl');
      expect(curl.status).toBe(200);
      expect(curl.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(curl.text).toMatch(new RegExp(`^curl -sS -X POST ${app.url}/hook `));
      // Run asynchronously: the app answering curl lives in this process.
      const run = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
        execFile('sh', ['-c', curl.text], { timeout: 10_000 }, (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
        ),
      );
      expect(run.code, run.stderr).toBe(0);
      expect(app.requests).toHaveLength(2);
      const [forwarded, resent] = app.requests;
      expect(resent!.body.equals(forwarded!.body)).toBe(true);
      expect(resent!.body.toString()).toBe(body);
      for (const name of ['facesign-signature', 'facesign-event-id', 'content-type'])
        expect(resent!.headers[name], name).toBe(forwarded!.headers[name]);
      await r.close();
    } finally {
      await app.close();
    }
  });

  it('without a forward target it sends to listen itself', async () => {
    const r = await start();
    await deliver(r, 1);
    const curl = await httpRequest(base(r), '/__facesign/deliveries/1/curl');
    expect(curl.text).toContain(`curl -sS -X POST ${r.url} `);
  });
});
