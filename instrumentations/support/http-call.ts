/**
 * An outgoing HTTP call as an `http.client` event, for every HTTP client instrumentation: the
 * signature (method, normalised URL, body hash), the request and result as recorded, and the
 * response to hand back on replay.
 */
import { decodeBody, encodeBody, type BodyPolicy } from '../../src/cassette/body.js';
import type { Body, ErrorRecord, Headers, HttpClientRequest, HttpClientResult, Signature } from '../../src/cassette/schema.js';
import { headerValue } from '../../src/cassette/headers.js';
import type { Redactor } from '../../src/cassette/redact.js';
import type { CapturedBody } from '../../src/inbound/capture.js';
import type { CallOutcome } from '../../src/record/call-log.js';
import type { Lookup } from '../../src/replay/matcher.js';

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
    .map(([key, value]): [string, string] => [key, redactor.isSecret(key) ? '[REDACTED]' : value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  parsed.search = entries.length ? new URLSearchParams(entries).toString() : '';
  return parsed.toString();
}

function encodeRequestBody(request: HttpRequestSeen, policy: BodyPolicy): Body | null {
  return encodeBody(request.body, {
    contentType: headerValue(request.headers, 'content-type'),
    contentEncoding: headerValue(request.headers, 'content-encoding'),
  }, policy);
}

function signatureOf(lib: string, request: HttpRequestSeen, body: Body | null, redactor: Redactor): Signature {
  const signature: Signature = { lib, method: request.method.toUpperCase(), url: normaliseUrl(request.url, redactor) };
  if (body) signature.body_sha256 = body.sha256;
  return signature;
}

/** Record: what the event holds. Runs when the cassette is written, not during the call. */
export function describeHttpCall(lib: string, request: HttpRequestSeen, response: HttpResponseSeen | undefined, error: ErrorRecord | undefined, policy: BodyPolicy): CallOutcome {
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
      body: encodeBody(response.body, {
        contentType: headerValue(response.headers, 'content-type'),
        contentEncoding: headerValue(response.headers, 'content-encoding'),
      }, policy),
    } satisfies HttpClientResult;
  }
  if (error) outcome.error = error;
  return outcome;
}

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
}

const FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * The recorded response, ready to send. Throws TruncatedBodyError for a body not kept whole.
 * `complete` false: the response broke off mid-body live, so its recorded framing headers stay
 * and promise more than is sent.
 */
export function replayedResponse(result: HttpClientResult, complete = true): ReplayedResponse {
  const body = decodeBody(result.body);
  const headers: Array<[string, string]> = [];
  let chunked = false;
  for (const [name, value] of Object.entries(result.headers)) {
    if (name === 'transfer-encoding') chunked = /chunked/i.test(String(value));
    if (complete && FRAMING.has(name)) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.push([name, item]);
  }
  if (complete) headers.push(chunked ? ['transfer-encoding', 'chunked'] : ['content-length', String(body.length)]);
  return { status: result.status, statusText: result.status_text, headers, body, chunked };
}
