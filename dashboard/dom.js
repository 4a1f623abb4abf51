// Building the page from recorded data. Recorded text only ever reaches the DOM as text nodes
// and attribute values (never as markup), so a path or body holding `<script>` shows as written.

/**
 * `el('td', { class: 'path', title: file }, text, child)`: an element with attributes (names are
 * the code's own; `on...` adds a listener) and children (strings become text nodes).
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

/** Fetches an API URL; a failure becomes an Error with the server's own message. */
export async function getJson(url, signal) {
  const response = await fetch(url, { signal, headers: { accept: 'application/json' } });
  const value = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(value.error ?? `${response.status} ${response.statusText}`);
  return value;
}

export function formatMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms === 0) return '0 ms';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(ms >= 1 ? 1 : 2)} ms`;
}

export function formatBytes(bytes) {
  if (typeof bytes !== 'number') return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatCount(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '–';
}

/** `2026-11-25 20:11:13`, in the viewer's time zone. */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso ?? '');
  const two = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** The CSS class for an HTTP status: s2xx ... s5xx, or s0 when no response was sent. */
export function statusClass(status) {
  return typeof status === 'number' && status >= 100 ? `s${Math.floor(status / 100)}xx` : 's0';
}

export function statusPill(status) {
  return el('span', { class: `pill ${statusClass(status)}` }, typeof status === 'number' && status > 0 ? String(status) : 'none');
}

export function methodBadge(method) {
  const name = String(method ?? '?');
  return el('span', { class: `method m-${name.toLowerCase().replace(/[^a-z]/g, '')}` }, name);
}

/** `http.client ×2`, `db.query ×3` chips; `none` when the request called nothing. */
export function dependencyChips(counts) {
  const entries = Object.entries(counts ?? {}).filter(([, n]) => n > 0);
  if (!entries.length) return el('span', { class: 'muted' }, 'none');
  return el(
    'span',
    { class: 'chips' },
    entries.map(([type, n]) => el('span', { class: `chip t-${type.replace(/[^a-z]/g, '')}` }, `${type} ×${n}`)),
  );
}

/** The line under the page that says what went wrong talking to the server; undefined clears it. */
export function showProblem(message) {
  const problem = document.getElementById('problem');
  problem.hidden = !message;
  problem.textContent = message ?? '';
}

/**
 * Fetches for one view where only the latest request counts: an answer (or failure) to a fetch
 * that a newer fetch or `cancel` overtook is dropped, so a slow one never overwrites a newer one.
 */
export function latestOnly() {
  let latest = 0;
  return {
    /** `done(answer)` or `failed(error)`, unless overtaken; an error thrown by `done` goes to `failed`. */
    async fetch(url, done, failed) {
      const mine = ++latest;
      try {
        const answer = await getJson(url);
        if (mine === latest) done(answer);
      } catch (error) {
        if (mine === latest) failed(error);
      }
    },
    cancel() {
      latest++;
    },
  };
}

/**
 * Shows `view` filled with `render(answer)` for the API's answer at `url`, under `lead()` (a link
 * back: made anew each time, since a node is in one place only); `failure` starts the line shown
 * when it could not be loaded.
 */
export function fillView(view, latest, url, { render, failure, lead = () => [] }) {
  view.hidden = false;
  view.replaceChildren(...lead(), el('p', { class: 'muted' }, 'Loading…'));
  return latest.fetch(
    url,
    (answer) => {
      const content = render(answer).filter(Boolean);
      showProblem(undefined);
      view.replaceChildren(...lead(), ...content);
      window.scrollTo(0, 0);
    },
    (error) => view.replaceChildren(...lead(), el('p', { class: 'problem' }, `${failure}: ${error.message}`)),
  );
}

/** Typing settles this long before a search box's text goes out. */
const SEARCH_DELAY_MS = 150;

/** Calls `search(text)` with a search box's trimmed text once typing in it settles. */
export function onSearchInput(box, search) {
  let timer;
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(box.value.trim()), SEARCH_DELAY_MS);
  });
}
