/**
 * The plugin surface: all that an instrumentation (a folder of `instrumentations/`) uses of the
 * core, and the only module of `src/` it imports. The declaration (`defineInstrumentation`,
 * `hook`) and the context a patch is handed (`InstrumentationContext`: recording a call,
 * replaying one, the session) come with what patches are made of: wrapping exports, the cassette
 * schema's types, error records, redaction, bodies, headers and stream taps.
 */
export { defineInstrumentation, hook, type Instrumentation, type InstrumentationContext, type ReplayOutcome } from './instrumentation.js';
export { wrapExport, wrapMethod } from './wrap.js';
export type { CallOutcome, Lookup, RecordedCall } from './calls.js';
export type { Session } from './context.js';
export type {
  Body,
  DependencyEvent,
  ErrorRecord,
  Headers,
  HttpClientRequest,
  HttpClientResult,
  JsonValue,
  Signature,
} from './cassette/schema.js';
export { fromErrorRecord, toErrorRecord } from './cassette/error-record.js';
export { isRedacted, isSecretValue, REDACTED, type Redactor } from './cassette/redact.js';
export { decodeBody, encodeBody, type BodyPolicy, type CapturedBody } from './cassette/body.js';
export { appendHeader, headerValue, plainHeaders, sentHeaders } from './cassette/headers.js';
export { BodyTap, observeEvents, tapReadable, tapWritable, toBuffer } from './inbound/capture.js';
export { describeError, warn } from './log.js';
