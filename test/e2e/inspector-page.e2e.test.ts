import { createHmac } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_SETUP_TIMEOUT_MS, launchBrowser } from '../helpers/browser.js';
import { ndjson, runCli } from '../helpers/cli.js';
import { httpRequest } from '../helpers/inspector-http.js';
import { killListeners, startListen, type ListenProcess } from '../helpers/listen-process.js';
import { independentSignatureOk, startServer, type TestServer } from '../helpers/server.js';

/*
 * The inspector page in a real headless Chromium (Debian's package, driven by playwright-core),
 * served by the built CLI's `listen`, with deliveries sent by the built CLI's `send`.
 */

// The callbacks given to page.evaluate run in the browser; these name its globals without the DOM lib.
declare const document: any;
declare const window: any;
declare const localStorage: any;
declare const sessionStorage: any;
type HTMLElement = any;

const SECRET = 'whsec_inspector_e2e';
const OTHER_SECRET = 'whsec_someone_else';
/** Every browser wait is bounded: a missing element fails the test instead of hanging it. */
const WAIT_MS = 15_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser: Browser;
const contexts: BrowserContext[] = [];
const servers: TestServer[] = [];
const plainServers: Server[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, BROWSER_SETUP_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  killListeners();
  for (const s of servers.splice(0)) await s.close();
  for (const s of plainServers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface PageOptions {
  width?: number;
  height?: number;
  scheme?: 'light' | 'dark';
  bypassCSP?: boolean;
}

async function openPage(url: string, options: PageOptions = {}): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.scheme ?? 'light',
    bypassCSP: options.bypassCSP ?? false,
    acceptDownloads: true,
  });
  contexts.push(context);
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(url, { timeout: WAIT_MS });
  return page;
}

function pageErrors(page: Page): string[] {
  return (page as Page & { errors: string[] }).errors;
}

/** Sends one event with the built CLI; returns its `--json` delivery record. */
async function send(listen: ListenProcess, type: string, ...args: string[]): Promise<Record<string, any>> {
  const r = await runCli(['send', type, '--to', listen.url, '--secret', SECRET, '--json', ...args]);
  const record = ndjson(r.stdout).find((x) => x.type === 'delivery');
  expect(record, r.stderr).toBeDefined();
  return record!;
}

/** The list's items, top to bottom (only those shown when `visibleOnly`). */
function listedSeqs(page: Page, visibleOnly = false): Promise<number[]> {
  return page.$$eval(
    '#list > li',
    (items, only) => items.filter((li) => !only || !(li as HTMLElement).hidden).map((li) => Number(li.dataset.seq)),
    visibleOnly,
  );
}

async function waitForItems(page: Page, n: number): Promise<void> {
  await page.waitForFunction((count) => document.querySelectorAll('#list > li').length >= count, n, {
    timeout: WAIT_MS,
  });
}

async function selectDelivery(page: Page, seq: number): Promise<void> {
  await page.click(`#list > li[data-seq="${seq}"] > button`);
  await page.waitForFunction(
    (s) =>
      document.getElementById('detail-title')?.textContent === `Delivery #${s}` &&
      document.querySelectorAll('#req-headers tr th').length > 0,
    seq,
    { timeout: WAIT_MS },
  );
}

/** The full capture listen holds for a sequence (the JSON history, read outside the browser). */
async function historyCapture(listen: ListenProcess, seq: number): Promise<Record<string, any>> {
  const res = await fetch(`${listen.base}/__facesign/deliveries`);
  const history = (await res.json()) as { deliveries: Record<string, any>[] };
  const capture = history.deliveries.find((d) => d.sequence === seq);
  expect(capture).toBeDefined();
  return capture!;
}

/** Waits until the action result area shows a line (the answer or the error). */
async function actionResult(page: Page): Promise<string> {
  await page.waitForSelector('#action-result .ok-line, #action-result .error-line', { timeout: WAIT_MS });
  return (await page.textContent('#action-result')) ?? '';
}

async function runAxe(page: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: any }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return (result.violations as any[]).map((v) => ({
      id: v.id as string,
      impact: v.impact as string,
      nodes: (v.nodes as any[]).slice(0, 3).map((n) => `${(n.target as string[]).join(' ')}: ${n.failureSummary}`),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

describe('inspector page: live list and detail', () => {
  it('shows deliveries live, newest first, with headers, body, verdict and the diagnosis of a bad signature', async () => {
    const listen = await startListen(['--secret', SECRET]);
    const page = await openPage(`${listen.base}/`);
    await page.waitForSelector('#connection[data-state="open"]');
    expect(await page.isVisible('#empty')).toBe(true);
    expect(await page.textContent('#empty-cmd')).toContain('facesign-webhooks send verified --to http://');
    // A marker that a reload would wipe: the deliveries must arrive without one.
    await page.evaluate(() => ((window as any).__noReload = true));

    const first = await send(listen, 'verified');
    await waitForItems(page, 1);
    expect(await page.isVisible('#empty')).toBe(false);
    const second = await send(listen, 'failed');
    const third = await send(listen, 'verified', '--signature', 'invalid', '--expect', '4xx');
    await waitForItems(page, 3);
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
    expect(await listedSeqs(page)).toEqual([3, 2, 1]);
    const rows = await page.$$eval('#list > li', (items) => items.map((li) => li.textContent ?? ''));
    expect(rows[0]).toContain(third.event_id);
    expect(rows[0]).toMatch(/rejected/);
    expect(rows[0]).toContain('400');
    expect(rows[1]).toContain(second.event_id);
    expect(rows[1]).toContain('session.failed');
    expect(rows[2]).toContain(first.event_id);
    expect(rows[2]).toMatch(/accepted/);
    expect(rows[2]).toContain('200');

    // The detail of the first: headers in order, the raw body byte for byte (as text), pretty JSON.
    const capture = await historyCapture(listen, 1);
    await selectDelivery(page, 1);
    const headers = await page.$$eval('#req-headers tr', (trs) =>
      trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? '']),
    );
    expect(headers).toEqual(capture.raw_headers);
    expect(headers.find(([n]) => n === 'FaceSign-Signature')?.[1]).toMatch(/^[0-9a-f]{64}$/);
    expect(await page.textContent('#body-pretty')).toBe(JSON.stringify(JSON.parse(capture.body_text), null, 2));
    await page.click('#tab-raw');
    expect(await page.isVisible('#body-raw')).toBe(true);
    expect(await page.textContent('#body-raw')).toBe(capture.body_text);
    const verdict = await page.textContent('#verdict-line');
    expect(verdict).toMatch(/accepted/);
    expect(verdict).toMatch(/signature valid/);
    expect(await page.textContent('#detail-facts')).toContain(first.event_id);

    // The invalid signature: the verdict says so in words, with listen's reason and the diagnosis.
    await selectDelivery(page, 3);
    expect(await page.textContent('#verdict-line')).toMatch(/rejected.*signature mismatch.*400/s);
    const notes = await page.textContent('#verdict-notes');
    expect(notes).toContain('signature does not match the body and secret');
    expect(await diagnosis(page)).toContain('✘ invalid: signature does not match');

    // Keyboard: the items are buttons; arrows move between them, Enter selects.
    await page.focus('#list > li[data-seq="3"] > button');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('detail-title')?.textContent === 'Delivery #2', null, {
      timeout: WAIT_MS,
    });
    expect(await page.getAttribute('#list > li[data-seq="2"] > button', 'aria-current')).toBe('true');

    // listen stops: the page says it lost the connection.
    listen.child.kill('SIGTERM');
    await listen.exited;
    await page.waitForSelector('#connection:not([data-state="open"])', { timeout: WAIT_MS });
    expect(await page.textContent('#connection')).toMatch(/reconnecting|disconnected/i);
    expect(pageErrors(page)).toEqual([]);
  });

  it('filters by type, verdict and status, and searches by event id', async () => {
    const listen = await startListen(['--secret', SECRET]);
    const page = await openPage(`${listen.base}/`);
    const a = await send(listen, 'verified');
    const b = await send(listen, 'failed');
    await send(listen, 'expired', '--signature', 'missing', '--expect', '4xx');
    await send(listen, 'failed', '--event-id', b.event_id); // a duplicate: 200 "Already processed"
    await waitForItems(page, 4);

    await page.selectOption('#f-type', 'session.failed');
    expect(await listedSeqs(page, true)).toEqual([4, 2]);
    await page.selectOption('#f-verdict', 'duplicate');
    expect(await listedSeqs(page, true)).toEqual([4]);
    await page.selectOption('#f-type', '');
    await page.selectOption('#f-verdict', 'rejected');
    expect(await listedSeqs(page, true)).toEqual([3]);
    await page.selectOption('#f-verdict', '');
    await page.selectOption('#f-status', '4');
    expect(await listedSeqs(page, true)).toEqual([3]);
    await page.selectOption('#f-status', '2');
    expect(await listedSeqs(page, true)).toEqual([4, 2, 1]);
    await page.selectOption('#f-status', '');
    await page.fill('#f-id', a.event_id.slice(4, 16));
    expect(await listedSeqs(page, true)).toEqual([1]);
    expect(await page.textContent('#count')).toBe('1 of 4');
    await page.fill('#f-id', 'evt_nothing_like_this');
    expect(await listedSeqs(page, true)).toEqual([]);
    expect(await page.isVisible('#no-match')).toBe(true);
    await page.fill('#f-id', '');
    expect(await listedSeqs(page, true)).toEqual([4, 3, 2, 1]);

    // The selection is in the address (#seq): a reload or a shared link opens the same delivery.
    await selectDelivery(page, 2);
    expect(new URL(page.url()).hash).toBe('#2');
    await page.reload({ timeout: WAIT_MS });
    await page.waitForFunction(() => document.getElementById('detail-title')?.textContent === 'Delivery #2', null, {
      timeout: WAIT_MS,
    });
  });
});

/** Waits for the verify diagnosis the page asks listen for when a signature is not valid. */
async function diagnosis(page: Page): Promise<string> {
  await page.waitForSelector('#diagnosis:not([hidden]) pre, #diagnosis:not([hidden]) .note', { timeout: WAIT_MS });
  return (await page.textContent('#diagnosis')) ?? '';
}

describe('inspector page: the verify diagnosis of a rejected signature', () => {
  it('shows the verify command’s diagnosis, checked with listen’s secret, which never reaches the page', async () => {
    const listen = await startListen(['--secret', SECRET]);
    const page = await openPage(`${listen.base}/`);
    const wrong = await runCli(['send', 'verified', '--to', listen.url, '--secret', OTHER_SECRET, '--expect', '4xx']);
    expect(wrong.code, wrong.stderr).toBe(0);
    await send(listen, 'failed', '--signature', 'malformed', '--expect', '4xx');
    await send(listen, 'expired', '--signature', 'missing', '--expect', '4xx');
    await send(listen, 'cancelled');
    await waitForItems(page, 4);

    const cases: [number, RegExp][] = [
      [1, /✘ invalid: signature does not match: the secret or the body differs/],
      [2, /✘ invalid: FaceSign-Signature is not a 64-character lowercase hex string/],
      [3, /✘ invalid: no FaceSign-Signature header/],
    ];
    for (const [seq, first] of cases) {
      await selectDelivery(page, seq);
      const text = await diagnosis(page);
      expect(text).toMatch(/verify says/);
      expect(text).toMatch(first);
      expect(text).toMatch(/listen {4}rejected it too/);
      expect(text).toMatch(/fix {7}\S/);
      // The signature listen's secret gives these bytes: computed here, independently.
      const capture = await historyCapture(listen, seq);
      const expected = createHmac('sha256', SECRET).update(Buffer.from(capture.body_base64, 'base64')).digest('hex');
      expect(text).toContain(`expected  ${expected}`);
    }
    // A valid signature needs no diagnosis.
    await selectDelivery(page, 4);
    expect(await page.isHidden('#diagnosis')).toBe(true);
    expect(await page.content()).not.toContain(SECRET);
    expect(pageErrors(page)).toEqual([]);
  });
});

describe('inspector page: the empty state and a restarted listen', () => {
  it('shows the exact command to send to this listen, its custom --path included', async () => {
    const listen = await startListen(['--secret', SECRET, '--path', '/hooks/in']);
    const page = await openPage(`${listen.base}/`);
    expect(listen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hooks\/in$/);
    expect(await page.textContent('#empty-cmd')).toBe(`facesign-webhooks send verified --to ${listen.url}`);
    // A path a shell would read otherwise is quoted.
    const odd = await startListen(['--secret', SECRET, '--path', "/a&b/it's"]);
    const oddPage = await openPage(`${odd.base}/`);
    expect(await oddPage.textContent('#empty-cmd')).toBe(
      `facesign-webhooks send verified --to '${odd.base}/a&b/it'\\''s'`,
    );
  });

  it('a listen restarted on the same port: the page shows the new run’s deliveries and none of the old', async () => {
    const a = await startListen(['--secret', SECRET]);
    const port = new URL(a.url).port;
    const old = [await send(a, 'verified'), await send(a, 'failed'), await send(a, 'expired')];
    const page = await openPage(`${a.base}/`);
    await waitForItems(page, 3);
    await selectDelivery(page, 3);
    a.child.kill('SIGTERM');
    await a.exited;
    await page.waitForSelector('#connection:not([data-state="open"])', { timeout: WAIT_MS });

    // The new run counts from 1 again; its first delivery arrives before the page reconnects.
    const b = await startListen(['--secret', SECRET, '--port', port]);
    expect(b.url).toBe(a.url);
    const fresh = [await send(b, 'cancelled', '--signature', 'invalid', '--expect', '4xx')];
    await page.waitForFunction(
      (id) => document.querySelector('#list > li')?.textContent?.includes(id) === true,
      fresh[0]!.event_id,
      { timeout: WAIT_MS },
    );
    await page.waitForSelector('#connection[data-state="open"]', { timeout: WAIT_MS });
    fresh.push(await send(b, 'verified'));
    await page.waitForFunction(
      (id) => document.querySelector('#list > li')?.textContent?.includes(id) === true,
      fresh[1]!.event_id,
      { timeout: WAIT_MS },
    );
    expect(await listedSeqs(page)).toEqual([2, 1]);
    const text = await page.textContent('#list');
    for (const f of fresh) expect(text).toContain(f.event_id);
    for (const o of old) expect(text).not.toContain(o.event_id);
    // The old run's selection is gone, and the page's token is the new run's: an action works.
    expect(new URL(page.url()).hash).toBe('');
    await selectDelivery(page, 1);
    expect(await diagnosis(page)).toMatch(/✘ invalid: signature does not match/);
    expect(pageErrors(page)).toEqual([]);
  });
});

describe('inspector page: a long list', () => {
  it('lists 500 deliveries; the filters work and stay in view when the list is scrolled to its end', async () => {
    const listen = await startListen(['--secret', SECRET]);
    const load = await runCli(['send', 'all', '--to', listen.url, '--secret', SECRET, '--count', '500', '--json']);
    expect(load.code, load.stderr).toBe(0);
    const page = await openPage(`${listen.base}/`);
    await waitForItems(page, 500);
    expect(await page.textContent('#count')).toBe('500');
    const types = await page.$$eval('#list > li .type', (els) => els.map((e) => e.textContent ?? ''));
    const failed = types.filter((t) => t === 'session.failed').length;
    expect(failed).toBeGreaterThan(0);
    await page.selectOption('#f-type', 'session.failed');
    expect(await listedSeqs(page, true)).toHaveLength(failed);
    expect(await page.textContent('#count')).toBe(`${failed} of 500`);
    await page.selectOption('#f-type', '');
    // Scrolled to the oldest: the filters are still on screen, above the list.
    await page.locator('#list > li[data-seq="1"]').scrollIntoViewIfNeeded();
    const filters = (await page.locator('#filters').boundingBox())!;
    expect(filters.y).toBeGreaterThanOrEqual(0);
    expect(await page.isVisible('#f-id')).toBe(true);
    const hit = await page.evaluate(() => {
      const box = document.getElementById('f-type').getBoundingClientRect();
      return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2)?.id;
    });
    expect(hit).toBe('f-type');
    await selectDelivery(page, 1);
    await send(listen, 'verified');
    await waitForItems(page, 501);
    expect((await listedSeqs(page))[0]).toBe(501);
    expect(pageErrors(page)).toEqual([]);
  });
});

describe('inspector page: captures are untrusted', () => {
  it('shows markup from a delivery as text, even with the CSP turned off', async () => {
    const listen = await startListen(['--secret', SECRET]);
    // Without the CSP, markup that reached the DOM as HTML would run: only text handling keeps it inert.
    const page = await openPage(`${listen.base}/`, { bypassCSP: true });
    const evilType = '<b id="evil-type">session.verified</b>';
    const evilUser = '<img id="evil-img" src="x" onerror="window.__pwned = 1">';
    const evilHeader = '<svg id="evil-svg" onload="window.__pwned = 2"></svg>';
    await send(
      listen,
      'verified',
      '--set',
      `type=${evilType}`,
      '--set',
      `data.metadata.user_id=${evilUser}`,
      '--header',
      `X-Evil: ${evilHeader}`,
      '--expect',
      '4xx',
    );
    await waitForItems(page, 1);
    await selectDelivery(page, 1);
    await page.click('#tab-raw');
    expect(await page.textContent('#list > li')).toContain(evilType);
    expect(await page.textContent('#detail-facts')).toContain(evilUser);
    expect(await page.textContent('#req-headers')).toContain(evilHeader);
    expect(await page.textContent('#body-raw')).toContain(evilUser.replace(/"/g, '\\"'));
    expect(await page.$$('#evil-type, #evil-img, #evil-svg')).toHaveLength(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(pageErrors(page)).toEqual([]);
  });
});

describe('inspector page: bidi controls, invisible characters and very long values', () => {
  it('writes bidi and control characters out as [U+XXXX], keeps each list row one line, never scrolls sideways', async () => {
    const listen = await startListen(['--secret', SECRET]);
    const page = await openPage(`${listen.base}/`);
    // "evt_<RLO>gnp.exe<PDF>" would read "evt_exe.png" if the browser applied the override.
    const id = `evt_\u202Egnp.exe\u202C_\u200B${'Z'.repeat(300)}`;
    const type = `session.verified\u2066${'T'.repeat(2_000)}`;
    const body = JSON.stringify({ id, object: 'event', type, data: { note: 'line '.repeat(40_000) } });
    // A header's UTF-8 bytes arrive as Latin-1 characters, C1 controls among them.
    const bidiHeader = Buffer.from('\u202Eevil', 'utf8').toString('latin1');
    const sent = await httpRequest(listen.base, new URL(listen.url).pathname, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'FaceSign-Signature': createHmac('sha256', SECRET).update(body).digest('hex'),
        'X-Bidi': bidiHeader,
        'X-Long': 'A'.repeat(8_000),
      },
      body,
    });
    expect(sent.status).toBe(200);
    await waitForItems(page, 1);
    const row = page.locator('#list > li').first();
    expect(await row.textContent()).toContain('evt_[U+202E]gnp.exe[U+202C]_[U+200B]ZZZ');
    expect(await row.textContent()).toContain('session.verified[U+2066]TTT');
    // One line each for the type and the id, however long: the row stays the height of a short one.
    const rowBox = (await row.boundingBox())!;
    expect(rowBox.height).toBeLessThan(120);
    await selectDelivery(page, 1);
    expect(await page.textContent('#detail-facts')).toContain('evt_[U+202E]gnp.exe[U+202C]');
    const headers = await page.$$eval('#req-headers tr', (trs) =>
      trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? '']),
    );
    const bidiShown = headers.find(([n]) => n === 'X-Bidi')?.[1];
    expect(bidiShown).toMatch(/\[U\+0080\].*evil$/);
    expect(bidiShown).not.toMatch(/[\u0080-\u009f]/);
    await page.click('#tab-raw');
    expect(await page.textContent('#body-raw')).toContain('"id":"evt_[U+202E]gnp.exe[U+202C]_[U+200B]ZZZ');
    const shown = await page.evaluate(() => document.body.innerText as string);
    expect(shown).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200b\u0080-\u009f]/);
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 800 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    }
    expect(pageErrors(page)).toEqual([]);
  });
});

describe('inspector page: actions', () => {
  it('replays the same bytes, re-signs with listen’s secret, verifies a typed secret, downloads and copies as curl', async () => {
    const target = await startServer();
    servers.push(target);
    const listen = await startListen(['--secret', SECRET]);
    const page = await openPage(`${listen.base}/`);
    // Signed with another secret: listen rejects it, so re-signing visibly changes the verdict.
    const sent = await runCli(['send', 'verified', '--to', listen.url, '--secret', OTHER_SECRET, '--expect', '4xx']);
    expect(sent.code, sent.stderr).toBe(0);
    await waitForItems(page, 1);
    await selectDelivery(page, 1);
    const capture = await historyCapture(listen, 1);
    const capturedBody = Buffer.from(capture.body_base64, 'base64');

    // No --forward-to: the page says a URL is needed, and Replay without one says why it did nothing.
    expect(await page.textContent('#replay-help')).toBe(
      'Give a URL: this listen has no --forward-to app to replay to.',
    );
    await page.click('#btn-replay');
    expect(await actionResult(page)).toMatch(/no target: listen runs without --forward-to/);

    await page.fill('#replay-to', target.hookUrl);
    await page.click('#btn-replay');
    expect(await actionResult(page)).toMatch(/answered 200/);
    expect(target.requests).toHaveLength(1);
    expect(target.requests[0]!.body.equals(capturedBody)).toBe(true);
    expect(target.requests[0]!.headers['facesign-signature']).toBe(capture.headers['facesign-signature']);
    expect(
      independentSignatureOk(target.requests[0]!.body, target.requests[0]!.headers['facesign-signature'], SECRET),
    ).toBe(false);

    await page.click('#btn-resign');
    await page.waitForFunction(
      () => /re-signed/.test(document.getElementById('action-result')?.textContent ?? ''),
      null,
      {
        timeout: WAIT_MS,
      },
    );
    expect(await actionResult(page)).toMatch(/answered 200/);
    expect(target.requests).toHaveLength(2);
    expect(target.requests[1]!.body.equals(capturedBody)).toBe(true);
    expect(
      independentSignatureOk(target.requests[1]!.body, target.requests[1]!.headers['facesign-signature'], SECRET),
    ).toBe(true);

    // Verify with the secret it was signed with, then with another one.
    await page.fill('#verify-secret', OTHER_SECRET);
    await page.click('#btn-verify');
    expect(await actionResult(page)).toMatch(/Valid with this secret/);
    await page.fill('#verify-secret', 'whsec_wrong_guess');
    await page.click('#btn-verify');
    await page.waitForFunction(
      () => /Not valid/.test(document.getElementById('action-result')?.textContent ?? ''),
      null,
      {
        timeout: WAIT_MS,
      },
    );
    expect(await page.textContent('#action-result')).toMatch(/does not match/);
    expect(await page.inputValue('#verify-secret')).toBe('whsec_wrong_guess');
    expect(
      await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })),
    ).not.toContain('whsec');

    // Download: the capture's JSON, as --save writes it.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT_MS }),
      page.click('#download'),
    ]);
    expect(download.suggestedFilename()).toMatch(/^000001-.*\.json$/);
    const file = await readFile((await download.path())!, 'utf8');
    expect(JSON.parse(file)).toEqual(capture);

    // Copy as curl: copied, or shown to copy by hand; either way the command is on the page.
    await page.click('#btn-curl');
    await page.waitForSelector('#curl-box:not([hidden])', { timeout: WAIT_MS });
    const curl = await page.inputValue('#curl-text');
    expect(curl).toMatch(/^curl /);
    expect(curl).toContain(capture.headers['facesign-signature']);
    expect(pageErrors(page)).toEqual([]);
  });

  it('shows the app’s answer with --forward-to, and Replay with no URL goes to the app', async () => {
    const app = await startServer((_req, _body, res) => {
      res.writeHead(422, { 'content-type': 'application/json', 'x-app': 'demo' });
      res.end('{"error":"unknown user"}');
    });
    servers.push(app);
    const listen = await startListen(['--secret', SECRET, '--forward-to', app.hookUrl]);
    const page = await openPage(`${listen.base}/`);
    await send(listen, 'verified', '--expect', '4xx');
    await waitForItems(page, 1);
    expect(await page.textContent('#list > li')).toMatch(/app 422/);
    await selectDelivery(page, 1);
    await page.waitForSelector('#app-card:not([hidden])', { timeout: WAIT_MS });
    expect(await page.textContent('#app-line')).toMatch(/your app said 422/);
    expect(await page.textContent('#app-body')).toBe(JSON.stringify({ error: 'unknown user' }, null, 2));
    expect(await page.textContent('#app-headers')).toContain('x-app');

    expect(await page.textContent('#replay-help')).toBe(
      `Left empty: your app at ${app.hookUrl} (listen's --forward-to).`,
    );
    await page.click('#btn-replay');
    expect(await actionResult(page)).toMatch(/answered 422/);
    expect(app.requests).toHaveLength(2);
    expect(app.requests[1]!.body.equals(app.requests[0]!.body)).toBe(true);
    expect(app.requests[1]!.headers['facesign-signature']).toBe(app.requests[0]!.headers['facesign-signature']);
  });

  it('refuses a page of another origin: it can neither read the captures nor start an action', async () => {
    const target = await startServer();
    servers.push(target);
    const listen = await startListen(['--secret', SECRET]);
    await send(listen, 'verified');
    // The token is in the inspector page; assume the worst, that the other page knows it too.
    const html = await (await fetch(`${listen.base}/`)).text();
    const token = /name="facesign-token" content="([^"]+)"/.exec(html)?.[1];
    expect(token).toBeTruthy();
    expect(token).not.toBe('__FACESIGN_TOKEN__');

    const other = createServer((_req, res) => res.end('<!doctype html><title>elsewhere</title><p>another site'));
    plainServers.push(other);
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
    const page = await openPage(otherUrl);
    const outcome = await page.evaluate(
      async ({ base, token, to }) => {
        const attempt = async (f: () => Promise<Response>) => {
          try {
            const r = await f();
            return `answered ${r.status} ${r.type}`;
          } catch (err) {
            return `refused: ${(err as Error).name}`;
          }
        };
        return {
          read: await attempt(() => fetch(`${base}/__facesign/deliveries`)),
          readOne: await attempt(() => fetch(`${base}/__facesign/deliveries/1`)),
          action: await attempt(() =>
            fetch(`${base}/__facesign/actions/replay`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', 'X-FaceSign-Token': token },
              body: JSON.stringify({ seq: 1, to }),
            }),
          ),
          // A "simple" request reaches the server without a preflight: the server itself must refuse it.
          simple: await attempt(() =>
            fetch(`${base}/__facesign/actions/replay`, {
              method: 'POST',
              mode: 'no-cors',
              headers: { 'Content-Type': 'text/plain' },
              body: JSON.stringify({ seq: 1, to }),
            }),
          ),
        };
      },
      { base: listen.base, token: token!, to: target.hookUrl },
    );
    expect(outcome.read).toBe('refused: TypeError');
    expect(outcome.readOne).toBe('refused: TypeError');
    expect(outcome.action).toBe('refused: TypeError');
    expect(outcome.simple).toBe('answered 0 opaque');
    // Give a wrongly accepted action time to reach the target, then check nothing did.
    await new Promise((r) => setTimeout(r, 500));
    expect(target.requests).toHaveLength(0);

    // What the server answers such a request, seen from outside a browser.
    const res = await fetch(`${listen.base}/__facesign/actions/replay`, {
      method: 'POST',
      headers: { Origin: otherUrl.slice(0, -1), 'Content-Type': 'application/json', 'X-FaceSign-Token': token! },
      body: JSON.stringify({ seq: 1, to: target.hookUrl }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(target.requests).toHaveLength(0);
    for (const path of ['/__facesign/deliveries', '/__facesign/deliveries/1', '/__facesign/stream']) {
      const read = await fetch(`${listen.base}${path}`, { headers: { Origin: otherUrl.slice(0, -1) } });
      expect([path, read.status]).toEqual([path, 403]);
      expect(await read.text()).not.toContain('evt_');
    }
  });
});

describe('inspector page: accessibility and screenshot', () => {
  it('has no serious or critical axe violation, light and dark, laptop and phone width; writes the screenshot', async () => {
    const app = await startServer((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"received":true}');
    });
    servers.push(app);
    const listen = await startListen(['--secret', SECRET, '--forward-to', app.hookUrl]);
    await send(listen, 'verified');
    await send(listen, 'failed');
    await send(listen, 'expired', '--signature', 'tampered', '--expect', '2xx');
    await send(listen, 'cancelled');

    const found: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      for (const width of [1280, 375]) {
        const page = await openPage(`${listen.base}/`, { scheme, width });
        await waitForItems(page, 4);
        // The empty page's state is checked too: before anything is selected.
        for (const v of await runAxe(page))
          found.push(`${scheme} ${width}px, nothing selected: ${v.id} (${v.impact}) ${v.nodes.join(' | ')}`);
        await selectDelivery(page, 3);
        if (width === 375) {
          // Phone width: the list and the detail stack, and nothing is wider than the screen.
          const list = (await page.locator('.list-pane').boundingBox())!;
          const detail = (await page.locator('#detail').boundingBox())!;
          expect(detail.y).toBeGreaterThanOrEqual(list.y + list.height - 1);
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
        }
        await page.fill('#verify-secret', 'whsec_wrong');
        await page.click('#btn-verify');
        await actionResult(page);
        for (const v of await runAxe(page))
          found.push(`${scheme} ${width}px: ${v.id} (${v.impact}) ${v.nodes.join(' | ')}`);
        if (scheme === 'light' && width === 1280) await screenshot(page, listen);
        expect(pageErrors(page)).toEqual([]);
      }
    }
    expect(found).toEqual([]);
  });
});

/** The page with four deliveries and the tampered one selected: always to test-results/, to docs/ with UPDATE_SCREENSHOTS=1. */
async function screenshot(page: Page, _listen: ListenProcess): Promise<void> {
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.fill('#verify-secret', '');
  // The tampered one: listen's verdict, the verify diagnosis and the app's answer side by side.
  await selectDelivery(page, 3);
  await diagnosis(page);
  await page.evaluate(() => window.scrollTo(0, 0));
  const image = await page.screenshot({ fullPage: false, timeout: WAIT_MS });
  await mkdir(`${ROOT}test-results`, { recursive: true });
  await writeFile(`${ROOT}test-results/inspector.png`, image);
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await mkdir(`${ROOT}docs`, { recursive: true });
    await writeFile(`${ROOT}docs/inspector.png`, image);
  }
  expect(image.length).toBeGreaterThan(10_000);
}
