/**
 * The global `fetch`. Node's fetch sends every request through undici's global dispatcher; that
 * dispatcher is wrapped (on the first fetch, so that Node's bundled undici is only loaded by apps
 * that use it). Record watches the dispatcher's handler; replay answers the handler from the
 * cassette without dispatching at all (dispatch.ts). Redirects are fetch's own
 * business: each hop is one call. When the global dispatcher is an installed undici's (set with
 * its setGlobalDispatcher), the undici instrumentation records the call instead, once.
 *
 * undici keeps its global dispatcher under `Symbol.for('undici.globalDispatcher.<n>')`, n its
 * dispatcher API: Node 20 to 24 bundle undici 6 and 7, whose fetch reads slot 1; Node 26 bundles
 * undici 8, whose fetch reads slot 2 and keeps slot 1 for older undici copies. Every such slot is
 * wrapped, so fetch finds a wrapped dispatcher whichever slot its undici reads, a later one too.
 */
import { defineInstrumentation, describeError, hook, wrapMethod, type InstrumentationContext } from '../../src/plugin.js';
import { dispatchIn, isInstalledUndiciDispatcher, type DispatchHandler, type DispatchOptions } from './dispatch.js';

const LIB = 'fetch';
const DISPATCHER_SLOT = /^undici\.globalDispatcher\.\d+$/;

interface Dispatcher {
  dispatch(options: DispatchOptions, handler: DispatchHandler): boolean;
}

type Globals = typeof globalThis & Record<symbol, unknown>;

export default defineInstrumentation({
  name: 'fetch',
  role: 'dependency',
  hooks: [
    hook<Globals>({
      module: 'globalThis',
      connectsFrom: ['node:internal/deps/undici/'],
      record: patchFetch,
      replay: patchFetch,
    }),
  ],
});

/** fetch: its dispatchers wrapped on each call; in replay, a fetch whose dispatcher cannot be wrapped is refused. */
function patchFetch(globals: Globals, ctx: InstrumentationContext): void {
  const attach = attacher(globals, ctx);
  wrapMethod(
    globals,
    'fetch',
    (original) =>
      function fetch(this: unknown, input: Parameters<typeof original>[0], init?: Parameters<typeof original>[1]) {
        const problem = attach();
        if (problem && ctx.mode === 'replay') {
          const outcome = ctx.unserved(callLabel(input, init), problem);
          if (outcome.kind === 'miss') return Promise.reject(new TypeError('fetch failed', { cause: outcome.error }));
        }
        return original.call(this, input, init);
      } as typeof original,
  );
}

/**
 * Wraps the global dispatchers before each fetch (the app may have set another since). Returns
 * why fetch's calls cannot be seen, said once: no slot found, or a slot that cannot be replaced.
 */
function attacher(globals: Globals, ctx: InstrumentationContext): () => string | undefined {
  let slots: symbol[] | undefined;
  let problem: string | undefined;
  return () => {
    if (problem) return problem;
    slots ??= dispatcherSlots(globals);
    problem = slots.length
      ? wrapSlots(globals, slots, ctx)
      : `Node ${process.version}'s fetch (undici ${process.versions.undici ?? 'unknown'}) keeps no global dispatcher under Symbol.for('undici.globalDispatcher.<n>')`;
    if (problem) ctx.notAttached(problem);
    return problem;
  };
}

function callLabel(input: unknown, init: { method?: string } | undefined): string {
  const request = input instanceof Request ? input : undefined;
  return `http.client ${init?.method ?? request?.method ?? 'GET'} ${request?.url ?? String(input)}`;
}

function dispatcherSlots(globals: Globals): symbol[] {
  // Reading a lazy global loads Node's bundled undici, which installs its global dispatcher.
  void globals.Headers;
  return Object.getOwnPropertySymbols(globals).filter((symbol) => {
    const name = symbol.description;
    return name !== undefined && DISPATCHER_SLOT.test(name) && Symbol.for(name) === symbol;
  });
}

/** Wrapped dispatchers, by the dispatcher they wrap: two slots holding one dispatcher share its wrapper. */
const wrappers = new WeakMap<Dispatcher, Dispatcher>();
const wrapped = new WeakSet<Dispatcher>();

function wrapSlots(globals: Globals, slots: readonly symbol[], ctx: InstrumentationContext): string | undefined {
  for (const slot of slots) {
    try {
      wrapSlot(globals, slot, ctx);
    } catch (error) {
      return `could not replace the global dispatcher under Symbol.for('${slot.description}') (${describeError(error)})`;
    }
  }
  return undefined;
}

function wrapSlot(globals: Globals, slot: symbol, ctx: InstrumentationContext): void {
  const current = globals[slot] as Dispatcher | undefined;
  // A dispatcher of an installed undici records its calls itself (undici.ts).
  if (!current || typeof current.dispatch !== 'function' || wrapped.has(current) || isInstalledUndiciDispatcher(current)) return;
  let wrapper = wrappers.get(current);
  if (!wrapper) {
    wrapper = wrapDispatcher(current, ctx);
    wrappers.set(current, wrapper);
    wrapped.add(wrapper);
  }
  globals[slot] = wrapper;
}

function wrapDispatcher(target: Dispatcher, ctx: InstrumentationContext): Dispatcher {
  const dispatch = (options: DispatchOptions, handler: DispatchHandler): boolean => target.dispatch(options, handler);
  const handle = dispatchIn(ctx);
  const wrappedDispatch = (options: DispatchOptions, handler: DispatchHandler) => handle(LIB, dispatch, options, handler, ctx);
  return new Proxy(target, {
    get(dispatcher, property) {
      if (property === 'dispatch') return wrappedDispatch;
      const value: unknown = Reflect.get(dispatcher, property, dispatcher);
      return typeof value === 'function' ? value.bind(dispatcher) : value;
    },
  });
}
