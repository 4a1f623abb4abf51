/**
 * Fastify 4 and 5: the route template and the error a handler raised.
 *
 * Fastify 5 publishes a diagnostics channel around each route handler, inside the request, so
 * its messages land in the request's session; loading the file that publishes them is the sign
 * that Fastify 5 is in use.
 *
 * Fastify 4 has no such channel. Its lib/handleRequest.js exports the function every routed
 * request goes through once its route is known, and lib/error-handler.js the `handleError` that
 * every error sent as the reply reaches (a handler's throw or rejection, a hook's or the
 * validation's error), before the app's error handler runs.
 */
import diagnostics from 'node:diagnostics_channel';
import { defineInstrumentation, hook, wrapMethod, type InstrumentationContext } from '../../src/plugin.js';

const FRAMEWORK = 'fastify';
const HANDLER_CHANNEL = 'fastify.request.handler';

interface HandlerMessage {
  route?: { url?: unknown };
  error?: unknown;
}

/** Fastify 4's request: `routeOptions` (public since 4.10) builds a fresh object at each read. */
interface FastifyRequest {
  routeOptions?: { url?: unknown };
  /** The template before 4.10; deprecated since, with a warning at each read. */
  routerPath?: unknown;
}

type HandleRequest = (this: unknown, err: unknown, request: FastifyRequest, reply: unknown) => unknown;

interface ErrorHandlerModule {
  handleError(this: unknown, reply: unknown, error: unknown, cb: unknown): unknown;
}

let subscribed = false;

export default defineInstrumentation({
  name: 'fastify',
  role: 'framework',
  hooks: [
    // The file that publishes the channel: lib/handleRequest.js in the first 5.x releases.
    ...['lib/handle-request.js', 'lib/handleRequest.js'].map((file) =>
      hook<object>({ module: 'fastify', versions: '>=5 <6', file, patch: (_exports, ctx) => subscribe(ctx) }),
    ),
    hook<HandleRequest>({ module: 'fastify', versions: '>=4 <5', file: 'lib/handleRequest.js', patch: noteRoutes }),
    hook<ErrorHandlerModule>({ module: 'fastify', versions: '>=4 <5', file: 'lib/error-handler.js', patch: noteErrors }),
  ],
});

/** Once per process: the channel is global, whatever number of Fastify copies publish on it. */
function subscribe(ctx: InstrumentationContext): void {
  if (subscribed) return;
  subscribed = true;
  const channel = diagnostics.tracingChannel(HANDLER_CHANNEL);
  // A subscriber that threw would crash the app (Node rethrows it on the next tick): these cannot.
  channel.start.subscribe((message) => {
    const url = (message as HandlerMessage | undefined)?.route?.url;
    ctx.annotate({ framework: FRAMEWORK, ...(typeof url === 'string' && { route: () => url }) });
  });
  channel.error.subscribe((message) => {
    ctx.annotate({ framework: FRAMEWORK, error: (message as HandlerMessage | undefined)?.error });
  });
}

/**
 * The module's export is the function itself: a wrapper is exported instead, carrying the
 * original's own properties (Fastify hangs its internals on it). The template is read when the
 * cassette is written, off the request's path.
 */
function noteRoutes(handleRequest: HandleRequest, ctx: InstrumentationContext): HandleRequest {
  function handleRequestNoted(this: unknown, err: unknown, request: FastifyRequest, reply: unknown) {
    ctx.annotate({ framework: FRAMEWORK, route: () => routeOf(request) });
    return handleRequest.call(this, err, request, reply);
  }
  return Object.assign(handleRequestNoted, handleRequest);
}

function routeOf(request: FastifyRequest): string | undefined {
  const url = 'routeOptions' in request ? request.routeOptions?.url : request.routerPath;
  return typeof url === 'string' ? url : undefined;
}

/** reply.js takes `handleError` from the exports as it loads, after this patch. */
function noteErrors(errorHandler: ErrorHandlerModule, ctx: InstrumentationContext): void {
  wrapMethod(
    errorHandler,
    'handleError',
    (handleError) =>
      function handleErrorNoted(this: unknown, reply: unknown, error: unknown, cb: unknown) {
        ctx.annotate({ framework: FRAMEWORK, error });
        return handleError.call(this, reply, error, cb);
      },
  );
}
