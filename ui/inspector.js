// The inspector page of `facesign-webhooks listen`: a live list of deliveries (Server-Sent Events),
// one delivery's detail, and the actions. Plain browser JavaScript, no build step, no dependency.
// Every value that came over the network is attacker-controlled (a capture is whatever was POSTed):
// it reaches the DOM only as text (textContent, text nodes, attribute values), never as HTML.

const API = '/__facesign';
const STREAM_URL = `${API}/stream`;
const RECONNECT_MS = 3000;

const $ = (id) => document.getElementById(id);
const token = document.querySelector('meta[name="facesign-token"]')?.getAttribute('content') ?? '';
const narrow = window.matchMedia('(max-width: 799px)');

/** seq → { summary, item (the <li>) }, and the seqs newest first. */
const deliveries = new Map();
let selected = null;
/** Increases on each selection, so a late answer for an earlier one is dropped. */
let selectionTick = 0;

// ---------- small DOM helpers (text only) ----------

/** An element with attributes (set as attributes, never parsed) and text or element children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(visible(String(child))));
  }
  return node;
}

/**
 * Bidi controls, control characters (line breaks and tabs aside) and invisible ones from a capture,
 * written out as [U+XXXX]: else an event id such as "evt_\u202Egnp.exe" would read "evt_exe.png",
 * and two ids that look alike could differ.
 */
const HIDDEN_CHARS =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
function visible(text) {
  return text.replace(HIDDEN_CHARS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

function clear(node) {
  node.replaceChildren();
  return node;
}

function setText(node, text) {
  node.textContent = visible(text ?? '');
}

// ---------- what a summary or a capture says ----------

const OUTCOME = {
  accepted: { icon: '✔', label: 'accepted' },
  duplicate: { icon: '↻', label: 'duplicate' },
  rejected: { icon: '✘', label: 'rejected' },
  fault: { icon: '⚠', label: 'fault' },
};

const BAD_SIGNATURES = new Set(['missing', 'malformed', 'mismatch', 'prefixed', 'uppercase']);

/** The fields the page uses, from a stream summary or a full capture (same names as a --save file). */
function readSummary(raw) {
  const v = raw.verdict && typeof raw.verdict === 'object' ? raw.verdict : {};
  const fwd = raw.forward && typeof raw.forward === 'object' ? raw.forward : null;
  const seq = Number(raw.seq ?? raw.sequence);
  return {
    seq,
    receivedAt: str(raw.received_at),
    method: str(raw.method),
    path: str(raw.path),
    type: str(v.event_type),
    eventId: str(v.event_id),
    outcome: str(v.outcome),
    signature: str(v.signature),
    status: num(v.status),
    reason: str(v.reason),
    forwarded: fwd !== null,
    appStatus: fwd ? num(fwd.status) : null,
  };
}

function str(value) {
  return typeof value === 'string' ? value : value === undefined || value === null ? null : String(value);
}

function num(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function statusClass(status) {
  if (status === null || status === 0) return 'st-none';
  if (status < 300) return 'st-ok';
  if (status < 400) return 'st-redirect';
  return 'st-bad';
}

function statusText(status) {
  return status === null || status === 0 ? 'no answer' : String(status);
}

function timeOf(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return { short: '?', long: iso ?? '' };
  return {
    short: date.toLocaleTimeString([], { hour12: false }),
    long: `${date.toLocaleString([], { hour12: false })} (${iso})`,
  };
}

/** The day, when it is not today (a long-running listen). */
function dateOf(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return '';
  return date.toDateString() === new Date().toDateString() ? 'today' : date.toLocaleDateString();
}

function outcomeBadge(outcome) {
  const known = OUTCOME[outcome] ?? { icon: '?', label: outcome ?? 'unknown' };
  return el(
    'span',
    { class: `badge oc-${known.label}` },
    el('span', { 'aria-hidden': 'true' }, known.icon),
    ' ',
    known.label,
  );
}

// ---------- connection (Server-Sent Events) ----------

let source = null;
let reconnectTimer = null;
/** The run of listen this page shows (from the stream's `hello`); another run means listen restarted. */
let run = null;

function showConnection(state, text) {
  $('connection').dataset.state = state;
  setText($('connection-text'), text);
}

function connect() {
  clearTimeout(reconnectTimer);
  showConnection('connecting', deliveries.size ? 'Reconnecting…' : 'Connecting…');
  source = new EventSource(STREAM_URL);
  source.addEventListener('open', () => showConnection('open', 'Connected: new deliveries appear live'));
  source.addEventListener('hello', (event) => {
    const hello = eventJson(event);
    if (hello === null) return;
    const next = typeof hello.run === 'string' ? hello.run : null;
    if (run !== null && next !== run) return startOver();
    run = next;
  });
  source.addEventListener('delivery', (event) => {
    const raw = eventJson(event);
    if (raw !== null) addDelivery(raw);
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CONNECTING) {
      showConnection('reconnecting', 'Reconnecting to listen…');
      return;
    }
    // Closed for good (listen stopped, or answered an error): try again on our own, more slowly.
    source.close();
    showConnection('closed', 'Disconnected: listen is not answering; retrying…');
    reconnectTimer = setTimeout(connect, RECONNECT_MS);
  });
}

/** An event's data as a JSON object, or null when it is not one. */
function eventJson(event) {
  try {
    const value = JSON.parse(event.data);
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

/**
 * listen restarted (on the same port): its sequences start from 1 again and the page's token is
 * stale. Load the page afresh, without the old selection, so it shows only the new run.
 */
function startOver() {
  source.close();
  clearTimeout(reconnectTimer);
  showConnection('connecting', 'listen restarted: loading its deliveries…');
  history.replaceState(null, '', location.pathname + location.search);
  location.reload();
}

// ---------- the list ----------

function addDelivery(raw) {
  const summary = readSummary(raw);
  if (!Number.isSafeInteger(summary.seq) || summary.seq < 1) return;
  if (deliveries.has(summary.seq)) return;
  const item = renderItem(summary);
  item.hidden = !matches(summary, currentFilters());
  deliveries.set(summary.seq, { summary, item });
  insertItem(summary.seq, item);
  addTypeOption(summary.type);
  scheduleFilters();
  if (selected === null && pendingHashSeq === summary.seq) select(summary.seq, { focus: false });
}

/** Newest (highest seq) first; a late, older one goes where it belongs. */
function insertItem(seq, item) {
  const list = $('list');
  // The usual case, a new delivery: it goes on top without looking at the others.
  if (!list.firstElementChild || Number(list.firstElementChild.dataset.seq) < seq) return void list.prepend(item);
  for (const child of list.children) {
    if (Number(child.dataset.seq) < seq) return void list.insertBefore(item, child);
  }
  list.append(item);
}

function renderItem(s) {
  const time = timeOf(s.receivedAt);
  // With --forward-to the sender usually got the app's status: then "app 200" says both.
  const sameAsApp = s.forwarded && s.appStatus !== null && s.appStatus === s.status;
  const status = sameAsApp ? null : el('span', { class: `status ${statusClass(s.status)}` }, statusText(s.status));
  const app = s.forwarded
    ? el('span', { class: `app ${statusClass(s.appStatus)}` }, 'app ', statusText(s.appStatus))
    : null;
  const sigBad = BAD_SIGNATURES.has(s.signature);
  const button = el(
    'button',
    { type: 'button', class: 'item', 'data-seq': s.seq },
    el(
      'span',
      { class: 'row1' },
      outcomeBadge(s.outcome),
      sigBad ? el('span', { class: 'sig-bad' }, `signature ${s.signature}`) : null,
      el('span', { class: 'spacer' }),
      status,
      app,
    ),
    el(
      'span',
      { class: 'row2' },
      el('span', { class: 'type', title: visible(s.type ?? '') || null }, s.type ?? '(no type)'),
      el('time', { datetime: s.receivedAt, title: time.long }, time.short),
    ),
    el('span', { class: 'row3 mono', title: visible(s.eventId ?? '') || null }, s.eventId ?? '(no event id)'),
  );
  button.addEventListener('click', () => select(s.seq, { focus: true }));
  const item = el('li', { 'data-seq': s.seq }, button);
  return item;
}

function addTypeOption(type) {
  if (!type) return;
  const selectBox = $('f-type');
  for (const option of selectBox.options) if (option.value === type) return;
  const option = el('option', { value: type }, type);
  // Kept in alphabetical order after "All types".
  let before = null;
  for (const other of selectBox.options) if (other.value && other.value > type && !before) before = other;
  selectBox.insertBefore(option, before);
}

function matches(s, filters) {
  if (filters.id && !(s.eventId ?? '').toLowerCase().includes(filters.id)) return false;
  if (filters.type && s.type !== filters.type) return false;
  if (filters.verdict === 'sig-bad') {
    if (!BAD_SIGNATURES.has(s.signature)) return false;
  } else if (filters.verdict && s.outcome !== filters.verdict) return false;
  if (filters.status !== '') {
    const st = s.status ?? 0;
    if (filters.status === '0' ? st !== 0 : String(Math.floor(st / 100)) !== filters.status || st === 0) return false;
  }
  return true;
}

let filtersQueued = false;

/** The history arrives as a burst of events on connect: filter and count once per frame, not per event. */
function scheduleFilters() {
  if (filtersQueued) return;
  filtersQueued = true;
  requestAnimationFrame(() => {
    filtersQueued = false;
    applyFilters();
  });
}

function currentFilters() {
  return {
    id: $('f-id').value.trim().toLowerCase(),
    type: $('f-type').value,
    verdict: $('f-verdict').value,
    status: $('f-status').value,
  };
}

function applyFilters() {
  const filters = currentFilters();
  let shown = 0;
  for (const { summary, item } of deliveries.values()) {
    const visible = matches(summary, filters);
    item.hidden = !visible;
    if (visible) shown++;
  }
  const total = deliveries.size;
  setText($('count'), shown === total ? `${total}` : `${shown} of ${total}`);
  $('count').setAttribute(
    'aria-label',
    shown === total ? `${total} deliveries` : `${shown} of ${total} deliveries shown`,
  );
  $('empty').hidden = total > 0;
  $('no-match').hidden = total === 0 || shown > 0;
}

/** Up/Down/Home/End move between the visible items of the list. */
function onListKey(event) {
  const keys = ['ArrowDown', 'ArrowUp', 'Home', 'End'];
  if (!keys.includes(event.key)) return;
  const buttons = [...$('list').querySelectorAll('li:not([hidden]) > button')];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0 || buttons.length === 0) return;
  event.preventDefault();
  const next =
    event.key === 'Home'
      ? 0
      : event.key === 'End'
        ? buttons.length - 1
        : Math.min(buttons.length - 1, Math.max(0, at + (event.key === 'ArrowDown' ? 1 : -1)));
  buttons[next].focus();
}

// ---------- the detail ----------

let pendingHashSeq = readHashSeq();

function readHashSeq() {
  const m = /^#(\d{1,15})$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

async function select(seq, { focus }) {
  const entry = deliveries.get(seq);
  if (!entry) return;
  pendingHashSeq = null;
  selected = seq;
  const tick = ++selectionTick;
  for (const { item } of deliveries.values()) {
    const button = item.firstChild;
    if (Number(item.dataset.seq) === seq) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  history.replaceState(null, '', `#${seq}`);
  resetActions();
  setText($('detail-title'), `Delivery #${seq}`);
  $('detail-placeholder').hidden = true;
  $('detail-body').hidden = false;
  renderFromSummary(entry.summary);
  if (focus && narrow.matches) $('detail').focus();
  let capture;
  try {
    const res = await fetch(`${API}/deliveries/${seq}`, { cache: 'no-store', headers: { Accept: 'application/json' } });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body && body.error ? body.error : `listen answered ${res.status}`);
    capture = body;
  } catch (err) {
    if (tick !== selectionTick) return;
    showDetailError(`Could not load this delivery: ${err.message}`);
    return;
  }
  if (tick !== selectionTick || !capture || typeof capture !== 'object') return;
  renderCapture(capture);
  if (BAD_SIGNATURES.has(readSummary(capture).signature)) await diagnose(seq, tick);
}

/** The `verify` command's diagnosis of a signature listen rejected, checked by listen with its own secret. */
async function diagnose(seq, tick) {
  const box = clear($('diagnosis'));
  box.hidden = false;
  box.append(el('p', { class: 'muted' }, 'Asking listen for the verify diagnosis…'));
  let answer;
  try {
    answer = await post('verify', { seq });
  } catch (err) {
    if (tick !== selectionTick) return;
    clear(box).append(el('p', { class: 'note' }, `No verify diagnosis: ${err.message}`));
    if (err.hint) box.append(el('p', { class: 'muted' }, `hint: ${err.hint}`));
    return;
  }
  if (tick !== selectionTick) return;
  clear(box).append(el('h4', {}, 'verify says (with the secret listen holds)'), verifyLines(answer));
}

/** The verify diagnosis in an answer: its lines, then its notes. */
function verifyLines(answer) {
  const lines = [
    ...(Array.isArray(answer.lines) ? answer.lines : []),
    ...(Array.isArray(answer.notes) ? answer.notes : []),
  ];
  return el('pre', { class: 'code verify-lines', tabindex: 0 }, lines.map((l) => str(l) ?? '').join('\n'));
}

function showDetailError(text) {
  const line = $('detail-error');
  line.hidden = !text;
  setText(line, text ?? '');
}

function fact(list, name, value, opts = {}) {
  if (value === null || value === undefined || value === '') return;
  list.append(el('div', {}, el('dt', {}, name), el('dd', opts.mono ? { class: 'mono' } : {}, value)));
}

/** What the summary already says, shown at once while the full capture loads. */
function renderFromSummary(s) {
  showDetailError(null);
  const facts = clear($('detail-facts'));
  fact(facts, 'Received', timeOf(s.receivedAt).short + ' ' + dateOf(s.receivedAt));
  fact(facts, 'Type', s.type);
  fact(facts, 'Event id', s.eventId, { mono: true });
  renderVerdict(s, null);
  clear($('diagnosis')).hidden = true;
  $('app-card').hidden = true;
  for (const id of ['req-headers', 'body-pretty', 'body-raw']) clear($(id));
  setText($('body-size'), '');
  $('body-note').hidden = true;
  $('download').setAttribute('href', `${API}/deliveries/${s.seq}?download=1`);
}

function renderCapture(c) {
  const s = readSummary(c);
  const v = c.verdict && typeof c.verdict === 'object' ? c.verdict : {};
  const facts = clear($('detail-facts'));
  fact(facts, 'Received', timeOf(s.receivedAt).short + ' ' + dateOf(s.receivedAt));
  fact(facts, 'From', c.remote_address ? `${c.remote_address}${c.remote_port ? `:${c.remote_port}` : ''}` : null);
  fact(facts, 'Request', `${s.method ?? '?'} ${s.path ?? ''}`, { mono: true });
  fact(facts, 'Type', s.type);
  fact(facts, 'Event id', s.eventId, { mono: true });
  fact(facts, 'Session', str(v.session_id), { mono: true });
  fact(facts, 'User', str(v.user_id), { mono: true });
  if (typeof v.attempt === 'number') fact(facts, 'Attempt', String(v.attempt));
  if (typeof v.delayed_ms === 'number') fact(facts, 'Held back', `${v.delayed_ms} ms (--delay)`);
  if (c.redacted === true)
    fact(facts, 'Capture', `redacted (--redact)${c.raw_body_base64 ? ', received bytes kept' : ''}`);
  renderVerdict(s, c);
  renderApp(c.forward);
  renderHeaders($('req-headers'), Array.isArray(c.raw_headers) ? c.raw_headers : []);
  renderBody(c);
}

function renderVerdict(s, capture) {
  const line = clear($('verdict-line'));
  const sig = s.signature ?? 'unknown';
  const sigBad = BAD_SIGNATURES.has(sig);
  line.append(
    outcomeBadge(s.outcome),
    ' ',
    el(
      'span',
      { class: `sig ${sigBad ? 'sig-bad' : sig === 'valid' ? 'sig-ok' : 'sig-none'}` },
      el('span', { 'aria-hidden': 'true' }, sigBad ? '✘ ' : sig === 'valid' ? '✔ ' : '– '),
      sig === 'unchecked' ? 'signature not checked (listen has no secret)' : `signature ${sig}`,
    ),
    ' · answered ',
    el('span', { class: `status ${statusClass(s.status)}` }, statusText(s.status)),
  );
  const notes = clear($('verdict-notes'));
  if (s.reason) notes.append(el('li', {}, el('strong', {}, 'listen: '), s.reason));
  // With --forward-to the answer was the app's, shown in its own card.
  if (capture && !capture.forward && typeof capture.verdict?.response_body === 'string')
    notes.append(
      el('li', {}, el('strong', {}, 'response body: '), el('span', { class: 'mono' }, capture.verdict.response_body)),
    );
}

function renderApp(fwd) {
  const card = $('app-card');
  card.hidden = !fwd || typeof fwd !== 'object';
  if (card.hidden) return;
  const line = clear($('app-line'));
  const status = num(fwd.status);
  if (status === null) {
    line.append(
      el('span', { class: 'status st-bad' }, el('span', { 'aria-hidden': 'true' }, '✘ '), 'no answer'),
      ' ',
      str(fwd.error?.message) ?? 'the app did not answer',
    );
  } else {
    line.append('your app said ', el('span', { class: `status ${statusClass(status)}` }, String(status)));
    if (typeof fwd.latency_ms === 'number') line.append(` in ${fwd.latency_ms} ms`);
  }
  const facts = clear($('app-facts'));
  fact(facts, 'App URL', str(fwd.url), { mono: true });
  if (typeof fwd.body_bytes === 'number')
    fact(facts, 'Body', `${fwd.body_bytes} bytes${fwd.body_truncated ? ' (cut at 64 KiB)' : ''}`);
  if (fwd.error && status !== null) fact(facts, 'Error', str(fwd.error.message));
  renderHeaders($('app-headers'), Object.entries(fwd.headers ?? {}));
  const preview = str(fwd.body_preview) ?? '';
  setText($('app-body'), prettyJson(preview) ?? (preview || '(empty)'));
}

function renderHeaders(tbody, pairs) {
  clear(tbody);
  for (const pair of pairs) {
    if (!Array.isArray(pair)) continue;
    tbody.append(
      el('tr', {}, el('th', { scope: 'row', class: 'mono' }, str(pair[0])), el('td', { class: 'mono' }, str(pair[1]))),
    );
  }
  if (!tbody.children.length) tbody.append(el('tr', {}, el('td', { colspan: 2, class: 'muted' }, '(none)')));
}

/** JSON text indented, or null when the text is not JSON. */
function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

function renderBody(c) {
  const text = typeof c.body_text === 'string' ? c.body_text : '';
  const bytes = typeof c.body_bytes === 'number' ? c.body_bytes : text.length;
  setText($('body-size'), `(${bytes} bytes)`);
  const notes = [];
  if (c.body_discarded) notes.push(`The body was over listen's --max-body cap and was not kept.`);
  if (c.body_omitted) notes.push(`The body is too large for the history; the --save file has the bytes.`);
  if (c.redacted) notes.push('Redacted: personal data was replaced, so these are not the signed bytes.');
  if (typeof c.redaction_note === 'string') notes.push(c.redaction_note);
  $('body-note').hidden = notes.length === 0;
  setText($('body-note'), notes.join(' '));
  setText($('body-raw'), text || '(empty body)');
  setText($('body-pretty'), prettyJson(text) ?? (text ? '(not JSON: see Raw)' : '(empty body)'));
}

function showTab(which) {
  for (const name of ['pretty', 'raw']) {
    const on = name === which;
    const tab = $(`tab-${name}`);
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`body-${name}`).hidden = !on;
  }
}

// ---------- actions ----------

function resetActions() {
  clear($('action-result'));
  $('curl-box').hidden = true;
  $('curl-text').value = '';
}

/** POSTs JSON with the page's token; resolves with the answer's JSON or throws its error line. */
async function post(path, payload) {
  const res = await fetch(`${API}/actions/${path}`, {
    method: 'POST',
    cache: 'no-store',
    headers: { 'Content-Type': 'application/json', 'X-FaceSign-Token': token, Accept: 'application/json' },
    body: JSON.stringify(payload),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body && typeof body.error === 'string' ? body.error : `listen answered ${res.status}`);
    err.hint = body && typeof body.hint === 'string' ? body.hint : null;
    err.note = body && typeof body.note === 'string' ? body.note : null;
    throw err;
  }
  if (!body || typeof body !== 'object') throw new Error('listen answered with something that is not JSON');
  return body;
}

function busy(on) {
  for (const id of ['btn-replay', 'btn-resign', 'btn-curl', 'btn-verify']) $(id).disabled = on;
  $('action-result').setAttribute('aria-busy', String(on));
}

/** Runs one action for the selected delivery and shows what came back, unless the selection moved on. */
async function runAction(label, work, show) {
  if (selected === null) return;
  const tick = selectionTick;
  const result = clear($('action-result'));
  result.append(el('p', { class: 'muted' }, `${label}…`));
  busy(true);
  try {
    const answer = await work(selected);
    if (tick === selectionTick) show(clear(result), answer);
  } catch (err) {
    if (tick !== selectionTick) return;
    clear(result).append(errorLine(`${label} failed: ${err.message}`));
    if (err.hint) result.append(el('p', { class: 'muted' }, `hint: ${err.hint}`));
    if (err.note) result.append(el('p', { class: 'note' }, err.note));
  } finally {
    busy(false);
  }
}

function errorLine(text) {
  return el('p', { class: 'error-line', role: 'alert' }, el('span', { 'aria-hidden': 'true' }, '✘ '), text);
}

function okLine(ok, ...parts) {
  return el(
    'p',
    { class: ok ? 'ok-line' : 'error-line' },
    el('span', { 'aria-hidden': 'true' }, ok ? '✔ ' : '✘ '),
    ...parts,
  );
}

function replay(resign) {
  const to = $('replay-to').value.trim();
  const label = resign ? 'Re-sign and replay' : 'Replay';
  return runAction(
    label,
    (seq) => post('replay', { seq, ...(to ? { to } : {}), ...(resign ? { resign: true } : {}) }),
    (box, r) => showReplay(box, r),
  );
}

function showReplay(box, r) {
  const where = str(r.to) ?? 'the target';
  const signed = r.resigned ? ' (re-signed)' : ' (original signature)';
  const status = num(r.status);
  if (status === null) {
    box.append(okLine(false, `No answer from ${where}${signed}: `, str(r.error) ?? 'unknown error'));
  } else {
    box.append(
      okLine(
        r.ok === true,
        `${where} answered `,
        el('span', { class: `status ${statusClass(status)}` }, String(status)),
        typeof r.duration_ms === 'number' ? ` in ${r.duration_ms} ms` : '',
        signed,
      ),
    );
    if (r.error) box.append(el('p', { class: 'note' }, str(r.error)));
  }
  if (Array.isArray(r.headers) && r.headers.length) {
    const tbody = el('tbody');
    renderHeaders(tbody, r.headers);
    box.append(
      el(
        'details',
        {},
        el('summary', {}, 'Response headers'),
        el(
          'table',
          { class: 'kv' },
          el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Name'), el('th', { scope: 'col' }, 'Value'))),
          tbody,
        ),
      ),
    );
  }
  if (typeof r.body_preview === 'string')
    box.append(el('h4', {}, 'Response body'), el('pre', { class: 'code', tabindex: 0 }, r.body_preview || '(empty)'));
}

async function copyCurl() {
  await runAction(
    'Copy as curl',
    async (seq) => {
      const res = await fetch(`${API}/deliveries/${seq}/curl`, { cache: 'no-store' });
      const text = await res.text();
      if (!res.ok) throw new Error(errorFromText(text) ?? `listen answered ${res.status}`);
      let copied = false;
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(text);
          copied = true;
        }
      } catch {
        copied = false;
      }
      return { text, copied };
    },
    (box, { text, copied }) => {
      $('curl-box').hidden = false;
      $('curl-text').value = text.replace(/\n$/, '');
      if (copied) box.append(okLine(true, 'Copied the curl command to the clipboard (also shown below).'));
      else {
        box.append(
          el('p', { class: 'note' }, 'The browser did not allow copying: select the command below and copy it.'),
        );
        $('curl-text').focus();
        $('curl-text').select();
      }
    },
  );
}

function errorFromText(text) {
  try {
    const j = JSON.parse(text);
    return typeof j.error === 'string' ? j.error : null;
  } catch {
    return text ? text.split('\n')[0].slice(0, 300) : null;
  }
}

function verify(event) {
  event.preventDefault();
  const secret = $('verify-secret').value;
  if (!secret) {
    clear($('action-result')).append(errorLine('Type the secret to verify with.'));
    $('verify-secret').focus();
    return;
  }
  return runAction(
    'Verify',
    (seq) => post('verify', { seq, secret }),
    (box, r) => {
      box.append(okLine(r.valid === true, r.valid === true ? 'Valid with this secret' : 'Not valid with this secret'));
      box.append(verifyLines(r));
    },
  );
}

// ---------- start ----------

/** The command that sends a delivery to this listen (its webhook URL comes in a meta tag). */
function emptyStateCommand() {
  const url = document.querySelector('meta[name="facesign-webhook-url"]')?.getAttribute('content') ?? '';
  const target = url && !url.startsWith('__') ? url : `${location.origin}/webhooks/facesign`;
  setText($('empty-cmd'), `facesign-webhooks send verified --to ${shellWord(target)}`);
}

/** A word a POSIX shell reads back as is (a --path may hold $, & or quotes). */
function shellWord(text) {
  return /^[A-Za-z0-9_./:@%+=,~-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Says where an empty "Replay to" goes: listen's --forward-to app, or nowhere (a URL is needed then). */
function replayHelp() {
  const app = document.querySelector('meta[name="facesign-forward-to"]')?.getAttribute('content') ?? '';
  if (app && !app.startsWith('__'))
    setText($('replay-help'), `Left empty: your app at ${app} (listen's --forward-to).`);
  else setText($('replay-help'), 'Give a URL: this listen has no --forward-to app to replay to.');
}

function start() {
  emptyStateCommand();
  replayHelp();
  $('filters').addEventListener('submit', (event) => event.preventDefault());
  for (const id of ['f-id', 'f-type', 'f-verdict', 'f-status']) {
    $(id).addEventListener('input', applyFilters);
    $(id).addEventListener('change', applyFilters);
  }
  $('list').addEventListener('keydown', onListKey);
  $('tab-pretty').addEventListener('click', () => showTab('pretty'));
  $('tab-raw').addEventListener('click', () => showTab('raw'));
  for (const id of ['tab-pretty', 'tab-raw'])
    $(id).addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
      const next = id === 'tab-pretty' ? 'raw' : 'pretty';
      showTab(next);
      $(`tab-${next}`).focus();
    });
  $('replay-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void replay(false);
  });
  $('btn-resign').addEventListener('click', () => void replay(true));
  $('btn-curl').addEventListener('click', () => void copyCurl());
  $('verify-form').addEventListener('submit', (event) => void verify(event));
  applyFilters();
  connect();
}

start();
