/**
 * Other agents in the same process: OpenTelemetry's SDK and auto-instrumentations, dd-trace.
 * The trace a request runs in is read through `@opentelemetry/api` (an optional peer dependency),
 * so a cassette is found from a trace seen in Jaeger or Tempo. What such an agent sends for itself
 * (spans to its collector, its configuration polls) is not the app's traffic: it is neither
 * recorded nor served from cassettes, and strict replay lets it through.
 *
 * The API is loaded only once something has registered with OpenTelemetry's global (an SDK, an
 * agent): an app without OpenTelemetry pays a property read.
 */
import { createRequire } from 'node:module';
import type { TraceIds } from './cassette/schema.js';

interface SpanContext {
  traceId: string;
  spanId: string;
}

/** The part of `@opentelemetry/api` read here. */
interface OpenTelemetryApi {
  trace: { getActiveSpan(): { spanContext(): SpanContext } | undefined };
  context: { active(): { getValue(key: symbol): unknown } };
  isSpanContextValid(spanContext: SpanContext): boolean;
}

/**
 * Where these agents' code lives: what it reads from the clock and randomness (span ids, timings)
 * is theirs, not the app's, and stays live in replay.
 */
export const OBSERVABILITY_AGENT_CODE: readonly string[] = [
  '/node_modules/@opentelemetry/',
  '/node_modules/dd-trace/',
  '/node_modules/@datadog/',
];

/** Where every copy of the API (major 1) keeps what was registered with it. */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');
/** The context key OpenTelemetry's exporters set while they send (`suppressTracing` of @opentelemetry/core). */
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
/** dd-trace's one way out to its agent, which its trace, configuration and telemetry requests all take. */
const DD_TRACE_REQUEST = '/dd-trace/packages/dd-trace/src/exporters/common/request.js';

const require = createRequire(import.meta.url);
/** undefined: not looked for yet; null: not installed (or not loadable). */
let api: OpenTelemetryApi | null | undefined;

/** The API, once something registered with OpenTelemetry; undefined before, or without the package. */
function openTelemetry(): OpenTelemetryApi | undefined {
  if (!(globalThis as Record<symbol, unknown>)[API_GLOBAL]) return undefined;
  if (api === undefined) {
    try {
      api = require('@opentelemetry/api') as OpenTelemetryApi;
    } catch {
      api = null;
    }
  }
  return api ?? undefined;
}

/** The ids of the span active here, if OpenTelemetry is in use and a valid span is active. */
export function activeTraceIds(): TraceIds | undefined {
  try {
    const otel = openTelemetry();
    const spanContext = otel?.trace.getActiveSpan()?.spanContext();
    if (!otel || !spanContext || !otel.isSpanContextValid(spanContext)) return undefined;
    return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
  } catch {
    return undefined;
  }
}

/**
 * Whether the call or connection being made is another agent's own: an OpenTelemetry exporter's
 * (it suppresses tracing around what it sends) or dd-trace's (its request module is among the
 * files on the stack, asked for only once dd-trace has started).
 */
export function isAgentTraffic(stackFiles: () => readonly string[]): boolean {
  try {
    if (openTelemetry()?.context.active().getValue(SUPPRESS_TRACING) === true) return true;
    if (!(globalThis as { _ddtrace?: unknown })._ddtrace) return false;
    return stackFiles().some((file) => file.endsWith(DD_TRACE_REQUEST));
  } catch {
    return false;
  }
}
