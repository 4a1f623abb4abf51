/**
 * An outgoing HTTP call as an `http.client` event, for every HTTP client instrumentation: the
 * signature (method, normalised URL, body hash), the request and result as recorded, and the
 * response to hand back on replay.
 */
import {
  decodeBody,
  describeError,
  encodeBody,
  fromErrorRecord,
  headerValue,
  REDACTED,
  warn,
  type Body,
  type BodyPolicy,
  type CallOutcome,
  type CapturedBody,
  type DependencyEvent,
  type ErrorRecord,
  type Headers,
  type HttpClientRequest,
  type HttpClientResult,
  type Lookup,
  type RecordedCall,
  type Redactor,
  type Signature,
} from '../../src/plugin.js';

export interface HttpRequestSeen {
  method: string;
  url: string;
  headers: Headers;
  body: CapturedBody;
}

export interface HttpResponseSeen {
  status: number;
  statusText: string;
  headers: Headers;
  body: CapturedBody;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * The URL as matching sees it: scheme and host lower-cased, default port and fragment dropped,
 * query parameters sorted (their order never matters to matching), secret ones redacted.
 */
export function normaliseUrl(url: string, redactor: Redactor): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  parsed.hash = '';
  if (DEFAULT_PORTS[parsed.protocol] === parsed.port) parsed.port = '';
  const entries = [...parsed.searchParams.entries()]
    .map(([key, value]): [string, string] => [key, redactor.isSecretField(key) ? REDACTED : value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  parsed.search = entries.length ? new URLSearchParams(entries).toString() : '';
  return parsed.toString();
}

function encodeRequestBody(request: HttpRequestSeen, policy: BodyPolicy): Body | null {
  return encodeBody(
    request.body,
    {
      contentType: headerValue(request.headers, 'content-type'),
      contentEncoding: headerValue(request.headers, 'content-encoding'),
    },
    policy,
  );
}

function signatureOf(lib: string, request: HttpRequestSeen, body: Body | null, redactor: Redactor): Signature {
  const signature: Signature = { lib, method: request.method.toUpperCase(), url: normaliseUrl(request.url, redactor) };
  if (body) signature.body_sha256 = body.sha256;
  return signature;
}

/** Record: what the event holds. Runs when the cassette is written, not during the call. */
export function describeHttpCall(
  lib: string,
  request: HttpRequestSeen,
  response: HttpResponseSeen | undefined,
  error: ErrorRecord | undefined,
  policy: BodyPolicy,
): CallOutcome {
  const body = encodeRequestBody(request, policy);
  const outcome: CallOutcome = {
    signature: signatureOf(lib, request, body, policy.redactor),
    request: { headers: policy.redactor.headers(request.headers), body } satisfies HttpClientRequest,
  };
  if (response) {
    outcome.result = {
      status: response.status,
      status_text: response.statusText,
      headers: policy.redactor.headers(response.headers),
      body: encodeBody(
        response.body,
        {
          contentType: headerValue(response.headers, 'content-type'),
          contentEncoding: headerValue(response.headers, 'content-encoding'),
        },
        policy,
      ),
    } satisfies HttpClientResult;
  }
  if (error) outcome.error = error;
  return outcome;
}

/**
 * A call whose response the app had not read to its end when the cassette was written. Replay
 * sends what had come and holds the rest back, as the app saw it live.
 */
export const UNREAD_RESPONSE: ErrorRecord = {
  name: 'UnreadResponse',
  message: 'the app had not read the response body to its end when the cassette was written',
  origin: 'app',
};

/** Replay: the lookup for a live call. */
export function httpLookup(lib: string, request: HttpRequestSeen, policy: BodyPolicy): Lookup {
  const body = encodeRequestBody(request, policy);
  return { type: 'http.client', signature: signatureOf(lib, request, body, policy.redactor), body };
}

export interface ReplayedResponse {
  status: number;
  statusText: string;
  /** Header pairs in recorded order, with framing headers made true to the body sent. */
  headers: Array<[string, string]>;
  body: Buffer;
  chunked: boolean;
  /** False when the response broke off mid-body live: it is sent as far as it went. */
  complete: boolean;
}

/** How a replayed call ends once its recorded response (if any) has been handed over. */
export type ReplayEnd =
  | { kind: 'complete' }
  /** As live: refused, reset, a recording that cannot be served. */
  | { kind: 'fail'; error: Error }
  /** The app ended the call itself live (timeout, abort): it stays open so the app does so again. */
  | { kind: 'hold' };

export interface RecordedReply {
  response: ReplayedResponse | undefined;
  end: ReplayEnd;
}

/** What to hand back for a recorded `http.client` event, for a call made with `method`. */
export function recordedReply(event: DependencyEvent, method: string): RecordedReply {
  const result = event.result as HttpClientResult | undefined;
  const end: ReplayEnd = !event.error
    ? { kind: 'complete' }
    : event.error.origin === 'app'
      ? { kind: 'hold' }
      : { kind: 'fail', error: fromErrorRecord(event.error) };
  if (!result) {
    if (end.kind === 'complete')
      return {
        response: undefined,
        end: { kind: 'fail', error: new Error('timetracer: the recorded call has neither a response nor an error') },
      };
    return { response: undefined, end };
  }
  try {
    return { response: replayedResponse(result, method, end.kind === 'complete'), end };
  } catch (problem) {
    return { response: undefined, end: { kind: 'fail', error: asError(problem) } };
  }
}

const FRAMING = new Set(['content-length', 'transfer-encoding']);

/** Responses that carry no body whatever their headers say: their recorded headers stand as they are. */
function isBodiless(method: string, status: number): boolean {
  return method.toUpperCase() === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * The recorded response, ready to send. Throws TruncatedBodyError for a body not kept whole.
 * `complete` false: the response broke off mid-body live, so its recorded framing headers stay
 * and promise more than is sent.
 */
/**
 * A recording served again and again (a suite, a load test) is made into its response once, per
 * method (a HEAD has no body); each call gets a copy of the body, which the app may change.
 */
const replayedResponses = new WeakMap<HttpClientResult, { method: string; response: ReplayedResponse }>();

function replayedResponse(result: HttpClientResult, method: string, complete: boolean): ReplayedResponse {
  if (!complete) return responseOf(result, method, complete);
  let made = replayedResponses.get(result);
  if (made?.method !== method) {
    made = { method, response: responseOf(result, method, complete) };
    replayedResponses.set(result, made);
  }
  return { ...made.response, body: Buffer.from(made.response.body) };
}

function responseOf(result: HttpClientResult, method: string, complete: boolean): ReplayedResponse {
  const bodiless = isBodiless(method, result.status);
  const body = bodiless ? Buffer.alloc(0) : decodeBody(result.body, { asFarAsKept: !complete });
  const headers: Array<[string, string]> = [];
  let chunked = false;
  for (const [name, value] of Object.entries(result.headers)) {
    if (name === 'transfer-encoding') chunked = !bodiless && /chunked/i.test(String(value));
    if (complete && !bodiless && FRAMING.has(name)) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.push([name, item]);
  }
  if (complete && !bodiless) headers.push(chunked ? ['transfer-encoding', 'chunked'] : ['content-length', String(body.length)]);
  return { status: result.status, statusText: result.status_text, headers, body, chunked, complete };
}

const reportedFaults = new Set<string>();

/**
 * A fault of timetracer's own while following a call: one line per distinct fault (not one per
 * call), and the error to end the call with where it cannot simply carry on.
 */
export function reportFault(action: 'record' | 'replay', call: string, fault: unknown): Error {
  const cause = describeError(fault);
  // The call's URL without its query: a query may hold a secret, and this line is not redacted.
  call = call.replace(/\?\S*/, '');
  if (!reportedFaults.has(`${action} ${cause}`)) {
    reportedFaults.add(`${action} ${cause}`);
    warn(
      `could not ${action} ${call} (${cause}); ${action === 'record' ? 'the call goes on unrecorded' : 'the call fails with this error'}`,
    );
  }
  return asError(fault);
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Record: a call timetracer could not follow. The app's call goes on; the cassette keeps the failure as its event. */
export function abandonCall(call: RecordedCall, label: string, fault: unknown): void {
  reportFault('record', label, fault);
  call.end(() => {
    throw fault;
  });
}
