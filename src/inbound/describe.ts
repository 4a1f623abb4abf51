/** An inbound exchange in cassette terms: request and response, redacted and encoded. */
import type { OutgoingMessage } from 'node:http';
import { appendHeader, headerValue, plainHeaders } from '../cassette/headers.js';
import { encodeBody, type BodyPolicy } from '../cassette/body.js';
import { toErrorRecord } from '../cassette/error-record.js';
import type { Headers, RecordedRequest, RecordedResponse } from '../cassette/schema.js';
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

export function splitUrl(url: string | undefined): { path: string; query: Record<string, string | string[]> } {
  const parsed = new URL(url ?? '/', 'http://request.invalid');
  return { path: parsed.pathname, query: queryObject(parsed.searchParams) };
}

/**
 * The headers that actually went out, of a server response or a client request. `getHeaders()`
 * misses those passed straight to `writeHead` (Fastify does that) and those Node adds itself
 * (transfer-encoding, connection), so read the serialised header block when there is one.
 */
export function sentHeaders(message: OutgoingMessage): Headers {
  const block = (message as OutgoingMessage & { _header?: unknown })._header;
  if (typeof block !== 'string' || block === '') return plainHeaders(message.getHeaders());
  const out: Headers = {};
  for (const line of block.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) appendHeader(out, line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return out;
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
  return encodeBody(exchange.requestBody.result(), {
    contentType: req.headers['content-type'],
    contentEncoding: req.headers['content-encoding'],
  }, policy);
}

export function describeResponse(exchange: InboundExchange, session: Session, policy: BodyPolicy): RecordedResponse {
  const { res } = exchange;
  const headers = sentHeaders(res);

  const response: RecordedResponse = {
    status: res.headersSent ? res.statusCode : 0,
    duration_ms: Math.round(exchange.durationMs * 1000) / 1000,
    headers: policy.redactor.headers(headers),
    body: encodeBody(exchange.responseBody.result(), {
      contentType: headerValue(headers, 'content-type'),
      contentEncoding: headerValue(headers, 'content-encoding'),
    }, policy),
  };
  const error = exchange.thrown ?? session.error;
  if (error !== undefined) response.error = toErrorRecord(error);
  return response;
}
