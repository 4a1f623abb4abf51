/**
 * Recording and replaying one undici dispatch: what the global fetch (Node's bundled undici) and
 * an installed undici package both go through. Record watches the request body and the handler's
 * callbacks, in both of undici's handler styles; replay answers the handler from the cassette
 * without dispatching at all.
 */
import {
  appendHeader,
  BodyTap,
  plainHeaders,
  toBuffer,
  toErrorRecord,
  type ErrorRecord,
  type Headers,
  type InstrumentationContext,
  type RecordedCall,
} from '../../src/plugin.js';
import {
  abandonCall,
  describeHttpCall,
  UNREAD_RESPONSE,
  httpLookup,
  recordedReply,
  reportFault,
  type HttpRequestSeen,
  type RecordedReply,
  type ReplayedResponse,
} from './call.js';

export interface DispatchOptions {
  origin?: string | URL;
  path: string;
  method: string;
  body?: unknown;
  headers?: unknown;
}

export interface DispatchController {
  abort(reason?: unknown): void;
  pause(): void;
  resume(): void;
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: unknown;
  /** The response's header lines as they came (undici 8's fetch reads them from here). */
  rawHeaders?: Array<Buffer | string>;
}

/** undici's handler: the classic callbacks (undici 6) and the controller-based ones (undici 7+). */
export interface DispatchHandler {
  onConnect?(abort: (reason?: unknown) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: Array<Buffer | string>, resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: unknown): void;
  onError?(error: unknown): void;
  onRequestStart?(controller: DispatchController, context: unknown): void;
  onResponseStart?(controller: DispatchController, status: number, headers: Headers, statusMessage?: string): void;
  onResponseData?(controller: DispatchController, chunk: Buffer): void;
  onResponseEnd?(controller: DispatchController, trailers: unknown): void;
  onResponseError?(controller: DispatchController, error: unknown): void;
}

export /** The Dispatcher classes of installed undici packages (their calls are recorded at their Client). */
const installedDispatcherClasses = new Set<abstract new (...args: never[]) => object>();

export function registerInstalledDispatcherClass(Dispatcher: abstract new (...args: never[]) => object): void {
  installedDispatcherClasses.add(Dispatcher);
}

export function isInstalledUndiciDispatcher(dispatcher: object): boolean {
  for (const Dispatcher of installedDispatcherClasses) if (dispatcher instanceof Dispatcher) return true;
  return false;
}

/** Sends a dispatch on: the dispatcher's own `dispatch`. */
export type Dispatch = (options: DispatchOptions, handler: DispatchHandler) => boolean;

function urlOf(options: DispatchOptions): string {
  return new URL(options.path, options.origin).toString();
}

/** Dispatch headers come as an object, a flat [name, value, ...] list, or pairs. */
function headersOf(raw: unknown): Headers {
  const headers: Headers = {};
  if (!raw) return headers;
  if (Array.isArray(raw)) {
    if (raw.length && Array.isArray(raw[0]))
      for (const [name, value] of raw as Array<[string, string]>) appendHeader(headers, name, String(value));
    else for (let i = 0; i + 1 < raw.length; i += 2) appendHeader(headers, String(raw[i]), String(raw[i + 1]));
    return headers;
  }
  if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of raw as Iterable<[string, string]>) appendHeader(headers, name, String(value));
    return headers;
  }
  return plainHeaders(raw as Record<string, unknown>);
}

function rawHeadersOf(raw: Array<Buffer | string>): Headers {
  const headers: Headers = {};
  for (let i = 0; i + 1 < raw.length; i += 2) appendHeader(headers, raw[i]!.toString(), raw[i + 1]!.toString('latin1'));
  return headers;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && Symbol.asyncIterator in value;
}

/**
 * The body to send, with its bytes copied into `tap` as they go. `unsent()`: when the call failed
 * before the body was read (a DNS failure, a refused connection), the body is read into the tap
 * anyway, so the call is recorded with the body the app gave it, as replay will see it.
 */
function tappedBody(body: unknown, tap: BodyTap): { body: unknown; unsent(): Promise<void> } {
  if (!isAsyncIterable(body)) {
    tap.add(body);
    return { body, unsent: async () => {} };
  }
  let started = false;
  const tapped = (async function* tapped() {
    started = true;
    for await (const chunk of body) {
      tap.add(chunk);
      yield chunk;
    }
  })();
  return {
    body: tapped,
    async unsent() {
      if (started) return;
      for await (const chunk of body) tap.add(chunk);
    },
  };
}

async function collectBody(body: unknown): Promise<Buffer> {
  if (!isAsyncIterable(body)) return toBuffer(body) ?? Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    const bytes = toBuffer(chunk);
    if (bytes) chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** What a dispatch becomes in the plugin's mode: recorded as it goes out, or answered from the cassette. */
export function dispatchIn(ctx: InstrumentationContext): typeof recordDispatch {
  return ctx.mode === 'record' ? recordDispatch : replayDispatch;
}

/** The call in a line, for timetracer's own fault lines: built from nothing that can throw. */
function callLabel(options: DispatchOptions): string {
  return `${options.method} ${String(options.origin ?? '')}${options.path}`;
}

export function recordDispatch(
  lib: string,
  dispatch: Dispatch,
  options: DispatchOptions,
  handler: DispatchHandler,
  ctx: InstrumentationContext,
): boolean {
  const call = ctx.record('http.client');
  if (!call) return dispatch(options, handler);
  let watched: [DispatchOptions, DispatchHandler];
  try {
    watched = watchDispatch(lib, call, options, handler, ctx);
  } catch (fault) {
    abandonCall(call, callLabel(options), fault);
    return dispatch(options, handler);
  }
  return dispatch(...watched);
}

/** Record: the dispatch to make instead, whose body and handler are watched until the call ends. */
function watchDispatch(
  lib: string,
  call: RecordedCall,
  options: DispatchOptions,
  handler: DispatchHandler,
  ctx: InstrumentationContext,
): [DispatchOptions, DispatchHandler] {
  const requestBody = new BodyTap(ctx.bodies.maxBytes);
  const responseBody = new BodyTap(ctx.bodies.maxBytes);
  const request = { method: options.method, url: urlOf(options), headers: headersOf(options.headers) };
  let response: { status: number; statusText: string; headers: Headers } | undefined;
  let abortedByApp = false;
  let finished = false;
  /** The call as it stands now, described when the cassette is written. */
  const describe = (error: ErrorRecord | undefined) => {
    const seen: HttpRequestSeen = { ...request, body: requestBody.result() };
    const result = response && { ...response, body: responseBody.result() };
    return () => describeHttpCall(lib, seen, result, error, ctx.bodies);
  };
  const sent = tappedBody(options.body, requestBody);
  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    const record = error === undefined ? undefined : toErrorRecord(error, abortedByApp ? 'app' : 'dependency');
    if (error === undefined) call.end(describe(record));
    else
      void sent
        .unsent()
        .catch(() => undefined)
        .then(() => call.end(describe(record)));
  };
  // Should the app never read the body to its end, the call is recorded as far as it came.
  const responded = (): void => call.sofar(() => describe(UNREAD_RESPONSE)());
  const observeAbort = <A extends (reason?: unknown) => void>(abort: A) =>
    ((reason?: unknown) => {
      abortedByApp = true;
      abort(reason);
    }) as A;
  // What each handler callback tells, in both of undici's handler styles. A fault here is ours:
  // it is reported and the callback still reaches the handler.
  const observers: Record<string, (...args: never[]) => void> = {
    onHeaders: (status: number, rawHeaders: Array<Buffer | string>, _resume: unknown, statusText: string) => {
      response = { status, statusText, headers: rawHeadersOf(rawHeaders) };
      responded();
    },
    onResponseStart: (_controller: unknown, status: number, headers: Headers, statusMessage?: string) => {
      response = { status, statusText: statusMessage ?? '', headers: plainHeaders(headers) };
      responded();
    },
    onData: (chunk: Buffer) => responseBody.add(chunk),
    onResponseData: (_controller: unknown, chunk: Buffer) => responseBody.add(chunk),
    onComplete: () => finish(),
    onResponseEnd: () => finish(),
    onError: (error: unknown) => finish(error),
    onResponseError: (_controller: unknown, error: unknown) => finish(error),
  };
  const observed = new Proxy(handler, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      // The app's abort goes through the function or controller undici hands the handler first.
      if (property === 'onConnect') {
        return (abort: (reason?: unknown) => void, ...rest: unknown[]) => method.call(target, observeAbort(abort), ...rest);
      }
      if (property === 'onRequestStart') {
        return (controller: DispatchController, ...rest: unknown[]) =>
          method.call(
            target,
            new Proxy(controller, {
              get: (c, p) => (p === 'abort' ? observeAbort(c.abort.bind(c)) : Reflect.get(c, p)),
            }),
            ...rest,
          );
      }
      const observe = typeof property === 'string' ? observers[property] : undefined;
      // Called on the handler itself, not this proxy: undici's own handlers keep private fields.
      if (!observe) return (...args: unknown[]) => method.apply(target, args);
      return (...args: unknown[]) => {
        try {
          (observe as (...a: unknown[]) => void)(...args);
        } catch (fault) {
          reportFault('record', callLabel(options), fault);
        }
        return method.apply(target, args);
      };
    },
  });
  return [{ ...options, body: sent.body }, observed];
}

export function replayDispatch(
  lib: string,
  dispatch: Dispatch,
  options: DispatchOptions,
  handler: DispatchHandler,
  ctx: InstrumentationContext,
): boolean {
  const answer = responderFor(handler);
  void collectBody(options.body)
    .then(
      (body) => {
        try {
          const tap = new BodyTap(ctx.bodies.maxBytes);
          tap.add(body);
          const outcome = ctx.replay(
            httpLookup(
              lib,
              { method: options.method, url: urlOf(options), headers: headersOf(options.headers), body: tap.result() },
              ctx.bodies,
            ),
          );
          if (outcome.kind === 'miss') answer.fail(outcome.error);
          else if (outcome.kind === 'live') dispatch({ ...options, body: body.length ? body : null }, handler);
          else serveRecorded(answer, recordedReply(outcome.event, options.method));
        } catch (fault) {
          answer.fail(reportFault('replay', callLabel(options), fault));
        }
      },
      (error: unknown) => answer.fail(error),
    )
    // Should undici's own handler throw on what we hand it, that must not become an unhandled rejection.
    .catch((fault: unknown) => reportFault('replay', callLabel(options), fault));
  return true;
}

/** Hands the recorded reply to the handler, ending it the way the call ended live. */
function serveRecorded(answer: Responder, { response, end }: RecordedReply): void {
  if (response) answer.respond(response);
  if (end.kind === 'fail') answer.fail(end.error);
  else if (end.kind === 'complete') answer.complete();
}

interface Responder {
  respond(response: ReplayedResponse): void;
  complete(): void;
  fail(error: unknown): void;
}

/** The recorded headers as undici's raw [name, value, ...] lines. */
/** By the headers of a replayed response, which every copy of it shares (see replayedResponse). */
const rawHeaderLinesOf = new WeakMap<ReplayedResponse['headers'], Buffer[]>();

function rawHeaderLines(response: ReplayedResponse): Buffer[] {
  let lines = rawHeaderLinesOf.get(response.headers);
  if (!lines) {
    lines = response.headers.flatMap(([name, value]) => [Buffer.from(name), Buffer.from(value, 'latin1')]);
    rawHeaderLinesOf.set(response.headers, lines);
  }
  return lines;
}

/** Drives a dispatch handler by hand, in whichever of undici's two handler styles it speaks. */
function responderFor(handler: DispatchHandler): Responder {
  let done = false;
  const once = (fn: () => void): void => {
    if (done) return;
    done = true;
    fn();
  };
  if (handler.onResponseStart) {
    const controller: DispatchController = {
      aborted: false,
      paused: false,
      reason: undefined,
      abort(reason) {
        once(() => handler.onResponseError?.(controller, reason));
      },
      pause() {},
      resume() {},
    };
    handler.onRequestStart?.(controller, {});
    return {
      respond(response) {
        if (done) return;
        const headers: Headers = {};
        for (const [name, value] of response.headers) appendHeader(headers, name, value);
        controller.rawHeaders = rawHeaderLines(response);
        handler.onResponseStart?.(controller, response.status, headers, response.statusText);
        if (response.body.length) handler.onResponseData?.(controller, response.body);
      },
      complete: () => once(() => handler.onResponseEnd?.(controller, {})),
      fail: (error) => once(() => handler.onResponseError?.(controller, error)),
    };
  }
  handler.onConnect?.((reason) => once(() => handler.onError?.(reason ?? new DOMException('This operation was aborted', 'AbortError'))));
  return {
    respond(response) {
      if (done) return;
      handler.onResponseStarted?.();
      handler.onHeaders?.(response.status, rawHeaderLines(response), () => undefined, response.statusText);
      if (response.body.length) handler.onData?.(response.body);
    },
    complete: () => once(() => handler.onComplete?.([])),
    fail: (error) => once(() => handler.onError?.(error)),
  };
}
