/**
 * Hono 4, its CommonJS build (`require('hono')`) and its ES build (`import`): the route of the
 * handler that ran and the error it raised.
 *
 * Hono hands every route's handler to its router's `add` as `[handler, route]`, `route.path`
 * being the template, mount paths included. Each built-in router's `add` is hooked, so each
 * handler is wrapped once, wherever it is registered (an app, a `basePath` copy of it, a
 * sub-app mounted with `route`). A request that runs one handler calls it and hands its error to
 * the app's `onError`; one that runs several, or none, goes through `compose`, which also hands
 * errors to the `onError` of a mounted sub-app that has its own: `compose` is hooked for those.
 *
 * The routers are classes, patched alike in both builds. `compose` is a function export, which
 * the ES build declares `const`: it cannot be replaced there, so an ES module app's requests that
 * run no handler, and the errors a mounted sub-app's own `onError` answers, go unnoted
 * (docs/libraries/frameworks.md).
 */
import { defineInstrumentation, hook, type InstrumentationContext, wrapExport, wrapMethod } from '../../src/plugin.js';

const FRAMEWORK = 'hono';
const VERSIONS = '>=4 <5';

type Handler = (this: unknown, c: unknown, next: unknown) => unknown;
type ErrorHandler = (this: unknown, err: unknown, c: unknown) => unknown;

/** What Hono registers with a router for each handler: the handler and its route. */
type RouterEntry = [Handler, { path?: unknown }];

interface RouterClass {
  prototype: { add(this: unknown, method: string, path: string, entry: unknown): unknown };
}

interface ComposeModule {
  compose(this: unknown, middleware: unknown, onError?: ErrorHandler, onNotFound?: unknown): unknown;
}

/** Each built-in router's folder and class. */
const ROUTERS = [
  ['reg-exp-router', 'RegExpRouter'],
  ['trie-router', 'TrieRouter'],
  ['smart-router', 'SmartRouter'],
  ['pattern-router', 'PatternRouter'],
  ['linear-router', 'LinearRouter'],
] as const;

/** Hono's two builds, the same routers in each. */
const BUILDS = [
  { dist: 'dist/cjs', esModule: false },
  { dist: 'dist', esModule: true },
] as const;

const COMPOSED = { framework: FRAMEWORK };

/** Handlers already wrapped: SmartRouter hands what it was given on to the routers it picks from. */
const wrappedHandlers = new WeakSet<Handler>();

export default defineInstrumentation({
  name: 'hono',
  role: 'framework',
  hooks: [
    ...BUILDS.flatMap(({ dist, esModule }) =>
      ROUTERS.map(([folder, name]) =>
        hook<Record<string, RouterClass>>({
          module: 'hono',
          versions: VERSIONS,
          file: `${dist}/router/${folder}/router.js`,
          esModule,
          patch: (exports, ctx) => wrapAdd(exports[name]!, ctx),
        }),
      ),
    ),
    hook<ComposeModule>({ module: 'hono', versions: VERSIONS, file: 'dist/cjs/compose.js', patch: noteComposedErrors }),
  ],
});

function wrapAdd(Router: RouterClass, ctx: InstrumentationContext): void {
  wrapMethod(
    Router.prototype,
    'add',
    (add) =>
      function addNoted(this: unknown, method: string, path: string, entry: unknown) {
        return add.call(this, method, path, isRouterEntry(entry) ? noted(entry, ctx) : entry);
      },
  );
}

function isRouterEntry(entry: unknown): entry is RouterEntry {
  return Array.isArray(entry) && typeof entry[0] === 'function' && typeof entry[1] === 'object' && entry[1] !== null;
}

/**
 * The entry with its handler wrapped: entering it notes its route (the last entered is the one
 * that answered, as Hono's `routePath` says), and a throw or a rejection notes the error.
 */
function noted([handler, route]: RouterEntry, ctx: InstrumentationContext): RouterEntry {
  if (wrappedHandlers.has(handler)) return [handler, route];
  const path = route.path;
  const entered = { framework: FRAMEWORK, ...(typeof path === 'string' && { route: () => path }) };
  const noteError = (error: unknown): void => ctx.annotate({ framework: FRAMEWORK, error });
  const wrapped = function honoHandler(this: unknown, c: unknown, next: unknown) {
    ctx.annotate(entered);
    try {
      const result = handler.call(this, c, next);
      if (result instanceof Promise) result.catch(noteError);
      return result;
    } catch (error) {
      noteError(error);
      throw error;
    }
  };
  wrappedHandlers.add(wrapped);
  return [wrapped, route];
}

/**
 * hono-base calls `compose` through the module's exports, at each request. Up to 4.13.9 the
 * CommonJS build exports it as a getter, which cannot be wrapped in place: the module then
 * exports a copy holding the wrapped function.
 */
function noteComposedErrors(exports: ComposeModule, ctx: InstrumentationContext): ComposeModule {
  return wrapExport(
    exports,
    'compose',
    (compose) =>
      function composeNoted(this: unknown, middleware: unknown, onError?: ErrorHandler, onNotFound?: unknown) {
        ctx.annotate(COMPOSED);
        const onErrorNoted =
          onError &&
          function onErrorNoted(this: unknown, err: unknown, c: unknown) {
            ctx.annotate({ framework: FRAMEWORK, error: err });
            return onError.call(this, err, c);
          };
        return compose.call(this, middleware, onErrorNoted, onNotFound);
      },
  );
}
