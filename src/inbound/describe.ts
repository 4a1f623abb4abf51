/** An inbound exchange in cassette terms: request and response, redacted and encoded. */
import { headerValue, plainHeaders, sentHeaders } from '../cassette/headers.js';
import { encodeBody, type BodyPolicy } from '../cassette/body.js';
import { toErrorRecord } from '../cassette/error-record.js';
import { roundMs, type RecordedRequest, type RecordedResponse } from '../cassette/schema.js';
import type { Session } from '../context.js';
import type { InboundExchange } from './server.js';

export function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

/**
 * A request target split into path and query, taken as it came: `//v1/users` is a path, not a
 * host, and a malformed target is still a path, never an exception.
 */
export function splitUrl(url = '/'): { path: string; query: Record<string, string | string[]> } {
  const mark = url.indexOf('?');
  let path = mark < 0 ? url : url.slice(0, mark);
  // Absolute form (`GET http://host/path`), as sent to proxies.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  return { path: path || '/', query: queryObject(new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1))) };
}

export function describeRequest(exchange: InboundExchange, session: Session, policy: BodyPolicy): RecordedRequest {
  const { req } = exchange;
  const { path, query } = splitUrl(exchange.url);
  return {
    method: req.method ?? 'GET',
    path,
    route: session.route(),
    query: policy.redactor.query(query),
    headers: policy.redactor.headers(plainHeaders(req.headers)),
    body: requestBody(exchange, policy),
  };
}

export function requestBody(exchange: InboundExchange, policy: BodyPolicy): RecordedRequest['body'] {
  const { req } = exchange;
  return encodeBody(
    exchange.requestBody.result(),
    {
      contentType: req.headers['content-type'],
      contentEncoding: req.headers['content-encoding'],
    },
    policy,
  );
}

export function describeResponse(exchange: InboundExchange, session: Session, policy: BodyPolicy): RecordedResponse {
  const { res } = exchange;
  const headers = sentHeaders(res);

  const response: RecordedResponse = {
    status: res.headersSent ? res.statusCode : 0,
    duration_ms: roundMs(exchange.durationMs),
    headers: policy.redactor.headers(headers),
    body: encodeBody(
      exchange.responseBody.result(),
      {
        contentType: headerValue(headers, 'content-type'),
        contentEncoding: headerValue(headers, 'content-encoding'),
      },
      policy,
    ),
  };
  const error = exchange.thrown ?? session.error;
  if (error !== undefined) response.error = toErrorRecord(error);
  return response;
}
