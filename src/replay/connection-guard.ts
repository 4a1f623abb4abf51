/**
 * Strict replay's last line. Every library replay serves answers its calls without a socket, so a
 * connection opened from inside one means its instrumentation did not attach (a version, a file
 * or a global it did not find) or the library took a path replay does not serve. Such a
 * connection is refused before any packet leaves, with an error the library reports as its own
 * connection error. Whose connection it is, the files on the stack tell: a package's directory,
 * or the Node files a builtin target names (`connectsFrom`).
 */
import net from 'node:net';

export interface ConnectionOwner {
  plugin: string;
  /** Parts of file names (`/node_modules/pg/`, `node:_http_agent`) that mark this plugin's code on a stack. */
  sources: readonly string[];
}

export interface ConnectionPolicy {
  owners: readonly ConnectionOwner[];
  /** The error refusing a connection `plugin` opens to `address`, or undefined to let it through. */
  refusal(plugin: string, address: string): Error | undefined;
  /** A connection that no plugin opened goes out (a library timetracer does not instrument). */
  unowned(address: string): void;
  /** The guard itself failed: the connection goes through, as it would without the agent. */
  fault(error: unknown): void;
}

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

/** Enough frames to get from `connect` past a library's own layers to the file that owns it. */
const STACK_DEPTH = 64;

export function guardConnections(policy: ConnectionPolicy): void {
  const prototype = net.Socket.prototype as unknown as { connect: Connect };
  const connect = prototype.connect;
  prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    let refusal: Error | undefined;
    try {
      refusal = decide(policy, args, guardedConnect);
    } catch (fault) {
      policy.fault(fault);
    }
    if (!refusal) return connect.apply(this, args);
    // As a refused connection fails: asynchronously, through the socket's 'error'.
    process.nextTick(() => this.destroy(refusal));
    return this;
  };
}

/** The error refusing this connection, or undefined to let it through. */
function decide(policy: ConnectionPolicy, args: readonly unknown[], below: Function): Error | undefined {
  const address = addressOf(args);
  const plugin = ownerOf(stackFiles(below), policy.owners);
  if (plugin !== undefined) return policy.refusal(plugin, address);
  policy.unowned(address);
  return undefined;
}

/** The files of the calls that led here, innermost first. */
function stackFiles(below: Function): string[] {
  const { prepareStackTrace, stackTraceLimit } = Error;
  try {
    Error.stackTraceLimit = STACK_DEPTH;
    // Call sites rather than text: an app's own prepareStackTrace (source maps) may reword the text.
    Error.prepareStackTrace = (_error, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, below);
    return (holder.stack ?? []).map((site) => (site.getFileName() ?? '').replaceAll('\\', '/'));
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** The plugin whose code is nearest the connect on the stack. */
export function ownerOf(files: readonly string[], owners: readonly ConnectionOwner[]): string | undefined {
  for (const file of files) {
    const owner = owners.find(({ sources }) => sources.some((source) => file.includes(source)));
    if (owner) return owner.plugin;
  }
  return undefined;
}

/** `host:port` or the socket path, from any of `socket.connect`'s argument forms. */
export function addressOf(args: readonly unknown[]): string {
  // net.connect hands the socket its arguments already normalised, as [options, callback].
  const [first, second] = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  if (first !== null && typeof first === 'object') {
    const { path, host, port } = first as { path?: unknown; host?: unknown; port?: unknown };
    if (typeof path === 'string') return path;
    return `${typeof host === 'string' ? host : 'localhost'}:${String(port)}`;
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return first;
  return `${typeof second === 'string' ? second : 'localhost'}:${String(first)}`;
}
