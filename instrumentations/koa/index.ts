/**
 * Koa 2 and 3: the route @koa/router matched and the error a middleware raised. The context
 * prototype (lib/context.js) is hooked: every request's context is created from it, and Koa
 * calls its `onerror` with each error no middleware handled.
 */
import { defineInstrumentation, hook, wrapMethod, type InstrumentationContext } from '../../src/plugin.js';

const FRAMEWORK = 'koa';

interface KoaContext {
  /** Set by @koa/router to the path template of the route it matched. */
  _matchedRoute?: unknown;
}

interface ContextPrototype {
  onerror(this: KoaContext, err: unknown): unknown;
}

export default defineInstrumentation({
  name: 'koa',
  role: 'framework',
  hooks: [hook<ContextPrototype>({ module: 'koa', versions: '>=2 <4', file: 'lib/context.js', patch })],
});

function patch(proto: ContextPrototype, ctx: InstrumentationContext): void {
  // Koa's createContext assigns `context.state = {}` to every new context: the earliest per-request moment.
  onFirstAssignment(proto, 'state', () => ctx.annotate({ framework: FRAMEWORK }));
  onFirstAssignment(proto, '_matchedRoute', (context) => ctx.annotate({ framework: FRAMEWORK, route: () => routeOf(context) }));
  wrapMethod(
    proto,
    'onerror',
    (onerror) =>
      function onerrorReported(this: KoaContext, err: unknown) {
        // Koa also calls it with null once the response is finished.
        if (err !== null && err !== undefined) ctx.annotate({ framework: FRAMEWORK, error: err });
        return onerror.call(this, err);
      },
  );
}

/** The template as it stands when the cassette is written: nested routers assign it again. */
function routeOf(context: KoaContext): string | undefined {
  const route = context._matchedRoute;
  return typeof route === 'string' ? route : undefined;
}

/**
 * Calls `onAssign` when `key` is first assigned on a context made from `proto`, then gives the
 * context the plain own property the assignment would have made, so that later reads and writes
 * behave as without the agent.
 */
function onFirstAssignment(proto: object, key: string, onAssign: (context: KoaContext) => void): void {
  if (Object.hasOwn(proto, key)) return;
  Object.defineProperty(proto, key, {
    configurable: true,
    enumerable: false,
    get: () => undefined,
    set(this: KoaContext, value: unknown) {
      onAssign(this);
      Reflect.defineProperty(this, key, { value, writable: true, enumerable: true, configurable: true });
    },
  });
}
