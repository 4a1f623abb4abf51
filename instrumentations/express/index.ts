/**
 * Express 4 and 5: the route template and the error a handler raised. Express 4 routes with its
 * own lib/router; Express 5 with the separate `router` package. Both have the same Layer (whose
 * request method catches sync throws and, in 5, rejected promises, and hands them to `next`) and
 * the same Route (whose `dispatch` runs the handlers of a matched route).
 */
import { defineInstrumentation, hook, wrapMethod, type InstrumentationContext, type Session } from '../../src/plugin.js';

const FRAMEWORK = 'express';

interface RoutedRequest {
  /** Where the router handling the request is mounted ('' at the top). */
  baseUrl?: string;
}

type Next = (this: unknown, err?: unknown) => unknown;
type HandleRequest = (this: unknown, req: RoutedRequest, res: unknown, next: Next) => unknown;

interface Route {
  /** A path template, a RegExp, or an array of them. */
  path: unknown;
}

type Dispatch = (this: Route, req: RoutedRequest, res: unknown, done: Next) => unknown;

/** `handle_request` (Express 4) or `handleRequest` (router 2). */
interface LayerClass<Method extends string> {
  prototype: Record<Method, HandleRequest>;
}

interface RouteClass {
  prototype: { dispatch: Dispatch };
}

/** Express 4's Layer has had `handle_request`, which runs each handler, from 4.6. */
const EXPRESS_VERSIONS = '>=4.6 <5';

export default defineInstrumentation({
  name: 'express',
  role: 'framework',
  hooks: [
    hook<LayerClass<'handle_request'>>({
      module: 'express',
      versions: EXPRESS_VERSIONS,
      file: 'lib/router/layer.js',
      patch: (Layer, ctx) => patchLayer(Layer, 'handle_request', ctx),
    }),
    hook<RouteClass>({ module: 'express', versions: EXPRESS_VERSIONS, file: 'lib/router/route.js', patch: patchRoute }),
    hook<LayerClass<'handleRequest'>>({
      module: 'router',
      versions: '>=2 <3',
      file: 'lib/layer.js',
      patch: (Layer, ctx) => patchLayer(Layer, 'handleRequest', ctx),
    }),
    hook<RouteClass>({ module: 'router', versions: '>=2 <3', file: 'lib/route.js', patch: patchRoute }),
  ],
});

function patchLayer<Method extends string>(Layer: LayerClass<Method>, method: Method, ctx: InstrumentationContext): void {
  wrapMethod(
    Layer.prototype,
    method,
    (original) =>
      function handleRequest(this: unknown, req: RoutedRequest, res: unknown, next: Next) {
        const session = ctx.session();
        if (!session || typeof next !== 'function') return original.call(this, req, res, next);
        session.annotate({ framework: FRAMEWORK });
        return original.call(this, req, res, reportingErrors(next, session));
      },
  );
}

/**
 * `next` that notes an error before passing it on. The session is the one the layer ran in:
 * `next` may be called back from a context that is not the request's.
 */
function reportingErrors(next: Next, session: Session): Next {
  return function nextReportingErrors(this: unknown, ...args: [err?: unknown]) {
    const [err] = args;
    // 'route' and 'router' are routing signals, not errors.
    if (err && err !== 'route' && err !== 'router') session.annotate({ error: err });
    return next.apply(this, args);
  };
}

/**
 * The mount path is read when the route dispatches: `baseUrl` changes as routing goes on. The
 * template is put together when the cassette is written, where a fault cannot reach the app.
 */
function patchRoute(Route: RouteClass, ctx: InstrumentationContext): void {
  wrapMethod(
    Route.prototype,
    'dispatch',
    (original) =>
      function dispatch(this: Route, req: RoutedRequest, res: unknown, done: Next) {
        const session = ctx.session();
        if (session) {
          const baseUrl = req?.baseUrl;
          const path = this.path;
          session.annotate({ framework: FRAMEWORK, route: () => `${baseUrl ?? ''}${String(path)}` });
        }
        return original.call(this, req, res, done);
      },
  );
}
