/**
 * node:http and node:https clients: `request` and `get`, with any agent, keep-alive, streamed or
 * chunked bodies. Record watches the real request; replay runs Node's own ClientRequest on a
 * socket that answers from the cassette and never connects.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { urlToHttpOptions } from 'node:url';
import {
  BodyTap,
  defineInstrumentation,
  hook,
  observeEvents,
  plainHeaders,
  sentHeaders,
  tapReadable,
  tapWritable,
  toErrorRecord,
  wrapMethod,
  type ErrorRecord,
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
  type HttpResponseSeen,
} from './call.js';
import { ReplaySocket } from './replay-socket.js';

type RequestFunction = (...args: unknown[]) => ClientRequest;

interface HttpModule {
  request: RequestFunction;
  get: RequestFunction;
}

const LIB = 'http';
/** Where Node's http clients open their sockets: the agent, or the request itself (`createConnection`). */
const CONNECTS_FROM = ['node:_http_agent', 'node:_http_client'];

/** What a request becomes in the plugin's mode: recorded as it goes out, or answered from the cassette. */
type Handling = typeof recordRequest;

/** node:http or node:https, each mode's handling side by side. */
function clientHook(module: 'node:http' | 'node:https', protocol: string) {
  const patchWith = (handle: Handling) => (exports: HttpModule, ctx: InstrumentationContext) => patchModule(exports, protocol, ctx, handle);
  return hook<HttpModule>({ module, connectsFrom: CONNECTS_FROM, record: patchWith(recordRequest), replay: patchWith(replayRequest) });
}

export default defineInstrumentation({
  name: 'http',
  role: 'dependency',
  hooks: [clientHook('node:http', 'http:'), clientHook('node:https', 'https:')],
});

function patchModule(module: HttpModule, protocol: string, ctx: InstrumentationContext, handle: Handling): void {
  wrapMethod(
    module,
    'request',
    (original) =>
      function request(this: unknown, ...args: unknown[]): ClientRequest {
        // Replay matches a request once it is written: whose it is, only its start can tell.
        if (ctx.isAnotherAgentsCall(request)) return original.apply(this, args);
        return handle(original, this, args, protocol, ctx);
      },
  );
  // Node's `get` calls its module's own `request`, not the export: wrap it the same way.
  wrapMethod(
    module,
    'get',
    () =>
      function get(...args: unknown[]): ClientRequest {
        const req = module.request(...args);
        req.end();
        return req;
      },
  );
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
  return { method: req.method, url, headers: sentHeaders(req), body: body.result() };
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

function recordRequest(
  original: RequestFunction,
  self: unknown,
  args: unknown[],
  protocol: string,
  ctx: InstrumentationContext,
): ClientRequest {
  const req = original.apply(self, args);
  const call = ctx.record('http.client');
  if (!call) return req;
  try {
    watchCall(req, call, targetUrl(parseArgs(args), protocol), ctx);
  } catch (fault) {
    abandonCall(call, `${req.method} ${req.host}${req.path}`, fault);
  }
  return req;
}

/** A client request or its response. */
interface Destroyable {
  socket: net.Socket | null;
  destroy(error?: Error): unknown;
}

/**
 * Calls `onAppEnd` when the app destroys `stream` (a timeout handler, an AbortSignal, giving up
 * mid-body) while its connection is up. Node destroys it too, but only once the connection is gone.
 */
function watchDestroyByApp(stream: Destroyable, onAppEnd: () => void): void {
  const destroy = stream.destroy;
  stream.destroy = function destroyByApp(this: Destroyable, error?: Error) {
    if (!this.socket?.destroyed) onAppEnd();
    return destroy.call(this, error);
  };
}

/** Record: follows the request and its response until the call ends, then ends `call`. */
function watchCall(req: ClientRequest, call: RecordedCall, url: string, ctx: InstrumentationContext): void {
  const requestBody = new BodyTap(ctx.bodies.maxBytes);
  tapWritable(req, requestBody);
  let endedByApp = false;
  let response: (Omit<HttpResponseSeen, 'body'> & { body: BodyTap }) | undefined;
  let finished = false;
  /** The call as it stands now, described when the cassette is written. */
  const describe = (error: ErrorRecord | undefined) => {
    const request = requestSeen(req, url, requestBody);
    const seen = response && { ...response, body: response.body.result() };
    return () => describeHttpCall(LIB, request, seen, error, ctx.bodies);
  };
  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    call.end(describe(error === undefined ? undefined : toErrorRecord(error, endedByApp ? 'app' : 'dependency')));
  };
  const appEnds = (): void => {
    if (!finished) endedByApp = true;
  };
  watchDestroyByApp(req, appEnds);
  observeEvents(req, (event, eventArgs) => {
    if (event === 'error') finish(eventArgs[0]);
    else if (event === 'close' && !response) finish(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  });
  onResponse(req, ctx, (res) => {
    response = {
      status: res.statusCode ?? 0,
      statusText: res.statusMessage ?? '',
      headers: plainHeaders(res.headers),
      body: new BodyTap(ctx.bodies.maxBytes),
    };
    // Should the app never read the body to its end, the call is recorded as far as it came.
    call.sofar(() => describe(UNREAD_RESPONSE)());
    tapReadable(res, response.body, () => finish());
    watchDestroyByApp(res, appEnds);
    observeEvents(res, (event, eventArgs) => {
      if (event === 'error') finish(eventArgs[0]);
      else if (event === 'aborted') finish(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  });
}

function replayRequest(
  original: RequestFunction,
  self: unknown,
  args: unknown[],
  protocol: string,
  ctx: InstrumentationContext,
): ClientRequest {
  const parsed = parseArgs(args);
  const url = targetUrl(parsed, protocol);
  const socket = new ReplaySocket();
  const options: RequestOptions = {
    ...parsed.options,
    agent: undefined,
    // The agent is left out, its timeout is not: a call that timed out live times out again.
    timeout: parsed.options.timeout ?? agentOptionsOf(parsed.options).timeout,
    // Applies the timeout to the socket as net.connect and the agents do.
    createConnection: ({ timeout }: RequestOptions) => (timeout ? socket.setTimeout(timeout) : socket),
  };
  const req =
    parsed.input === undefined
      ? original.call(self, options, parsed.callback)
      : original.call(self, parsed.input, options, parsed.callback);
  const requestBody = new BodyTap(ctx.bodies.maxBytes);
  tapWritable(req, requestBody);
  observeEvents(req, (event) => {
    if (event !== 'finish') return;
    // The whole request has been written: now it can be matched.
    try {
      const outcome = ctx.replay(httpLookup(LIB, requestSeen(req, url, requestBody), ctx.bodies));
      if (outcome.kind === 'miss') socket.destroy(outcome.error);
      else if (outcome.kind === 'live') socket.passthrough(() => connectLive(parsed, protocol));
      else socket.reply(recordedReply(outcome.event, req.method));
    } catch (fault) {
      socket.destroy(reportFault('replay', `${req.method} ${url}`, fault));
    }
  });
  onResponse(req, ctx, () => undefined);
  return req;
}

type AgentOptions = tls.ConnectionOptions & { timeout?: number };

/** What the app's agent was made with (`new https.Agent({ ca, timeout })`). */
function agentOptionsOf(options: RequestOptions): AgentOptions {
  const agent = options.agent as { options?: AgentOptions } | false | undefined;
  return agent ? (agent.options ?? {}) : {};
}

function connectLive(args: RequestArgs, protocol: string): net.Socket {
  const options = { ...agentOptionsOf(args.options), ...mergedOptions(args) } as RequestOptions & tls.ConnectionOptions;
  const scheme = options.protocol ?? protocol;
  if (options.socketPath) return net.connect(options.socketPath);
  const host = options.hostname ?? options.host ?? 'localhost';
  const port = Number(options.port ?? options.defaultPort ?? (scheme === 'https:' ? 443 : 80));
  // `path` is the request's; to tls.connect it would name a unix socket.
  if (scheme === 'https:')
    return tls.connect({
      ...options,
      path: undefined,
      host,
      port,
      servername: options.servername ?? (net.isIP(host) ? undefined : host),
    } as tls.ConnectionOptions);
  return net.connect({ host, port });
}
