/**
 * What differs between two cassettes of a request: the request line, the status, the response
 * headers that matter, the response body field by field, the handler's error, and the dependency
 * calls, matched the way replay matches them (type and signature, the n-th occurrence with the
 * n-th). Kept apart from the CLI so that a replay run can compare its responses with the recorded
 * ones the same way `timetracer diff` does.
 */
import { encodeValue } from '../cassette/codec.js';
import { valueDifferences, type ValueDifference } from '../cassette/differences.js';
import { unlinkSecrets } from '../cassette/redact.js';
import type { Body, Cassette, DependencyEvent, ErrorRecord, JsonObject, JsonValue, RecordedRequest } from '../cassette/schema.js';
import { Matcher } from '../replay/matcher.js';
import { describeCall } from '../replay/miss.js';

export type Difference =
  | { kind: 'request' | 'status' | 'header' | 'body' | 'error'; path: string; a?: JsonValue; b?: JsonValue }
  /** A call made in only one of the two: `added` is in b only, `removed` in a only. */
  | { kind: 'call.added' | 'call.removed'; call: string; eid: number }
  /** The same call (type and signature) with a different result or error. */
  | { kind: 'call.changed'; call: string; eid_a: number; eid_b: number; changes: ValueDifference[] };

export interface CompareOptions {
  /**
   * Fields left out of the comparison: a name (`updated_at`, any depth, any case) or a path as
   * differences are reported (`body.items[0].id`; `result.body.id` within calls).
   */
  ignore?: readonly string[];
}

/**
 * Headers that differ between two runs of the same request without saying anything about it:
 * clocks, lengths (the body says more), connection handling, and per-request ids.
 */
const VOLATILE_HEADERS = new Set([
  'date',
  'etag',
  'last-modified',
  'expires',
  'age',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'server-timing',
  'x-response-time',
  'x-runtime',
  'traceparent',
  'tracestate',
  'cf-ray',
]);
const REQUEST_ID_HEADER = /(^|-)(request|correlation|trace|span)-?id$/;

function isVolatileHeaderName(name: string): boolean {
  return VOLATILE_HEADERS.has(name) || REQUEST_ID_HEADER.test(name);
}

export function compareCassettes(a: Cassette, b: Cassette, options: CompareOptions = {}): Difference[] {
  const skip = skipper(options.ignore ?? []);
  const responses = valueDifferences(exchangeView(a), exchangeView(b), '', skip).map((d): Difference => ({ kind: kindOf(d.path), ...d }));
  return [...responses, ...callDifferences(a.events, b.events, skip)];
}

/** `GET /search?q=shoes`: the request as one line. */
export function requestLine(request: Pick<RecordedRequest, 'method' | 'path' | 'query'>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) query.append(key, item);
  }
  const search = query.toString();
  return `${request.method} ${request.path}${search ? `?${search}` : ''}`;
}

/** Whether the header at `path` (`headers.date`, `result.headers.date`) is one that always changes. */
function isVolatileHeader(path: string, key: string): boolean {
  return (path === `headers.${key}` || path.endsWith(`.headers.${key}`)) && isVolatileHeaderName(key.toLowerCase());
}

function skipper(ignore: readonly string[]): (path: string, key: string | number) => boolean {
  const entries = ignore.map((entry) => entry.trim()).filter(Boolean);
  const paths = new Set(entries.filter((entry) => /[.[]/.test(entry)));
  const names = new Set(entries.filter((entry) => !paths.has(entry)).map((name) => name.toLowerCase()));
  return (path, key) => paths.has(path) || (typeof key === 'string' && (names.has(key.toLowerCase()) || isVolatileHeader(path, key)));
}

function kindOf(path: string): 'request' | 'status' | 'header' | 'body' | 'error' {
  const top = /^[^.[]*/.exec(path)![0];
  return top === 'headers' ? 'header' : top === 'request' || top === 'status' || top === 'error' ? top : 'body';
}

/** The parts of a cassette's exchange that are compared, each under the path differences are reported with. */
function exchangeView(cassette: Cassette): JsonObject {
  const { request, response } = cassette;
  const view: JsonObject = {
    request: requestLine(request),
    status: response.status,
    headers: unlinked(encodeValue(response.headers)),
    body: unlinked(bodiesAsValues(encodeValue(response.body))),
  };
  if (response.error) view.error = errorView(response.error);
  return view;
}

/** Secrets as plain `[REDACTED]`: two recording processes link the same secret differently. */
function unlinked(value: JsonValue): JsonValue {
  if (typeof value === 'string') return unlinkSecrets(value);
  if (Array.isArray(value)) return value.map(unlinked);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unlinked(item)]));
}

/**
 * Bodies (anywhere in a value as written: the response's, a call result's) as what they hold:
 * JSON as its value, so fields are compared one by one, and reported as `body.name` rather than
 * `body.data.name`; text as text; bytes, and bodies kept only in part, by size and hash, since
 * what is stored is not all of them. Size and hash of a whole body say nothing its value does not.
 */
function bodiesAsValues(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(bodiesAsValues);
  if (value === null || typeof value !== 'object') return value;
  if (isBody(value)) {
    if (!value.truncated && value.encoding !== 'base64') return value.data;
    return `${value.truncated ? 'truncated' : 'binary'} body of ${value.size_bytes} bytes, sha256 ${value.sha256.slice(0, 12)}`;
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, bodiesAsValues(item)]));
}

function isBody(value: JsonObject): value is JsonObject & Body {
  return (
    ['json', 'utf8', 'base64'].includes(value.encoding as string) &&
    'data' in value &&
    typeof value.sha256 === 'string' &&
    typeof value.size_bytes === 'number'
  );
}

/** An error without its stack: where the code ran differs from run to run, what it said does not. */
function errorView(error: ErrorRecord): JsonValue {
  const { stack: _stack, ...rest } = error;
  return encodeValue(rest);
}

function outcomeView(event: DependencyEvent): JsonObject {
  const view: JsonObject = {};
  if (event.result !== undefined) view.result = unlinked(bodiesAsValues(encodeValue(event.result)));
  if (event.error) view.error = errorView(event.error);
  return view;
}

function callDifferences(
  a: readonly DependencyEvent[],
  b: readonly DependencyEvent[],
  skip: (path: string, key: string | number) => boolean,
): Difference[] {
  const matcher = new Matcher(a);
  const out: Difference[] = [];
  for (const event of b) {
    const call = describeCall(event.type, event.signature);
    const twin = matcher.take(event);
    if (!twin) {
      out.push({ kind: 'call.added', call, eid: event.eid });
      continue;
    }
    const changes = valueDifferences(outcomeView(twin), outcomeView(event), '', skip);
    if (changes.length) out.push({ kind: 'call.changed', call, eid_a: twin.eid, eid_b: event.eid, changes });
  }
  for (const event of matcher.unused()) out.push({ kind: 'call.removed', call: describeCall(event.type, event.signature), eid: event.eid });
  return out;
}
