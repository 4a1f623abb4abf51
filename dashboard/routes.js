// The routes view: recorded requests grouped by method and route (the template, else the path),
// with how many, how many failed, p50 and p95 durations, the calls each makes, and when they came:
// one chart for all above the table, a small one per route. A click on a route lists its cassettes.
import { timeChart } from './chart.js';
import { dependencyChips, el, formatCount, formatMs, formatTime, latestOnly, methodBadge, onSearchInput, showProblem } from './dom.js';
import { listHash } from './links.js';

const view = document.getElementById('routes-view');
const search = document.getElementById('routes-search');
const showing = document.getElementById('routes-showing');
const chart = document.getElementById('routes-chart');
const spanText = document.getElementById('routes-span');
const rows = document.getElementById('route-rows');
const empty = document.getElementById('routes-empty');
const latest = latestOnly();

export function showRoutes() {
  view.hidden = false;
  load();
}

export function hideRoutes() {
  latest.cancel();
  view.hidden = true;
}

export function wireRoutes() {
  onSearchInput(search, load);
}

function load() {
  const q = search.value.trim();
  return latest.fetch(
    `/api/routes${q ? `?${new URLSearchParams({ q })}` : ''}`,
    (answer) => {
      showProblem(undefined);
      render(answer);
    },
    (error) => showProblem(`Could not load the routes: ${error.message}`),
  );
}

function render(answer) {
  document.getElementById('dir').textContent = answer.dir ?? '';
  showing.textContent = `${formatCount(answer.requests)} requests, ${formatCount(answer.errors)} errors, ${formatCount(answer.routes.length)} routes`;
  spanText.textContent = answer.span.from ? `${formatTime(answer.span.from)} – ${formatTime(answer.span.to)}` : '';
  chart.replaceChildren(...(answer.requests ? [timeChart(answer.timeline, answer.span, 'large')] : []));
  rows.replaceChildren(...answer.routes.map((route) => row(route, answer.span)));
  empty.hidden = answer.routes.length > 0;
  empty.textContent = search.value.trim()
    ? 'No recorded requests match this search.'
    : `No recorded requests in ${answer.dir ?? 'this directory'} yet.`;
}

function row(route, span) {
  const open = () => {
    location.hash = listHash({ q: route.route, method: route.method });
  };
  return el(
    'tr',
    {
      class: route.errors ? 'failed' : undefined,
      onclick: open,
      title: `Show the ${route.count} cassette${route.count === 1 ? '' : 's'} of ${route.key}`,
    },
    el('td', { class: 'col-route' }, methodBadge(route.method), ' ', el('span', { class: 'path' }, route.route)),
    el('td', { class: 'col-count' }, formatCount(route.count)),
    el('td', { class: 'col-rate' }, errorRate(route)),
    el('td', { class: 'col-duration' }, formatMs(route.p50_ms)),
    el('td', { class: 'col-duration' }, formatMs(route.p95_ms)),
    el('td', { class: 'col-deps' }, dependencyChips(roundedAverages(route.calls_per_request))),
    el('td', { class: 'col-spark' }, timeChart(route.timeline, span, 'small')),
  );
}

/** `0%`, or `25% (1)` in red: the share that failed, and how many. */
function errorRate({ errors, error_rate: rate }) {
  if (!errors) return el('span', { class: 'muted' }, '0%');
  return el('span', { class: 'rate-bad' }, `${Number((rate * 100).toFixed(1))}% (${formatCount(errors)})`);
}

/** Averages to show as `×1.5`: one decimal, or two significant digits below one call a request. */
function roundedAverages(averages) {
  return Object.fromEntries(
    Object.entries(averages ?? {}).map(([type, n]) => [type, n >= 1 ? Math.round(n * 10) / 10 : Number(n.toPrecision(2))]),
  );
}
