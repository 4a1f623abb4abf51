// The dashboard page, one view at a time by the address after #: `#/` the list of cassettes
// (`#/?q=&method=&status=&trace=` with those filters), `#/cassette/<file>` one cassette, `#/routes`
// requests by route, `#/runs` the replay runs, `#/runs/<id>` one run, and
// `#/runs/<id>/replayed/<file>` a cassette that run replayed.
import { hideDetail, showCassette, showReplayed } from './detail.js';
import { hideList, showList, wireList } from './list.js';
import { hideRoutes, showRoutes, wireRoutes } from './routes.js';
import { hideRuns, showRun, showRuns } from './runs.js';

const VIEWS = [
  { address: /^#\/cassette\/(.+)$/, tab: 'requests', show: showCassette },
  { address: /^#\/runs\/([^/]+)\/replayed\/(.+)$/, tab: 'runs', show: showReplayed },
  { address: /^#\/runs\/([^/]+)$/, tab: 'runs', show: showRun },
  { address: /^#\/runs\/?$/, tab: 'runs', show: showRuns },
  { address: /^#\/routes\/?$/, tab: 'routes', show: showRoutes },
];
const HIDE = [hideList, hideDetail, hideRoutes, hideRuns];

function route() {
  for (const view of VIEWS) {
    const match = view.address.exec(location.hash);
    if (!match) continue;
    let parts;
    try {
      parts = match.slice(1).map((part) => decodeURIComponent(part));
    } catch {
      // A hand-edited address with a broken escape: show the list.
      break;
    }
    select(view.tab, () => view.show(...parts));
    return;
  }
  const filters = /^#\/\?(.*)$/.exec(location.hash);
  select('requests', () => showList(filters ? new URLSearchParams(filters[1]) : undefined));
}

function select(tab, show) {
  for (const hide of HIDE) hide();
  for (const link of document.querySelectorAll('.tabs .tab')) link.classList.toggle('active', link.id === `tab-${tab}`);
  show();
}

wireList();
wireRoutes();
window.addEventListener('hashchange', route);
route();
