/** `timetracer list`: the recorded requests in a directory, newest first. */
import fs from 'node:fs';
import { CassetteCatalog, statusMatcher } from '../../catalog/catalog.js';
import type { CassetteSummary } from '../../catalog/summaries.js';
import { CliError, defineCommand, integerOption, parseDuration } from '../command.js';
import { formatCounts } from '../../log.js';

export default defineCommand({
  name: 'list',
  summary: 'list recorded requests (and process cassettes), newest first',
  usage: `[--dir D] [--method M] [--status 5xx|404|error] [--path TEXT] [--trace ID] [--since 1h|2026-11-01] [--limit N] [--json]

Options:
  --dir D        the cassette directory (default: TIMETRACER_DIR or ./cassettes)
  --method M     only this HTTP method
  --status S     only these statuses: 5xx, 404, 2xx, error (5xx, no response, or a handler error)
  --path TEXT    only requests whose path contains TEXT
  --trace ID     only requests of this OpenTelemetry trace (the trace id Jaeger or Tempo shows)
  --since T      only requests recorded in the last T (30m, 1h, 7d) or since a date (2026-11-01)
  --limit N      at most N rows (default 50)
  --json         print a JSON array of cassette summaries instead of a table`,
  options: {
    dir: { type: 'string' },
    method: { type: 'string' },
    status: { type: 'string' },
    path: { type: 'string' },
    trace: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  run(values) {
    const catalog = openCatalog(values.dir as string | undefined);
    const status = values.status as string | undefined;
    if (status && !statusMatcher(status)) throw new CliError(`--status must be like 5xx, 404 or error, not ${JSON.stringify(status)}`);
    const trace = values.trace as string | undefined;
    if (trace !== undefined && !/^[0-9a-f]{1,32}$/i.test(trace.trim()))
      throw new CliError(`--trace must be a trace id (up to 32 hex digits), not ${JSON.stringify(trace)}`);
    const page = catalog.query({
      trace,
      method: values.method as string | undefined,
      status,
      text: values.path as string | undefined,
      since: values.since === undefined ? undefined : parseSince(values.since as string),
      limit: integerOption(values.limit, 'limit', { min: 1, fallback: 50 }),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(page.items, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(summaryTable(page.items));
    process.stdout.write(`Showing ${page.items.length} of ${page.matched} matching (${page.total} cassettes in ${catalog.dir})\n`);
    for (const [file, problem] of catalog.unreadable) process.stderr.write(`timetracer list: skipped ${file}: ${problem}\n`);
    return 0;
  },
});

/** The directory's catalog, refreshed; a missing directory is a clear error. */
export function openCatalog(dir: string | undefined): CassetteCatalog {
  const root = dir ?? process.env.TIMETRACER_DIR ?? './cassettes';
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new CliError(`no cassette directory at ${root}`);
  }
  if (!stat.isDirectory()) throw new CliError(`${root} is not a directory`);
  const catalog = new CassetteCatalog(root);
  catalog.refresh();
  return catalog;
}

function parseSince(text: string): Date {
  const duration = parseDuration(text);
  if (duration !== undefined) return new Date(Date.now() - duration);
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new CliError(`--since must be a duration (30m, 1h, 7d) or a date (2026-11-01), not ${JSON.stringify(text)}`);
  return date;
}

export function summaryTable(items: readonly CassetteSummary[]): string {
  const rows = items.map((s) => [
    s.recorded_at.replace('T', ' ').slice(0, 19),
    s.method,
    s.kind === 'process' ? '(calls outside requests)' : s.path,
    s.kind === 'process' ? '-' : s.status === 0 ? 'none' : String(s.status),
    `${Math.round(s.duration_ms)}ms`,
    formatCounts(s.events),
    s.file,
  ]);
  const header = ['TIME', 'METHOD', 'PATH', 'STATUS', 'DURATION', 'DEPS', 'FILE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`).join('');
}
