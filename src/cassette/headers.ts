/** Header objects as cassettes hold them: lower-case names, string values, repeats as arrays. */
import type { OutgoingMessage } from 'node:http';
import type { Headers } from './schema.js';

/** Node's header objects (values may be numbers or arrays) as cassette headers. */
export function plainHeaders(headers: Readonly<Record<string, unknown>>): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/** The first value of a header. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Adds a value to a header object, turning repeats into arrays. */
export function appendHeader(headers: Headers, name: string, value: string): void {
  const key = name.toLowerCase();
  const existing = headers[key];
  headers[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
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
