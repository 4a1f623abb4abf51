/**
 * node:http and node:https clients: `request` and `get`, with any agent, keep-alive, streamed or
 * chunked bodies. Record watches the real request; replay runs Node's own ClientRequest on a
 * socket that answers from the cassette and never connects.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { urlToHttpOptions } from 'node:url';
import { fromErrorRecord, toErrorRecord } from '../src/cassette/error-record.js';
import { plainHeaders } from '../src/cassette/headers.js';
import type { DependencyEvent, HttpClientResult } from '../src/cassette/schema.js';
import { BodyTap, observeEvents, tapReadable, tapWritable } from '../src/inbound/capture.js';
import { defineInstrumentation, hook, type InstrumentationContext } from '../src/instrumentation.js';
import { wrapMethod } from '../src/loader/wrap.js';
import { describeHttpCall, httpLookup, replayedResponse, type HttpRequestSeen, type HttpResponseSeen } from './support/http-call.js';
import { ReplaySocket, responseBytes } from './support/replay-socket.js';

type RequestFunction = (...args: unknown[]) => ClientRequest;

interface HttpModule {
  request: RequestFunction;
  get: RequestFunction;
}

const LIB = 'http';

export default defineInstrumentation({
  name: 'http',
  hooks: [
    hook<HttpModule>({ module: 'node:http', patch: (module, ctx) => patchModule(module, 'http:', ctx) }),
    hook<HttpModule>({ module: 'node:https', patch: (module, ctx) => patchModule(module, 'https:', ctx) }),
  ],
});

function patchModule(module: HttpModule, protocol: string, ctx: InstrumentationContext): void {
  wrapMethod(module, 'request', (original) => function request(this: unknown, ...args: unknown[]): ClientRequest {
    if (ctx.mode === 'record') return recordRequest(original, this, args, protocol, ctx);
    if (ctx.replaying) return replayRequest(original, this, args, protocol, ctx);
    return original.apply(this, args);
  });
  // Node's `get` calls its module's own `request`, not the export: wrap it the same way.
  wrapMethod(module, 'get', () => function get(...args: unknown[]): ClientRequest {
    const req = module.request(...args);
    req.end();
    return req;
  });
}

interface RequestArgs {
  input: string | URL | undefined;
  options: RequestOptions;
  callback: ((res: IncomingMessage) => void) | undefined;
}

/** request(url[, options][, callback]) and request(options[, callback]). */
function parseArgs(args: unknown[]): RequestArgs {
  let [first, second, third] = args;
  let input: string | URL | undefined;
  if (typeof first === 'string' || first instanceof URL) {
    input = first;
    [first, second] = [second, third];
  }
  if (typeof first === 'function') return { input, options: {}, callback: first as RequestArgs['callback'] };
  return { input, options: (first ?? {}) as RequestOptions, callback: second as RequestArgs['callback'] };
}

function mergedOptions({ input, options }: RequestArgs): RequestOptions {
  const fromUrl = input === undefined ? {} : urlToHttpOptions(typeof input === 'string' ? new URL(input) : input);
  return { ...fromUrl, ...options } as RequestOptions;
}

function targetUrl(args: RequestArgs, protocol: string): string {
  const options = mergedOptions(args);
  const scheme = options.protocol ?? protocol;
  const path = options.path ?? '/';
  if (options.socketPath) return `${scheme}//unix${options.socketPath.startsWith('/') ? '' : '/'}${options.socketPath}:${path}`;
  const hostname = options.hostname ?? options.host ?? 'localhost';
  const port = options.port ?? options.defaultPort ?? (scheme === 'https:' ? 443 : 80);
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `${scheme}//${host}:${port}${path}`;
}

function requestSeen(req: ClientRequest, url: string, body: BodyTap): HttpRequestSeen {
  return { method: req.method, url, headers: plainHeaders(req.getHeaders()), body: body.result() };
}

/** Watches the 'response' of a request, in the request's session. */
function onResponse(req: ClientRequest, ctx: InstrumentationContext, listener: (res: IncomingMessage) => void): void {
  observeEvents(req, (event, args) => {
    if (event !== 'response') return;
    const res = args[0] as IncomingMessage;
    ctx.bind(res);
    listener(res);
  });
  // Bound after observing, so the observer too runs inside the session.
  ctx.bind(req);
}

function recordRequest(original: RequestFunction, self: unknown, args: unknown[], protocol: string, ctx: InstrumentationContext): ClientRequest {
  const req = original.apply(self, args);
  const call = ctx.record('http.client');
  if (!call) return req;
  const url = targetUrl(parseArgs(args), protocol);
  const requestBody = new BodyTap(ctx.bodies.maxBytes);
  tapWritable(req as unknown as Parameters<typeof tapWritable>[0], requestBody);
  let endedByApp = false;
  let response: (Omit<HttpResponseSeen, 'body'> & { body: BodyTap }) | undefined;
  let finished = false;
  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    const request = requestSeen(req, url, requestBody);
    const seen = response && { ...response, body: response.body.result() };
    const errorRecord = error === undefined ? undefined : toErrorRecord(error, endedByApp ? 'app' : 'dependency');
    call.end(() => describeHttpCall(LIB, request, seen, errorRecord, ctx.bodies));
  };
  // A timeout handler or an AbortSignal ends the call through destroy(): the app's doing.
  wrapMethod(req, 'destroy', (destroy) => function destroyByApp(this: ClientRequest, error?: Error) {
    if (!finished) endedByApp = true;
    return destroy.call(this, error);
  });
  observeEvents(req, (event, eventArgs) => {
    if (event === 'error') finish(eventArgs[0]);
    else if (event === 'close' && !response) finish(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  });
  onResponse(req, ctx, (res) => {
    response = { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: plainHeaders(res.headers), body: new BodyTap(ctx.bodies.maxBytes) };
    tapReadable(res, response.body, () => finish());
    observeEvents(res, (event, eventArgs) => {
      if (event === 'error') finish(eventArgs[0]);
      else if (event === 'aborted') finish(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  });
  return req;
}

function replayRequest(original: RequestFunction, self: unknown, args: unknown[], protocol: string, ctx: InstrumentationContext): ClientRequest {
  const parsed = parseArgs(args);
  const url = targetUrl(parsed, protocol);
  const socket = new ReplaySocket();
  const options: RequestOptions = { ...parsed.options, agent: undefined, createConnection: () => socket };
  const req = parsed.input === undefined
    ? original.call(self, options, parsed.callback)
    : original.call(self, parsed.input, options, parsed.callback);
  const requestBody = new BodyTap(ctx.bodies.maxBytes);
  tapWritable(req as unknown as Parameters<typeof tapWritable>[0], requestBody);
  observeEvents(req, (event) => {
    if (event !== 'finish') return;
    // The whole request has been written: now it can be matched.
    const outcome = ctx.replay(httpLookup(LIB, requestSeen(req, url, requestBody), ctx.bodies));
    if (outcome.kind === 'miss') socket.destroy(outcome.error);
    else if (outcome.kind === 'live') socket.passthrough(() => connectLive(parsed, protocol));
    else serveRecorded(socket, outcome.event);
  });
  onResponse(req, ctx, () => undefined);
  return req;
}

function serveRecorded(socket: ReplaySocket, event: DependencyEvent): void {
  const result = event.result as HttpClientResult | undefined;
  const error = event.error && fromErrorRecord(event.error);
  if (!result) {
    // The app ended this call itself (timeout, abort): hold it open so it does so again.
    if (event.error?.origin === 'app') return;
    socket.destroy(error ?? new Error('timetracer: the recorded call has neither a response nor an error'));
    return;
  }
  try {
    socket.respond(responseBytes(replayedResponse(result, !error), !error), error);
  } catch (problem) {
    socket.destroy(problem as Error);
  }
}

function connectLive(args: RequestArgs, protocol: string): net.Socket {
  const agentOptions = (args.options.agent as { options?: tls.ConnectionOptions } | undefined)?.options ?? {};
  const options = { ...agentOptions, ...mergedOptions(args) } as RequestOptions & tls.ConnectionOptions;
  const scheme = options.protocol ?? protocol;
  if (options.socketPath) return net.connect(options.socketPath);
  const host = options.hostname ?? options.host ?? 'localhost';
  const port = Number(options.port ?? options.defaultPort ?? (scheme === 'https:' ? 443 : 80));
  if (scheme === 'https:') return tls.connect({ ...options, host, port, servername: options.servername ?? (net.isIP(host) ? undefined : host) } as tls.ConnectionOptions);
  return net.connect({ host, port });
}
