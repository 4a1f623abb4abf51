/** Every instrumentation timetracer ships. Adding a library means adding its file here. */
import type { Instrumentation } from '../src/instrumentation.js';
import fetch from './fetch.js';
import http from './http.js';

export const instrumentations: readonly Instrumentation[] = [http, fetch];
