/**
 * The undici package, 6 to 8: `request`, `stream`, `pipeline`, `fetch`, and Client, Pool, Agent,
 * BalancedPool, interceptor compositions and custom dispatchers on top of them. Whatever the
 * entry point, every request ends up at a Client, the one dispatcher that talks to a server; its
 * `dispatch` is where a call is recorded and replayed (dispatch.ts), so each call
 * is seen once, each redirect or retry hop a call of its own. In replay a Client never connects.
 * The global fetch goes through an installed undici's Client too once that undici's global
 * dispatcher is set; the fetch instrumentation then leaves the call to this one.
 */
import { defineInstrumentation, hook, wrapMethod, type InstrumentationContext } from '../../src/plugin.js';
import { dispatchIn, registerInstalledDispatcherClass, type DispatchHandler, type DispatchOptions } from './dispatch.js';

const LIB = 'undici';
const VERSIONS = '>=6 <9';

interface Client {
  dispatch(options: DispatchOptions, handler: DispatchHandler): boolean;
}

/**
 * The origin a Client talks to. A Pool or an Agent hands its Client requests with a path only;
 * the Client keeps its URL under a symbol of undici's own, found by its description.
 */
function originOf(client: object): string | undefined {
  for (const symbol of Object.getOwnPropertySymbols(client)) {
    if (symbol.description !== 'url') continue;
    const url = (client as Record<symbol, unknown>)[symbol];
    if (url instanceof URL) return url.origin;
  }
  return undefined;
}

/** Upgrades (WebSocket) and CONNECT tunnels hand the app a socket: they are left alone. */
function isTunnel(options: DispatchOptions): boolean {
  return Boolean((options as { upgrade?: unknown }).upgrade) || options.method === 'CONNECT';
}

function patchClient(Client: { prototype: Client }, ctx: InstrumentationContext): void {
  const handle = dispatchIn(ctx);
  wrapMethod(
    Client.prototype,
    'dispatch',
    (dispatch) =>
      function (this: Client, options: DispatchOptions, handler: DispatchHandler) {
        if (isTunnel(options)) return dispatch.call(this, options, handler);
        const send = (o: DispatchOptions, h: DispatchHandler): boolean => dispatch.call(this, o, h);
        const addressed = options.origin ? options : { ...options, origin: originOf(this) };
        return handle(LIB, send, addressed, handler, ctx);
      },
  );
}

/** Where Client and Dispatcher are: lib/dispatcher/ from undici 6.7, lib/ before. */
const DIRS = ['lib/dispatcher', 'lib'];

export default defineInstrumentation({
  name: 'undici',
  role: 'dependency',
  hooks: DIRS.flatMap((dir) => [
    hook<{ prototype: Client }>({
      module: 'undici',
      versions: VERSIONS,
      file: `${dir}/client.js`,
      record: patchClient,
      replay: patchClient,
    }),
    hook<abstract new (...args: never[]) => object>({
      module: 'undici',
      versions: VERSIONS,
      file: `${dir}/dispatcher.js`,
      patch(Dispatcher) {
        registerInstalledDispatcherClass(Dispatcher);
      },
    }),
  ]),
});
