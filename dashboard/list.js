// The list view: totals, the searchable, filterable table of cassettes, one page at a time.
import {
  dependencyChips,
  el,
  formatCount,
  formatMs,
  formatTime,
  getJson,
  methodBadge,
  onSearchInput,
  showProblem,
  statusPill,
} from './dom.js';
import { cassetteHash } from './links.js';

const PAGE_SIZE = 50;
/** How often the open list asks for cassettes recorded since. */
const POLL_MS = 5_000;

const view = document.getElementById('list-view');
const rows = document.getElementById('rows');
const search = document.getElementById('search');
const methodFilter = document.getElementById('method-filter');
const statusFilter = document.getElementById('status-filter');
const showing = document.getElementById('showing');
const empty = document.getElementById('empty');
const previous = document.getElementById('prev-page');
const next = document.getElementById('next-page');
const pageInfo = document.getElementById('page-info');

const query = { q: '', method: '', status: '', trace: '', offset: 0 };
let page = { total: 0, matched: 0, items: [] };
/** Answers to older requests than the latest are dropped, so a slow one never overwrites a newer one. */
let requestCount = 0;
let lastRendered = '';
let poller;

/** Shows the list; `filters` (URLSearchParams of q, method, status, trace), when given, replace the current ones. */
export function showList(filters) {
  if (filters) {
    query.q = search.value = filters.get('q') ?? '';
    query.method = methodFilter.value = filters.get('method') ?? '';
    query.status = statusFilter.value = filters.get('status') ?? '';
    // An OpenTelemetry trace's requests (`#/?trace=<id>`, linked from a cassette's trace).
    query.trace = filters.get('trace') ?? '';
    query.offset = 0;
  }
  view.hidden = false;
  load();
  clearInterval(poller);
  poller = setInterval(() => {
    if (!document.hidden) load();
  }, POLL_MS);
}

export function hideList() {
  view.hidden = true;
  clearInterval(poller);
}

async function load() {
  const mine = ++requestCount;
  const params = new URLSearchParams({ offset: String(query.offset), limit: String(PAGE_SIZE) });
  for (const name of ['q', 'method', 'status', 'trace']) if (query[name]) params.set(name, query[name]);
  try {
    const answer = await getJson(`/api/cassettes?${params}`);
    if (mine !== requestCount) return;
    if (query.offset > 0 && query.offset >= answer.matched) {
      // Cassettes went away under the current page: go back to the last page there is.
      query.offset = Math.max(0, Math.floor((answer.matched - 1) / PAGE_SIZE) * PAGE_SIZE);
      load();
      return;
    }
    showProblem(undefined);
    render(answer);
  } catch (error) {
    if (mine === requestCount) showProblem(`Could not load cassettes: ${error.message}`);
  }
}

function render(answer) {
  // Polling asks again and again: the table is only rebuilt when something changed.
  const fingerprint = JSON.stringify(answer);
  if (fingerprint === lastRendered) return;
  lastRendered = fingerprint;
  page = answer;

  document.getElementById('dir').textContent = answer.dir ?? '';
  document.getElementById('total-requests').textContent = formatCount(answer.totals.requests);
  document.getElementById('total-success').textContent = formatCount(answer.totals.success);
  document.getElementById('total-errors').textContent = formatCount(answer.totals.errors);
  showing.textContent = `Showing ${formatCount(answer.matched)} of ${formatCount(answer.total)} cassettes`;

  rows.replaceChildren(...answer.items.map(row));
  empty.hidden = answer.items.length > 0;
  empty.textContent =
    answer.total === 0
      ? `No cassettes in ${answer.dir ?? 'this directory'} yet. Record some with TIMETRACER_MODE=record node --import timetracer/register app.js`
      : 'No cassettes match this search.';

  const first = answer.matched ? query.offset + 1 : 0;
  const last = query.offset + answer.items.length;
  const pages = Math.max(1, Math.ceil(answer.matched / PAGE_SIZE));
  pageInfo.textContent = `${formatCount(first)}–${formatCount(last)} of ${formatCount(answer.matched)} · page ${formatCount(Math.floor(query.offset / PAGE_SIZE) + 1)} of ${formatCount(pages)}`;
  previous.disabled = query.offset === 0;
  next.disabled = last >= answer.matched;
}

function row(item) {
  const open = () => {
    location.hash = cassetteHash(item.file);
  };
  const isProcess = item.kind === 'process';
  return el(
    'tr',
    { class: item.failed ? 'failed' : isProcess ? 'process' : undefined, onclick: open },
    el('td', { class: 'col-time', title: item.recorded_at }, formatTime(item.recorded_at)),
    el('td', { class: 'col-method' }, methodBadge(item.method)),
    el(
      'td',
      { class: 'col-path', title: item.file },
      isProcess ? el('span', { class: 'path muted' }, 'calls made outside requests') : el('span', { class: 'path' }, item.path),
      item.route && item.route !== item.path ? el('span', { class: 'route' }, item.route) : null,
    ),
    el('td', { class: 'col-status' }, isProcess ? el('span', { class: 'muted' }, '—') : statusPill(item.status)),
    el('td', { class: 'col-duration' }, formatMs(item.duration_ms)),
    el('td', { class: 'col-deps' }, dependencyChips(item.events)),
    el(
      'td',
      { class: 'col-view' },
      el('a', { class: 'button', href: cassetteHash(item.file), onclick: (event) => event.stopPropagation() }, 'View'),
    ),
  );
}

function changed() {
  query.offset = 0;
  load();
}

export function wireList() {
  onSearchInput(search, (text) => {
    query.q = text;
    changed();
  });
  methodFilter.addEventListener('change', () => {
    query.method = methodFilter.value;
    changed();
  });
  statusFilter.addEventListener('change', () => {
    query.status = statusFilter.value;
    changed();
  });
  previous.addEventListener('click', () => {
    query.offset = Math.max(0, query.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener('click', () => {
    if (query.offset + PAGE_SIZE < page.matched) query.offset += PAGE_SIZE;
    load();
  });
}
