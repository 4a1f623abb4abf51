// The dashboard page: `#/` is the list of cassettes, `#/cassette/<file>` one cassette.
import { hideDetail, showDetail } from './detail.js';
import { hideList, showList, wireList } from './list.js';

function route() {
  const match = /^#\/cassette\/(.+)$/.exec(location.hash);
  let key;
  try {
    key = match ? decodeURIComponent(match[1]) : undefined;
  } catch {
    // A hand-edited address with a broken escape: show the list.
  }
  if (key === undefined) {
    hideDetail();
    showList();
  } else {
    hideList();
    showDetail(key);
  }
}

wireList();
window.addEventListener('hashchange', route);
route();
