/**
 * The global `fetch`. Node's fetch sends every request through undici's global dispatcher; that
 * dispatcher is wrapped (on the first fetch, so that Node's bundled undici is only loaded by apps
 * that use it). Record watches the dispatcher's handler; replay answers the handler from the
 * cassette without dispatching at all (support/undici-dispatch.ts). Redirects are fetch's own
 * business: each hop is one call. When the global dispatcher is an installed undici's (set with
 * its setGlobalDispatcher), the undici instrumentation records the call instead, once.
 */
import { defineInstrumentation, hook, type InstrumentationContext } from '../src/instrumentation.js';
import { wrapMethod } from '../src/loader/wrap.js';
import { isInstalledUndiciDispatcher, recordDispatch, replayDispatch, type DispatchHandler, type DispatchOptions } from './support/undici-dispatch.js';

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const LIB = 'fetch';

interface Dispatcher {
  dispatch(options: DispatchOptions, handler: DispatchHandler): boolean;
}

type Globals = typeof globalThis & { [GLOBAL_DISPATCHER]?: Dispatcher; fetch: typeof fetch };

export default defineInstrumentation({
  name: 'fetch',
  role: 'dependency',
  hooks: [
    hook<Globals>({
      module: 'globalThis',
      patch(globals, ctx) {
        if (ctx.mode === 'replay' && !ctx.replaying) return;
        wrapMethod(globals, 'fetch', (original) => function fetch(this: unknown, input: Parameters<typeof original>[0], init?: Parameters<typeof original>[1]) {
          wrapGlobalDispatcher(globals, ctx);
          return original.call(this, input, init);
        } as typeof original);
      },
    }),
  ],
});

const wrappedDispatchers = new WeakSet<Dispatcher>();

function wrapGlobalDispatcher(globals: Globals, ctx: InstrumentationContext): void {
  // Reading a lazy global loads Node's bundled undici, which installs its global agent.
  if (globals[GLOBAL_DISPATCHER] === undefined) void globals.Headers;
  const current = globals[GLOBAL_DISPATCHER];
  // A dispatcher of an installed undici records its calls itself (instrumentations/undici.ts).
  if (!current || wrappedDispatchers.has(current) || isInstalledUndiciDispatcher(current)) return;
  const wrapped = new Proxy(current, {
    get(target, property) {
      if (property === 'dispatch') {
        const dispatch = (options: DispatchOptions, handler: DispatchHandler): boolean => target.dispatch(options, handler);
        return (options: DispatchOptions, handler: DispatchHandler) => (ctx.mode === 'record'
          ? recordDispatch(LIB, dispatch, options, handler, ctx)
          : replayDispatch(LIB, dispatch, options, handler, ctx));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  wrappedDispatchers.add(wrapped);
  globals[GLOBAL_DISPATCHER] = wrapped;
}

