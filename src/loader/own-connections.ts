/**
 * The first connection a script's own code opens, not through a hooked builtin (http, fetch) nor
 * a package under node_modules: in a bundle, that is a client library bundled in it. Watched from
 * start-up, since a client may connect while the app loads, before anyone knows which file is a
 * bundle; told which file later, or stopped. Costs a stack capture per connection while it watches.
 *
 * Started before strict replay's guard wraps `connect` on top of it, so that the files the guard
 * reads on the stack are the app's, not this wrapper's. A connection the guard refuses then never
 * reaches it: in strict replay, only the guard's line names the bundle.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { codeLocations, type Instrumentation } from '../instrumentation.js';
import type { Destination } from '../net-address.js';
import { destinationOf } from '../replay/connection-guard.js';
import { callerFiles } from '../stack.js';

/** Enough frames to get from `connect` past a library's own layers to the file that called it. */
const STACK_DEPTH = 64;
/** timetracer's own code (the guard's wrapper above this one), as ES module stack frames name it. */
const OWN_CODE = new URL('../..', import.meta.url).href;
/** Callers whose first connection is kept until the script is known: the script is among the first. */
const KEPT_CALLERS = 8;

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

export interface OwnConnectionWatch {
  /** Calls `found` once, at the first connection `script`'s own code opened or opens. */
  expect(script: string, found: (destination: Destination) => void): void;
  /** Stops watching: `connect` is Node's again, or, if someone wrapped it since, passed through. */
  stop(): void;
}

export function watchOwnConnections(instrumentations: readonly Instrumentation[], fault: (error: unknown) => void): OwnConnectionWatch {
  const hooked = instrumentations.flatMap(codeLocations);
  const prototype = net.Socket.prototype as unknown as { connect: Connect };
  const connect = prototype.connect;
  /** Until the script is known: each caller's first connection. */
  const kept = new Map<string, Destination>();
  let expected: { files: readonly string[]; found: (destination: Destination) => void } | undefined;
  let watching = true;

  const stop = (): void => {
    watching = false;
    kept.clear();
    if (prototype.connect === watchedConnect) prototype.connect = connect;
  };
  const seen = (caller: string, destination: Destination): void => {
    if (!expected) {
      if (!kept.has(caller) && kept.size < KEPT_CALLERS) kept.set(caller, destination);
    } else if (expected.files.includes(caller)) {
      const { found } = expected;
      stop();
      found(destination);
    }
  };

  function watchedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    if (watching) {
      try {
        const files = callerFiles(watchedConnect, STACK_DEPTH).filter((name) => !name.startsWith(OWN_CODE));
        const caller = files.find((name) => name !== '' && !name.startsWith('node:'));
        if (caller && !files.some((name) => hooked.some((location) => name.includes(location)))) {
          seen(caller, destinationOf(args));
        }
      } catch (error) {
        stop();
        fault(error);
      }
    }
    return connect.apply(this, args);
  }
  prototype.connect = watchedConnect;

  return {
    expect(script, found) {
      // A CommonJS script is named by its path on the stack, an ES module by its URL.
      expected = { files: [script.replaceAll('\\', '/'), pathToFileURL(script).href], found };
      const earlier = expected.files.map((file) => kept.get(file)).find((destination) => destination !== undefined);
      kept.clear();
      if (earlier) seen(expected.files[0]!, earlier);
    },
    stop,
  };
}
