// The page's addresses (the part after #), one place for every view that links to another.

/** The list of cassettes; `filters` ({ q, method, status }) fills its search and filters. */
export function listHash(filters) {
  const given = Object.entries(filters ?? {}).filter(([, value]) => value);
  return given.length ? `#/?${new URLSearchParams(given)}` : '#/';
}

/** A recorded cassette, by its file relative to the directory. */
export function cassetteHash(file) {
  return `#/cassette/${encodeURIComponent(file)}`;
}

export function runHash(id) {
  return `#/runs/${encodeURIComponent(id)}`;
}

/** A cassette a run replayed, by its file relative to the run's folder. */
export function replayedHash(id, file) {
  return `${runHash(id)}/replayed/${encodeURIComponent(file)}`;
}
