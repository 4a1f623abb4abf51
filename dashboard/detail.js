// The detail view of one cassette: what came in and went out, every dependency call on a
// timeline with its signature and result, the raw JSON, and the command that replays it; for a
// cassette a replay run wrote, the run and the recording it was replayed from instead.
import { el, fillView, formatBytes, formatMs, formatTime, latestOnly, methodBadge, statusPill } from './dom.js';
import { cassetteHash, runHash } from './links.js';

const view = document.getElementById('detail-view');
const latest = latestOnly();
/** How long the copy button says what happened before it reads as a button again. */
const COPY_FEEDBACK_MS = 2_000;

/** A recorded cassette, by its file relative to the directory (or its id). */
export function showCassette(key) {
  return show(`/api/cassettes/${encodeURIComponent(key)}`, () => [backLink('#/', '← All requests')]);
}

/** A cassette the run `id` replayed, by its file relative to the run's folder. */
export function showReplayed(id, file) {
  return show(`/api/runs/${encodeURIComponent(id)}/replayed/${encodeURIComponent(file)}`, () => [backLink(runHash(id), '← This run')]);
}

function show(url, lead) {
  return fillView(view, latest, url, { render, lead, failure: 'Could not open this cassette' });
}

export function hideDetail() {
  latest.cancel();
  view.hidden = true;
  view.replaceChildren();
}

function backLink(href, text) {
  return el('a', { class: 'back', href }, text);
}

function render(detail) {
  const { file, cassette } = detail;
  if (object(cassette.session).kind === 'process') return renderProcess(file, cassette);
  const session = object(cassette.session);
  const request = object(cassette.request);
  const response = object(cassette.response);
  const events = Array.isArray(cassette.events) ? cassette.events : [];
  return [
    detailHead(
      [
        methodBadge(request.method),
        el('span', { class: 'path' }, String(request.path ?? '')),
        statusPill(response.status),
        el('span', { class: 'duration' }, formatMs(response.duration_ms)),
      ],
      [
        ['Recorded', formatTime(session.recorded_at)],
        ['Route', request.route],
        ['Service', session.service],
        ['Environment', session.env],
        ['Framework', session.framework],
        ['Node', session.node],
        ['Session', session.id],
        ['Trace', typeof session.trace_id === 'string' ? traceLink(session.trace_id) : undefined],
        ['Span', session.span_id],
        ['Cassette', file],
      ],
    ),
    response.error ? errorBox('The handler raised an error', response.error) : null,
    detail.run === undefined ? replayBox(detail.replay_command) : replayedFrom(detail.run, detail.recorded),
    section('Dependency calls', `${events.length} call${events.length === 1 ? '' : 's'}`, waterfall(events, request, response)),
    el(
      'div',
      { class: 'columns' },
      section('Request', null, exchange(request.query, request.headers, request.body)),
      section('Response', null, exchange(undefined, response.headers, response.body)),
    ),
    rawJson(cassette),
  ];
}

/** Where a replayed cassette came from: the run that wrote it, and the recording it replayed. */
function replayedFrom(run, recorded) {
  return el(
    'div',
    { class: 'replayed-from' },
    'Written by the replay run ',
    el('a', { href: runHash(run) }, run),
    ', replaying the recorded cassette ',
    el('a', { class: 'recorded-link', href: cassetteHash(recorded) }, recorded),
    '.',
  );
}

/** A process cassette: the calls the process made outside its requests, over its run. */
function renderProcess(file, cassette) {
  const session = object(cassette.session);
  const stats = object(cassette.stats);
  const events = Array.isArray(cassette.events) ? cassette.events : [];
  const repeats = events.reduce((n, e) => n + (Number(e.repeats) || 0), 0);
  return [
    detailHead(
      [
        methodBadge('PROCESS'),
        el('span', { class: 'path' }, 'Calls made outside requests'),
        el('span', { class: 'duration' }, `ran ${formatMs(stats.total_ms)}`),
      ],
      [
        ['Started', formatTime(session.recorded_at)],
        ['Process id', session.pid],
        ['Service', session.service],
        ['Environment', session.env],
        ['Node', session.node],
        ['Session', session.id],
        ['Cassette', file],
      ],
    ),
    el(
      'p',
      { class: 'muted' },
      'Start-up, timers, pool warm-ups and clients’ own checks: replay serves these calls when the app runs outside any request.',
    ),
    section(
      'Dependency calls',
      `${events.length} call${events.length === 1 ? '' : 's'}${repeats ? `, and ${repeats} repeats counted` : ''}`,
      waterfall(events, undefined, { duration_ms: stats.total_ms }),
    ),
    rawJson(cassette),
  ];
}

/** The heading (its parts) and the facts under it, as [label, value] pairs. */
export function detailHead(title, facts) {
  return el(
    'div',
    { class: 'detail-head' },
    el('h1', {}, ...title),
    el('dl', { class: 'facts' }, ...facts.map(([label, value]) => fact(label, value))),
  );
}

function object(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

function fact(label, value) {
  if (value === undefined || value === null || value === '') return null;
  return el('div', { class: 'fact' }, el('dt', {}, label), el('dd', {}, value instanceof Node ? value : String(value)));
}

/** An OpenTelemetry trace id, linking to the list of the requests recorded in that trace. */
function traceLink(traceId) {
  return el('a', { class: 'trace-link', href: `#/?${new URLSearchParams({ trace: traceId })}` }, traceId);
}

function section(title, note, ...content) {
  return el('section', { class: 'panel detail-section' }, el('h2', {}, title, note ? el('span', { class: 'note' }, note) : null), content);
}

function replayBox(command) {
  const button = el('button', { type: 'button', class: 'copy', id: 'copy-replay' }, 'Copy replay command');
  button.addEventListener('click', async () => {
    try {
      await copyText(command);
      button.textContent = 'Copied ✓';
    } catch {
      button.textContent = 'Copy failed: select the command';
    }
    setTimeout(() => {
      button.textContent = 'Copy replay command';
    }, COPY_FEEDBACK_MS);
  });
  return el(
    'div',
    { class: 'replay' },
    el('div', { class: 'replay-label' }, 'Replay this request offline, from the app’s folder'),
    el('div', { class: 'replay-line' }, el('code', { id: 'replay-command' }, command), button),
  );
}

async function copyText(text) {
  if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text);
  // Browsers offer no clipboard API to a page reached over plain HTTP from another machine.
  const area = el('textarea', { class: 'offscreen', readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('the browser refused to copy');
}

function errorBox(title, error) {
  const e = object(error);
  return el(
    'div',
    { class: 'error-box' },
    el('strong', {}, title),
    el('div', { class: 'error-text' }, `${e.name ?? 'Error'}${e.code !== undefined ? ` [${e.code}]` : ''}: ${e.message ?? ''}`),
    e.origin
      ? el('div', { class: 'muted' }, e.origin === 'app' ? 'Ended by the app itself (a timeout or abort).' : 'Raised by the dependency.')
      : null,
    e.stack ? el('details', {}, el('summary', {}, 'Stack'), el('pre', {}, String(e.stack))) : null,
  );
}

/** Bars placed by each call's start and duration against the whole request (or the process's run, with no request). */
function waterfall(events, request, response) {
  if (!events.length)
    return el('p', { class: 'muted' }, request ? 'This request made no dependency calls.' : 'No calls were made outside requests.');
  const total = Number(response.duration_ms) || 0;
  const end = Math.max(total, ...events.map((e) => (Number(e.start_offset_ms) || 0) + (Number(e.duration_ms) || 0)), 0.001);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const axis = el(
    'div',
    { class: 'wf-row wf-axis' },
    el('div', { class: 'wf-label' }, 'Call'),
    el(
      'div',
      { class: 'wf-track' },
      ticks.map((f) => place(el('span', { class: 'wf-tick' }, formatMs(end * f)), f * 100)),
    ),
    el('div', { class: 'wf-duration' }, 'Duration'),
    el('div', { class: 'wf-outcome' }, 'Result'),
  );
  if (!request)
    return el(
      'div',
      { class: 'waterfall' },
      axis,
      events.map((event) => call(event, end)),
    );
  const whole = el(
    'div',
    { class: 'wf-row wf-whole' },
    el(
      'div',
      { class: 'wf-label' },
      el('span', { class: 'wf-eid' }),
      el('span', { class: 'chip t-request' }, 'request'),
      el('span', { class: 'wf-signature' }, `${request.method ?? ''} ${request.path ?? ''}`),
    ),
    track(0, total, end, 'request'),
    el('div', { class: 'wf-duration' }, formatMs(total)),
    el('div', { class: 'wf-outcome' }, statusPill(response.status)),
  );
  return el(
    'div',
    { class: 'waterfall' },
    axis,
    whole,
    events.map((event) => call(event, end)),
  );
}

function place(node, leftPercent) {
  node.style.left = `${leftPercent}%`;
  return node;
}

function track(start, duration, end, type, failed) {
  const bar = el('div', { class: `wf-bar t-${String(type).replace(/[^a-z]/g, '')}${failed ? ' failed' : ''}` });
  place(bar, Math.min(100, (start / end) * 100));
  // A call too short to see still gets a sliver.
  bar.style.width = `max(3px, ${Math.min(100 - (start / end) * 100, (duration / end) * 100)}%)`;
  return el('div', { class: 'wf-track' }, bar);
}

/** One line saying which call this was: method and URL, SQL, a command and its arguments. */
function signatureLine(signature) {
  const s = object(signature);
  if (typeof s.url === 'string') return `${s.method ?? ''} ${s.url}`.trim();
  if (typeof s.sql === 'string') return s.sql;
  if (typeof s.command === 'string')
    return [s.command, ...(Array.isArray(s.args) ? s.args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))) : [])].join(' ');
  const { lib: _lib, ...rest } = s;
  return JSON.stringify(rest);
}

function outcome(event) {
  if (event.error) {
    const e = object(event.error);
    return el('span', { class: 'pill s5xx', title: `${e.name ?? 'Error'}: ${e.message ?? ''}` }, String(e.code ?? e.name ?? 'error'));
  }
  const result = object(event.result);
  if (typeof result.status === 'number') return statusPill(result.status);
  if (Array.isArray(result.results)) {
    const tags = result.results.map((r) => object(r).command).filter(Boolean);
    return el('span', { class: 'pill neutral' }, tags.length ? tags.join(', ') : 'ok');
  }
  return el('span', { class: 'pill neutral' }, 'ok');
}

function call(event, end) {
  const e = object(event);
  const start = Number(e.start_offset_ms) || 0;
  const duration = Number(e.duration_ms) || 0;
  const line = signatureLine(e.signature);
  const summary = el(
    'summary',
    { class: 'wf-row' },
    el(
      'div',
      { class: 'wf-label' },
      el('span', { class: 'wf-eid' }, `#${e.eid ?? ''}`),
      el('span', { class: `chip t-${String(e.type).replace(/[^a-z]/g, '')}` }, String(e.type ?? '?')),
      el('span', { class: 'wf-signature', title: line }, line),
    ),
    track(start, duration, end, e.type, Boolean(e.error)),
    el('div', { class: 'wf-duration' }, formatMs(duration)),
    el('div', { class: 'wf-outcome' }, outcome(e)),
  );
  return el(
    'details',
    { class: 'wf-call' },
    summary,
    el(
      'div',
      { class: 'wf-body' },
      el(
        'p',
        { class: 'muted' },
        `Started ${formatMs(start)} into the request and took ${formatMs(duration)}; recorded by the ${object(e.signature).lib ?? '?'} plugin.`,
      ),
      el(
        'div',
        { class: 'columns' },
        el('div', {}, el('h3', {}, 'Signature', el('span', { class: 'note' }, 'what replay matches on')), jsonBlock(e.signature)),
        el(
          'div',
          {},
          e.error ? errorBox('Error', e.error) : null,
          e.result !== undefined ? [el('h3', {}, 'Result'), result(e.result)] : null,
        ),
      ),
      e.request !== undefined ? el('div', {}, el('h3', {}, 'Call details'), callRequest(e.request)) : null,
    ),
  );
}

/** An HTTP answer as headers and body; anything else as JSON. */
function result(value) {
  const r = object(value);
  if (typeof r.status === 'number' && 'headers' in r) {
    return el('div', {}, el('p', {}, statusPill(r.status), ' ', String(r.status_text ?? '')), exchange(undefined, r.headers, r.body));
  }
  return jsonBlock(value);
}

function callRequest(value) {
  const r = object(value);
  return 'headers' in r || 'body' in r ? exchange(undefined, r.headers, r.body) : jsonBlock(value);
}

function exchange(query, headers, body) {
  const queryEntries = Object.entries(object(query));
  return el(
    'div',
    { class: 'exchange' },
    queryEntries.length ? [el('h3', {}, 'Query'), keyValues(queryEntries)] : null,
    el('h3', {}, 'Headers'),
    Object.keys(object(headers)).length ? keyValues(Object.entries(object(headers))) : el('p', { class: 'muted' }, 'No headers'),
    el('h3', {}, 'Body'),
    bodyView(body),
  );
}

function keyValues(entries) {
  return el(
    'table',
    { class: 'kv' },
    entries.flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) =>
        el('tr', {}, el('th', {}, name), el('td', {}, typeof v === 'string' ? v : JSON.stringify(v))),
      ),
    ),
  );
}

function bodyView(value) {
  if (value === null || value === undefined) return el('p', { class: 'muted' }, 'No body');
  const body = object(value);
  const badges = el(
    'div',
    { class: 'body-meta' },
    el('span', { class: 'badge' }, String(body.encoding ?? '?')),
    body.size_bytes !== undefined ? el('span', { class: 'badge' }, formatBytes(body.size_bytes)) : null,
    body.content_encoding ? el('span', { class: 'badge' }, `sent ${body.content_encoding}-compressed`) : null,
    body.truncated ? el('span', { class: 'badge warn' }, `truncated: only its start was kept`) : null,
  );
  if (body.encoding === 'base64') {
    return el(
      'div',
      {},
      badges,
      el('p', { class: 'muted' }, `Binary body, ${formatBytes(body.size_bytes)}; stored as base64.`),
      el('details', {}, el('summary', {}, 'Show base64'), el('pre', { class: 'code' }, String(body.data ?? ''))),
    );
  }
  const text = body.encoding === 'json' ? JSON.stringify(body.data, null, 2) : String(body.data ?? '');
  return el('div', {}, badges, el('pre', { class: 'code' }, text));
}

function jsonBlock(value) {
  return el('pre', { class: 'code' }, JSON.stringify(value, null, 2) ?? 'undefined');
}

/** The cassette as written; laid out only when opened, since a cassette can be large. */
function rawJson(cassette) {
  const pre = el('pre', { class: 'code raw-json' });
  const details = el('details', { class: 'panel raw' }, el('summary', {}, 'Raw JSON'), pre);
  details.addEventListener('toggle', () => {
    if (details.open && !pre.textContent) pre.textContent = JSON.stringify(cassette, null, 2);
  });
  return details;
}
