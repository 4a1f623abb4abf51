// The replay runs kept beside the recordings (`timetracer replay` writes one each time): every
// run with how many requests passed and failed, and one run's results, failures first, each with
// what differed as the CLI prints it, why a call missed, the recording and the replay.
import { detailHead } from './detail.js';
import { el, fillView, formatMs, formatTime, latestOnly, methodBadge, statusPill } from './dom.js';
import { cassetteHash, replayedHash, runHash } from './links.js';

const view = document.getElementById('runs-view');
const latest = latestOnly();

export function showRuns() {
  return fillView(view, latest, '/api/runs', { render: renderRuns, failure: 'Could not load the replay runs' });
}

export function showRun(id) {
  return fillView(view, latest, `/api/runs/${encodeURIComponent(id)}`, {
    render: renderRun,
    failure: 'Could not open this run',
    lead: () => [el('a', { class: 'back', href: '#/runs' }, '← All runs')],
  });
}

export function hideRuns() {
  latest.cancel();
  view.hidden = true;
  view.replaceChildren();
}

function renderRuns({ dir, runs }) {
  const heading = el(
    'h1',
    { class: 'view-title' },
    'Replay runs',
    el('span', { class: 'note' }, `newest first, kept in ${dir}/.timetracer-runs`),
  );
  if (!runs.length) {
    return [
      heading,
      el(
        'p',
        { class: 'panel empty' },
        `No replay runs in ${dir} yet. timetracer replay ${dir} -- node app.js sends every recorded request to the app again and keeps the run here.`,
      ),
    ];
  }
  const rows = runs.map((run) =>
    el(
      'tr',
      {
        class: run.failed ? 'failed' : 'passed',
        onclick: () => {
          location.hash = runHash(run.id);
        },
      },
      el('td', { class: 'col-time', title: run.started_at }, formatTime(run.started_at)),
      el('td', { class: 'col-outcome' }, outcomeCounts(run)),
      el('td', { class: 'col-duration' }, formatMs(Date.parse(run.finished_at) - Date.parse(run.started_at))),
      el('td', { class: 'col-command', title: run.command.join(' ') }, el('code', {}, run.command.join(' '))),
      el(
        'td',
        { class: 'col-view' },
        el('a', { class: 'button', href: runHash(run.id), onclick: (event) => event.stopPropagation() }, 'View'),
      ),
    ),
  );
  return [
    heading,
    el(
      'div',
      { class: 'panel' },
      el(
        'table',
        { class: 'cassettes runs' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { class: 'col-time' }, 'Started'),
            el('th', { class: 'col-outcome' }, 'Result'),
            el('th', { class: 'col-duration' }, 'Took'),
            el('th', { class: 'col-command' }, 'Command'),
            el('th', { class: 'col-view' }),
          ),
        ),
        el('tbody', { id: 'run-rows' }, rows),
      ),
    ),
  ];
}

/** `2 passed / 1 failed`, green and red. */
function outcomeCounts({ passed, failed }) {
  return el(
    'span',
    { class: 'outcome' },
    el('span', { class: 'pill s2xx' }, `${passed} passed`),
    ' / ',
    el('span', { class: `pill ${failed ? 's5xx' : 'neutral'}` }, `${failed} failed`),
  );
}

function renderRun({ id, report, shown }) {
  const results = report.results.map((result, i) => ({ result, shown: shown.results[i] }));
  // Failures first, so a failing run shows what broke without scrolling; each part in the order sent.
  const ordered = [...results.filter(({ result }) => !result.passed), ...results.filter(({ result }) => result.passed)];
  return [
    detailHead(
      [el('span', {}, 'Replay run'), outcomeCounts(report)],
      [
        ['Started', formatTime(report.started_at)],
        ['Took', formatMs(Date.parse(report.finished_at) - Date.parse(report.started_at))],
        ['Command', report.command.join(' ')],
        ['Not compared', report.ignored.join(', ')],
        ['Run', id],
      ],
    ),
    report.updated?.length ? updatedPanel(report.updated, shown.updated) : null,
    el(
      'div',
      { class: 'panel' },
      el(
        'table',
        { class: 'cassettes results' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { class: 'col-result' }, 'Result'),
            el('th', { class: 'col-request' }, 'Request'),
            el('th', { class: 'col-change' }, 'Status'),
            el('th', { class: 'col-change' }, 'Duration'),
            el('th', { class: 'col-links' }, 'Cassettes'),
          ),
        ),
        el(
          'tbody',
          { id: 'result-rows' },
          ordered.flatMap((entry) => resultRows(id, entry)),
        ),
      ),
    ),
  ];
}

/** A result's row, and under it what differed, when anything did. */
function resultRows(id, { result, shown }) {
  const row = el(
    'tr',
    { class: result.passed ? 'passed' : 'failed' },
    el('td', { class: 'col-result' }, el('span', { class: `verdict ${result.passed ? 'pass' : 'fail'}` }, result.passed ? 'PASS' : 'FAIL')),
    el(
      'td',
      { class: 'col-request', title: result.request },
      methodBadge(result.method),
      ' ',
      el('span', { class: 'path' }, requestTarget(result)),
      result.route ? el('span', { class: 'route' }, result.route) : null,
    ),
    el('td', { class: 'col-change' }, statusPill(result.status?.recorded), ' → ', statusPill(result.status?.replayed)),
    el('td', { class: 'col-change' }, `${formatMs(result.duration_ms?.recorded)} → ${formatMs(result.duration_ms?.replayed)}`),
    el(
      'td',
      { class: 'col-links' },
      el('a', { class: 'recorded-link', href: cassetteHash(result.file), title: result.file }, 'recorded'),
      result.replayed
        ? [' · ', el('a', { class: 'replayed-link', href: replayedHash(id, result.replayed), title: result.replayed }, 'replayed')]
        : null,
    ),
  );
  const details = [
    result.problem ? el('p', { class: 'problem' }, result.problem) : null,
    shown.failures.length ? differenceBlock(shown.failures) : null,
    result.misses.length ? missList(result.misses) : null,
    shown.allowed.length ? [el('h3', {}, 'Not counted (--allow-unused)'), differenceBlock(shown.allowed, 'allowed')] : null,
  ].filter(Boolean);
  if (!details.length) return [row];
  return [row, el('tr', { class: `result-detail ${result.passed ? 'passed' : 'failed'}` }, el('td', { colspan: 5 }, details))];
}

/** The request's path and query: `GET /price?x=1` without its method, which has a badge of its own. */
function requestTarget(result) {
  return result.request.startsWith(`${result.method} `) ? result.request.slice(result.method.length + 1) : result.request;
}

/** Differences line by line as `timetracer replay` prints them, each coloured by its kind. */
function differenceBlock(differences, extraClass) {
  return el(
    'div',
    { class: `differences${extraClass ? ` ${extraClass}` : ''}` },
    differences.flatMap(({ kind, lines }) =>
      lines.map((line) => el('div', { class: `difference k-${kind.replace(/[^a-z]/g, '-')}` }, line)),
    ),
  );
}

/** Calls the recording did not hold, each with why it missed: the nearest recorded call. */
function missList(misses) {
  return el(
    'div',
    { class: 'misses' },
    el('h3', {}, 'Missed calls'),
    el(
      'ul',
      {},
      misses.map((miss) =>
        el('li', {}, el('code', { class: 'miss-call' }, `eid ${miss.eid}: ${miss.call}`), el('div', { class: 'miss-reason' }, miss.reason)),
      ),
    ),
  );
}

/** `--update`: the cassettes recorded again before this run, and what changed in each. */
function updatedPanel(updated, shownUpdates) {
  return el(
    'section',
    { class: 'panel detail-section' },
    el(
      'h2',
      {},
      'Recorded again before this run',
      el('span', { class: 'note' }, `${updated.length} cassette${updated.length === 1 ? '' : 's'}`),
    ),
    updated.map((update, i) =>
      el(
        'div',
        { class: 'update' },
        el('a', { href: cassetteHash(update.file) }, update.file),
        el('span', { class: 'muted' }, ` (was ${update.old})`),
        shownUpdates[i]?.length ? differenceBlock(shownUpdates[i]) : el('p', { class: 'muted' }, 'The same as before.'),
      ),
    ),
  );
}
