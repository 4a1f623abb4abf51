/**
 * The HTTP transports: node:http and node:https, the global fetch, and the undici package. They
 * share one call model (call.ts: what a request is matched by and what its response is recorded
 * as), undici's dispatch (dispatch.ts, for fetch and undici) and the socket replay answers
 * node:http on (replay-socket.ts).
 */
import type { Instrumentation } from '../../src/plugin.js';
import fetch from './fetch.js';
import http from './node-http.js';
import undici from './undici.js';

export const httpTransports: readonly Instrumentation[] = [http, fetch, undici];
