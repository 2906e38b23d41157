import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { httpRequest, openStream, pageToken, postAction, type SseClient } from '../helpers/inspector-http.js';
import { killListeners, startListen } from '../helpers/listen-process.js';
import { independentSignatureOk, startServer, type TestServer } from '../helpers/server.js';

/*
 * The inspector's server side as a user meets it: `listen` (the built CLI) prints the page's URL,
 * serves the page and its API, streams what `send` delivers, replays to a real local app, and
 * still stops at once on Ctrl-C with a browser connected.
 */

const SECRET = 'whsec_inspector_e2e';
const dirs: string[] = [];
const servers: TestServer[] = [];

afterEach(async () => {
  killListeners();
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const send = (to: string, ...extra: string[]) =>
  runCli(['send', 'session.verified', '--to', to, '--secret', SECRET, ...extra]);

describe('listen: the inspector page', () => {
  it('prints the page URL (ready line and --json ready record) and serves it there', async () => {
    const human = await startListen(['--secret', SECRET], { json: false });
    const line = /^inspector: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(human.stdout());
    expect(line?.[1]).toBe(`${human.base}/`);
    expect(human.stderr()).not.toContain('reachable from the network');
    const page = await httpRequest(human.base, '/');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<meta name="facesign-token" content="[A-Za-z0-9_-]{32}"/);

    const json = await startListen(['--secret', SECRET]);
    expect(json.ready!.inspector_url).toBe(`${json.base}/`);
  });

  it('--no-ui: no page, stream or actions (404), no inspector URL; the JSON history stays', async () => {
    const l = await startListen(['--secret', SECRET, '--no-ui']);
    expect(l.ready!.inspector_url).toBeNull();
    expect((await send(l.url)).code).toBe(0);
    for (const path of ['/__facesign/ui/', '/__facesign/ui/inspector.css', '/__facesign/stream'])
      expect((await httpRequest(l.base, path)).status, path).toBe(404);
    const action = await httpRequest(l.base, '/__facesign/actions/replay', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"seq":1}',
    });
    expect(action.status).toBe(404);
    expect((await httpRequest(l.base, '/')).status).toBe(404);
    expect((await httpRequest(l.base, '/__facesign/deliveries')).json().count).toBe(2);
  });

  it('warns that the page and the history are reachable from the network when --host is not loopback', async () => {
    const l = await startListen(['--secret', SECRET, '--host', '0.0.0.0'], { json: false });
    expect(l.stderr()).toMatch(
      /warning: --host 0\.0\.0\.0 is not a loopback address: the inspector page and the delivery history are reachable from the network/,
    );
    // Reached here only through loopback.
    expect((await httpRequest(`http://127.0.0.1:${new URL(l.url).port}`, '/')).status).toBe(200);
  });
});

/** The run id the stream's first event (`hello`) names. */
function runOf(sse: SseClient): string {
  const hello = sse.messages.find((m) => m.event === 'hello');
  expect(hello).toBeDefined();
  return JSON.parse(hello!.data!).run as string;
}

describe('listen: the stream and one capture, with deliveries sent by the CLI', () => {
  it('streams the history then live deliveries in order; /deliveries/<seq> is the --save file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fsw-inspector-e2e-'));
    dirs.push(dir);
    const l = await startListen(['--secret', SECRET, '--save', dir]);
    expect((await send(l.url)).code).toBe(0);
    const sse = await openStream(l.base);
    expect((await sse.deliveries(1)).map((m) => m.id)).toEqual([`${runOf(sse)}:1`]);
    expect((await send(l.url, '--signature', 'invalid')).code).toBe(1);
    expect((await send(l.url)).code).toBe(0);
    const got = await sse.deliveries(3);
    expect(got.map((m) => [m.id, m.event])).toEqual([1, 2, 3].map((n) => [`${runOf(sse)}:${n}`, 'delivery']));
    const records = await l.deliveries(3);
    expect(got.map((m) => JSON.parse(m.data!).verdict.event_id)).toEqual(records.map((r) => r.event_id));
    expect(JSON.parse(got[1]!.data!).verdict).toMatchObject({
      outcome: 'rejected',
      signature: 'mismatch',
      status: 400,
    });
    sse.close();

    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files).toHaveLength(3);
    for (const [i, name] of files.entries()) {
      const one = await httpRequest(l.base, `/__facesign/deliveries/${i + 1}?download=1`);
      expect(one.body.equals(readFileSync(join(dir, name))), name).toBe(true);
      expect(one.headers['content-disposition']).toBe(`attachment; filename="${name}"`);
    }
  });

  it('replays a capture to a local app byte for byte, and re-signs with listen’s secret', async () => {
    const app = await startServer();
    servers.push(app);
    const l = await startListen(['--secret', SECRET]);
    expect((await send(l.url, '--signature', 'invalid')).code).toBe(1);
    const capture = (await httpRequest(l.base, '/__facesign/deliveries/1')).json();
    const token = await pageToken(l.base);
    const asIs = await postAction(l.base, 'replay', token, { seq: 1, to: `:${app.port}/app` });
    expect(asIs.json()).toMatchObject({
      ok: true,
      status: 200,
      resigned: false,
      to: `http://localhost:${app.port}/app`,
    });
    const again = await postAction(l.base, 'replay', token, { seq: 1, to: `${app.url}/app`, resign: true });
    expect(again.json()).toMatchObject({ ok: true, resigned: true });
    expect(again.text).not.toContain(SECRET);
    const [first, second] = app.requests;
    const body = Buffer.from(capture.body_base64, 'base64');
    expect(first!.body.equals(body)).toBe(true);
    expect(second!.body.equals(body)).toBe(true);
    expect(first!.headers['facesign-signature']).toBe(capture.headers['facesign-signature']);
    expect(first!.headers['facesign-event-id']).toBe(capture.headers['facesign-event-id']);
    expect(second!.headers['facesign-event-id']).toBe(capture.headers['facesign-event-id']);
    expect(independentSignatureOk(first!.body, first!.headers['facesign-signature'], SECRET)).toBe(false);
    expect(independentSignatureOk(second!.body, second!.headers['facesign-signature'], SECRET)).toBe(true);
    const verify = await postAction(l.base, 'verify', token, { seq: 1, secret: SECRET });
    expect(verify.json()).toMatchObject({ valid: false, reason: 'mismatch' });
  });

  it('stops at once on Ctrl-C with a browser connected, ending its stream', async () => {
    const l = await startListen(['--secret', SECRET]);
    expect((await send(l.url)).code).toBe(0);
    const sse = await openStream(l.base);
    await sse.deliveries(1);
    l.child.kill('SIGINT');
    const exited = await Promise.race([
      l.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000)),
    ]);
    expect(exited).toEqual({ code: 0, signal: null });
    await sse.ended;
    expect(l.records().at(-1)).toMatchObject({ type: 'summary', reason: 'interrupted', accepted: 1 });
  });
});
