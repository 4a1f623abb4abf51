/** Which cassettes are failures: marked [ERROR] when recorded, kept by TIMETRACER_ERRORS_ONLY, counted as errors by the dashboard. */
import type { Cassette } from './schema.js';

/** A 5xx, no response at all, or an error the handler raised. */
export function isFailure(cassette: Pick<Cassette, 'response'>): boolean {
  return cassette.response.status >= 500 || cassette.response.status === 0 || cassette.response.error !== undefined;
}
