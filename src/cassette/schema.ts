/**
 * The cassette format, version 1.0: the one definition every part of timetracer reads and writes.
 *
 * A cassette holds one session: an inbound request with its response and every dependency call
 * the request made, in the order they started (`Cassette`); or, for a process cassette, every
 * call one process made outside its requests, timed from the process's start (`ProcessCassette`).
 * Values JSON cannot hold are written tagged by `codec.ts` (see `Tagged`), so replay hands the
 * app the same types it got live.
 */

export const SCHEMA_VERSION = '1.0';

/** A JSON value as it stands in a cassette file. Tagged values are objects of this shape too. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Header values as Node reports them: repeated headers (set-cookie) keep every value. */
export type Headers = Record<string, string | string[]>;

export type BodyEncoding = 'json' | 'utf8' | 'base64';

/** A request or response body. */
export interface Body {
  /** json: `data` is the parsed value; utf8: text; base64: bytes. */
  encoding: BodyEncoding;
  data: JsonValue;
  /** The body was longer than TIMETRACER_MAX_BODY_KB: `data` holds its start only. */
  truncated: boolean;
  /** Size of the body as it travelled (before any decoding of content-encoding). */
  size_bytes: number;
  /**
   * sha256 (hex) of the body as stored, after redaction, before truncation; for multipart bodies
   * with the boundary replaced by a fixed token, since the boundary is random.
   */
  sha256: string;
  /** json: how the text was laid out, so replay gives back the same bytes (absent: compact). */
  json_layout?: JsonLayout;
  /**
   * Set when the body travelled compressed (gzip, deflate, br): `data` holds the decoded bytes,
   * and replay compresses them again so the app decodes the same bytes it got live.
   */
  content_encoding?: ContentCoding;
}

export interface JsonLayout {
  /** What JSON.stringify indented with: '  ', '\t', ... */
  indent: string;
  /** The text ended with a newline. */
  newline: boolean;
}

export type ContentCoding = 'gzip' | 'deflate' | 'br';

/** An error as recorded: its class name, message, code and any other own fields. */
export interface ErrorRecord {
  name: string;
  message: string;
  code?: string | number;
  /**
   * Who ended the call: `dependency` (refused, reset, DNS failure: replay raises the same error)
   * or `app` (a timeout or abort the app itself triggered: replay holds the call open so the
   * app's own timer or signal ends it again, exactly as live).
   */
  origin?: 'dependency' | 'app';
  stack?: string;
  /** Further own fields of the error (errno, syscall, address, port, detail, ...). */
  fields?: Record<string, unknown>;
}

/** The OpenTelemetry ids a request cassette holds when a span was active (see SessionInfo). */
export type TraceIds = Required<Pick<SessionInfo, 'trace_id' | 'span_id'>>;

export interface SessionInfo {
  id: string;
  kind: 'request' | 'process';
  recorded_at: string;
  service: string;
  env: string;
  /** node:http, express, fastify, koa, hono, nestjs, graphql: what handled the inbound request; `process` for a process cassette. */
  framework: string;
  node: string;
  timetracer: string;
  /** The script the app was started with, relative to the working directory: what a replay command runs. */
  entry?: string;
  /** Written during replay (TIMETRACER_REPLAY_DIR): the cassette the request was replayed from. */
  replay_of?: string;
  /** Process cassettes: the recording process's id. */
  pid?: number;
  /** The OpenTelemetry trace the request ran in, where one was active: 32 hex digits, as Jaeger and Tempo show it. */
  trace_id?: string;
  /** The request's own span in that trace (the server span): 16 hex digits. */
  span_id?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Route template where the framework exposes one (`/user/:name`; GraphQL: the operation, `query GetUser`), else null. */
  route: string | null;
  query: Record<string, string | string[]>;
  headers: Headers;
  body: Body | null;
}

export interface RecordedResponse {
  /** The status sent; 0 when no response was sent (the handler crashed the process). */
  status: number;
  duration_ms: number;
  headers: Headers;
  body: Body | null;
  error?: ErrorRecord;
}

/**
 * The dependency call kinds, a closed set: an instrumentation maps each library call onto one of
 * these (a new database client's calls are `db.query` events with its own `lib`), and a new kind
 * is a change of the cassette format.
 */
export type EventType = 'http.client' | 'db.query' | 'redis' | 'mongodb';

/**
 * What identifies a call: `lib` plus library-specific fields (method + url + body hash;
 * sql + params; command + args). Replay matches on exactly these fields. Values are those the
 * codec can write (JSON, Date, Buffer, BigInt, ...).
 */
export interface Signature {
  /** The plugin that recorded the call (`http`, `fetch`, `pg`, ...). */
  lib: string;
  [field: string]: unknown;
}

export interface DependencyEvent<Request = unknown, Result = unknown> {
  /** 1-based position in start order. */
  eid: number;
  type: EventType;
  start_offset_ms: number;
  duration_ms: number;
  signature: Signature;
  /** What the call carried that does not identify it (request headers, full body). */
  request?: Request;
  /** What the library returned, in the instrumentation's own shape (e.g. `HttpClientResult`). */
  result?: Result;
  error?: ErrorRecord;
  /**
   * Process cassettes: how many more times the same call was made, with this outcome as far as
   * replay is concerned, once the cassette held TIMETRACER_PROCESS_MAX_EVENTS calls.
   */
  repeats?: number;
}

/**
 * The ways a session reads the clock or randomness, each a stream of its own; and `check`, the
 * outcome of a password checked against a hash the cassette holds redacted (1 or 0).
 */
export type ReadKind = 'clock' | 'random' | 'uuid' | 'bytes' | 'int' | 'check';

/**
 * What a session's code read from the clock and from randomness, by the file that read it
 * (relative to the app's folder, or from `node_modules/`) and the kind of read, in the order read:
 * replay hands each file the same values in the same order. Clock reads are milliseconds since
 * the epoch; bytes are base64. A null is a read that became a secret (a token made of random
 * bytes, redacted where it was sent): left out, and drawn live in replay.
 */
export type SessionReads = Record<string, Partial<Record<ReadKind, Array<number | string | null>>>>;

export interface CassetteStats {
  event_counts: Partial<Record<EventType, number>>;
  total_ms: number;
}

/** A request cassette. */
export interface Cassette {
  schema_version: typeof SCHEMA_VERSION;
  session: SessionInfo & { kind: 'request' };
  request: RecordedRequest;
  response: RecordedResponse;
  events: DependencyEvent[];
  /** What the request read from the clock and randomness (absent: nothing, or determinism off). */
  reads?: SessionReads;
  stats: CassetteStats;
}

/** A process cassette: rewritten as the process runs, the last write holding all it kept. */
export interface ProcessCassette {
  schema_version: typeof SCHEMA_VERSION;
  session: SessionInfo & { kind: 'process' };
  request: null;
  response: null;
  events: DependencyEvent[];
  /** What the process read from the clock and randomness outside its requests. */
  reads?: SessionReads;
  /** `total_ms`: how long the process had run at this write. */
  stats: CassetteStats;
}

export type AnyCassette = Cassette | ProcessCassette;

export function isProcessCassette(cassette: AnyCassette): cassette is ProcessCassette {
  return cassette.session.kind === 'process';
}

/** The `http.client` event's `request`. */
export interface HttpClientRequest {
  headers: Headers;
  body: Body | null;
}

/** The `http.client` event's `result`. */
export interface HttpClientResult {
  status: number;
  status_text: string;
  headers: Headers;
  body: Body | null;
}

export type HttpClientEvent = DependencyEvent<HttpClientRequest, HttpClientResult>;

/** Milliseconds as a cassette holds them: to the microsecond. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
