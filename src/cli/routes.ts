/**
 * Recorded requests by route: how many, how many failed, how long they took (p50, p95), which
 * calls each made on average, and how they spread over the recording's time. Grouped by method
 * and route template (a framework's `/users/:id`), else the path; process cassettes are not
 * requests and are left out.
 */
import type { EventType } from '../cassette/schema.js';
import type { CassetteSummary } from '../catalog/summaries.js';

/** How many slices of time the recordings' span is cut into for the charts. */
export const TIME_BUCKETS = 24;

/** Requests and failed requests in each time slice, oldest first. */
export interface Timeline {
  requests: number[];
  errors: number[];
}

export interface RouteStats {
  /** `GET /users/:id`: the method and the route. */
  key: string;
  method: string;
  /** The route template, else the path. */
  route: string;
  count: number;
  /** Requests that failed: 5xx, no response, or an error the handler raised. */
  errors: number;
  error_rate: number;
  p50_ms: number;
  p95_ms: number;
  /** Dependency calls of each type per request, on average. */
  calls_per_request: Partial<Record<EventType, number>>;
  timeline: Timeline;
}

export interface RouteReport {
  requests: number;
  errors: number;
  /** The span of the requests' recording times, cut into `timeline`'s slices of `bucket_ms`. */
  span: { from: string | null; to: string | null; bucket_ms: number };
  timeline: Timeline;
  /** Most requests first. */
  routes: RouteStats[];
}

interface RouteGroup {
  method: string;
  route: string;
  requests: CassetteSummary[];
}

export function routeReport(summaries: Iterable<CassetteSummary>, buckets = TIME_BUCKETS): RouteReport {
  const groups = new Map<string, RouteGroup>();
  const requests: CassetteSummary[] = [];
  for (const summary of summaries) {
    if (summary.kind !== 'request') continue;
    requests.push(summary);
    const route = summary.route ?? summary.path;
    const key = `${summary.method} ${route}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { method: summary.method, route, requests: [] }));
    group.requests.push(summary);
  }
  const slicer = timeSlicer(requests, buckets);
  const routes = [...groups].map(([key, group]) => routeStats(key, group, slicer));
  routes.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requests: requests.length,
    errors: requests.filter((summary) => summary.failed).length,
    span: slicer.span,
    timeline: slicer.timeline(requests),
    routes,
  };
}

function routeStats(key: string, { method, route, requests }: RouteGroup, slicer: TimeSlicer): RouteStats {
  const count = requests.length;
  const errors = requests.filter((summary) => summary.failed).length;
  const durations = requests.map((summary) => summary.duration_ms).sort((a, b) => a - b);
  const calls: Partial<Record<EventType, number>> = {};
  for (const summary of requests) {
    for (const [type, n] of Object.entries(summary.events) as Array<[EventType, number]>) calls[type] = (calls[type] ?? 0) + n;
  }
  for (const type of Object.keys(calls) as EventType[]) calls[type] = calls[type]! / count;
  return {
    key,
    method,
    route,
    count,
    errors,
    error_rate: errors / count,
    p50_ms: percentile(durations, 50),
    p95_ms: percentile(durations, 95),
    calls_per_request: calls,
    timeline: slicer.timeline(requests),
  };
}

/** The nearest-rank percentile of values sorted ascending: the smallest value with p% at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface TimeSlicer {
  span: RouteReport['span'];
  timeline(requests: readonly CassetteSummary[]): Timeline;
}

/**
 * Slices of the span from the first recording to the last, the same for every route so their
 * charts line up; one slice when all were recorded at once. A time that does not parse is left out.
 */
function timeSlicer(requests: readonly CassetteSummary[], buckets: number): TimeSlicer {
  const times = requests.map((summary) => Date.parse(summary.recorded_at)).filter(Number.isFinite);
  if (!times.length) return { span: { from: null, to: null, bucket_ms: 0 }, timeline: () => ({ requests: [], errors: [] }) };
  // Not Math.min(...times): a directory may hold more cassettes than a call takes arguments.
  const from = times.reduce((a, b) => Math.min(a, b));
  const to = times.reduce((a, b) => Math.max(a, b));
  const slices = to > from ? buckets : 1;
  const width = (to - from) / slices;
  return {
    span: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), bucket_ms: width },
    timeline(group) {
      const timeline: Timeline = { requests: new Array<number>(slices).fill(0), errors: new Array<number>(slices).fill(0) };
      for (const summary of group) {
        const time = Date.parse(summary.recorded_at);
        if (!Number.isFinite(time)) continue;
        const slice = width ? Math.min(slices - 1, Math.floor((time - from) / width)) : 0;
        timeline.requests[slice]!++;
        if (summary.failed) timeline.errors[slice]!++;
      }
      return timeline;
    },
  };
}
