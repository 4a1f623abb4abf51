/**
 * Whether parsed JSON is a cassette this timetracer can use: the types of the fields replay, the
 * CLI and the dashboard read (schema.ts), and a bound on nesting. A file that fails is skipped
 * with the reason; it never stops the others from loading.
 */
import type { JsonValue } from './schema.js';
import { SCHEMA_VERSION } from './schema.js';

/** Deeper nesting than any library's data needs; past it, decoding would exhaust the stack. */
export const MAX_DEPTH = 200;

type Check = (value: unknown) => string | undefined;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

const string: Check = (value) => (typeof value === 'string' ? undefined : 'is not a string');
const number: Check = (value) => (typeof value === 'number' && Number.isFinite(value) ? undefined : 'is not a number');
const optional =
  (check: Check): Check =>
  (value) =>
    value === undefined ? undefined : check(value);
const nullable =
  (check: Check): Check =>
  (value) =>
    value === null ? undefined : check(value);
const oneOf =
  (...allowed: readonly unknown[]): Check =>
  (value) =>
    allowed.includes(value) ? undefined : `is not one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;

/** A child's problem under `step` (`.method`, `[3]`): a path that goes on, or what is wrong there. */
const under = (step: string, problem: string): string => (/^[.[]/.test(problem) ? `${step}${problem}` : `${step} ${problem}`);

/** An object whose listed fields pass their checks (other fields are left alone). */
function shape(fields: Record<string, Check>): Check {
  return (value) => {
    if (!isObject(value)) return 'is not an object';
    for (const [field, check] of Object.entries(fields)) {
      const problem = check(value[field]);
      if (problem) return under(`.${field}`, problem);
    }
    return undefined;
  };
}

/** An object each of whose values passes `check`. */
function record(check: Check): Check {
  return (value) => {
    if (!isObject(value)) return 'is not an object';
    for (const [key, item] of Object.entries(value)) {
      const problem = check(item);
      if (problem) return under(`.${key}`, problem);
    }
    return undefined;
  };
}

function list(check: Check): Check {
  return (value) => {
    if (!Array.isArray(value)) return 'is not a list';
    for (const [index, item] of value.entries()) {
      const problem = check(item);
      if (problem) return under(`[${index}]`, problem);
    }
    return undefined;
  };
}

const stringOrStrings: Check = (value) =>
  typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    ? undefined
    : 'is not a string or a list of strings';
const headers = record(stringOrStrings);
const boolean: Check = (value) => (typeof value === 'boolean' ? undefined : 'is not true or false');
const bodyShape = shape({
  encoding: oneOf('json', 'utf8', 'base64'),
  truncated: optional(boolean),
  size_bytes: optional(number),
  sha256: optional(string),
  json_layout: optional(shape({ indent: string, newline: boolean })),
  content_encoding: optional(oneOf('gzip', 'deflate', 'br')),
});
/** Text and bytes (base64) are held as strings; JSON may be any value. */
const body = nullable((value) => {
  const problem = bodyShape(value);
  if (problem) return problem;
  const { encoding, data } = value as { encoding: string; data?: unknown };
  return encoding !== 'json' && typeof data !== 'string' ? '.data is not a string' : undefined;
});
const errorRecord = optional(shape({ name: string, message: string }));

const session = (kind: Check): Check =>
  shape({
    id: string,
    kind,
    recorded_at: string,
    service: optional(string),
    env: optional(string),
    framework: optional(string),
    node: optional(string),
    timetracer: optional(string),
    entry: optional(string),
    replay_of: optional(string),
    pid: optional(number),
    trace_id: optional(string),
    span_id: optional(string),
  });
const events = list(
  shape({
    eid: optional(number),
    type: string,
    start_offset_ms: optional(number),
    duration_ms: optional(number),
    signature: shape({ lib: string }),
    error: errorRecord,
    repeats: optional(number),
  }),
);

const reads = optional(
  record(
    record(
      list((value) =>
        typeof value === 'number' || typeof value === 'string' || value === null ? undefined : 'is not a number, a string or null',
      ),
    ),
  ),
);

const stats = shape({ event_counts: record(number), total_ms: number });

const requestCassette: Check = shape({
  schema_version: oneOf(SCHEMA_VERSION),
  session: session(optional(oneOf('request'))),
  request: shape({
    method: string,
    path: string,
    route: optional(nullable(string)),
    query: record(stringOrStrings),
    headers: optional(headers),
    body: optional(body),
  }),
  response: shape({ status: number, duration_ms: optional(number), headers: optional(headers), body: optional(body), error: errorRecord }),
  events,
  reads,
  // A cassette written by hand may leave them out.
  stats: optional(stats),
});

const processCassette: Check = shape({
  schema_version: oneOf(SCHEMA_VERSION),
  session: session(oneOf('process')),
  request: oneOf(null),
  response: oneOf(null),
  events,
  reads,
  stats,
});

const isProcess = (json: JsonValue): boolean => (json as { session?: { kind?: unknown } } | null)?.session?.kind === 'process';

/** Why `json` is not a usable cassette, or undefined when it is. */
export function cassetteProblem(json: JsonValue): string | undefined {
  if (depthExceeds(json, MAX_DEPTH)) return `nests deeper than ${MAX_DEPTH} levels`;
  const problem = (isProcess(json) ? processCassette : requestCassette)(json);
  return problem?.replace(/^\./, '');
}

type Fields = Record<string, JsonValue | undefined>;

/**
 * Fills in, on a cassette `cassetteProblem` passed, what it may leave out (one written by hand),
 * so that it holds every field its type in schema.ts names: no reader has to guess.
 */
export function completeCassette(json: JsonValue): void {
  const cassette = json as Fields & { session: Fields; events: Fields[]; request: Fields | null; response: Fields | null };
  for (const field of ['service', 'env', 'framework', 'node', 'timetracer']) cassette.session[field] ??= '';
  cassette.session.kind ??= 'request';
  const counts: Record<string, number> = {};
  cassette.events.forEach((event, i) => {
    event.eid ??= i + 1;
    event.start_offset_ms ??= 0;
    event.duration_ms ??= 0;
    counts[event.type as string] = (counts[event.type as string] ?? 0) + 1;
  });
  const { request, response } = cassette;
  if (request && response) {
    request.route ??= null;
    request.headers ??= {};
    request.body = completeBody(request.body);
    response.duration_ms ??= 0;
    response.headers ??= {};
    response.body = completeBody(response.body);
    cassette.stats ??= { event_counts: counts, total_ms: response.duration_ms };
  }
}

function completeBody(body: JsonValue | undefined): JsonValue {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  body.truncated ??= false;
  body.size_bytes ??=
    typeof body.data === 'string' && body.encoding !== 'json'
      ? Buffer.byteLength(body.data, body.encoding === 'base64' ? 'base64' : 'utf8')
      : 0;
  body.sha256 ??= '';
  return body;
}

/** Whether `json` nests deeper than `limit`, walked without recursion. */
function depthExceeds(json: JsonValue, limit: number): boolean {
  const stack: Array<[JsonValue, number]> = [[json, 0]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= limit) return true;
    for (const item of Array.isArray(value) ? value : Object.values(value)) stack.push([item, depth + 1]);
  }
  return false;
}
