/**
 * Strict replay's last line: every outgoing TCP, TLS or socket-file connection is looked at before
 * it opens. Replay serves every library it instruments without a socket, so a connection opened
 * from inside one means its instrumentation did not attach, and a connection no instrumentation
 * owns comes from a library timetracer does not cover. The policy says which go through; a refused
 * one fails as a refused connection does, with an error the library reports as its own. Whose
 * connection it is, the files on the stack tell: a package's directory, or the Node files a
 * builtin target names (`connectsFrom`). The app's own listening sockets, and connections to them,
 * are never touched.
 */
import net from 'node:net';
import type { Destination } from '../net-address.js';
import { isAgentTraffic } from '../observability-agents.js';
import { callerFiles, packageOf } from '../stack.js';

export interface ConnectionOwner {
  plugin: string;
  /** Parts of file names (`/node_modules/pg/`, `node:_http_agent`) that mark this plugin's code on a stack. */
  sources: readonly string[];
}

export interface Connection {
  destination: Destination;
  /** The plugin whose code opened it, if any. */
  owner: string | undefined;
  /** The package that opened it (`mysql2`), or the app's file, or Node's own module. */
  opener: string;
}

export interface ConnectionPolicy {
  owners: readonly ConnectionOwner[];
  /** The error refusing this connection, or undefined to let it through. */
  refusal(connection: Connection): Error | undefined;
  /** The guard itself failed: the connection goes through, as it would without the agent. */
  fault(error: unknown): void;
}

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

/** Enough frames to get from `connect` past a library's own layers to the file that owns it. */
const STACK_DEPTH = 64;

export function guardConnections(policy: ConnectionPolicy): void {
  const ownPorts = trackListeningPorts();
  const prototype = net.Socket.prototype as unknown as { connect: Connect };
  const connect = prototype.connect;
  prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    let refusal: Error | undefined;
    try {
      const destination = destinationOf(args);
      if (!isOwn(destination, ownPorts)) {
        const files = callerFiles(guardedConnect, STACK_DEPTH);
        // Spans an observability agent sends to its collector are not the app's to refuse.
        if (!isAgentTraffic(() => files))
          refusal = policy.refusal({ destination, owner: ownerOf(files, policy.owners), opener: openerOf(files) });
      }
    } catch (fault) {
      policy.fault(fault);
    }
    if (!refusal) return connect.apply(this, args);
    // As a refused connection fails: asynchronously, through the socket's 'error'.
    process.nextTick(() => this.destroy(refusal));
    return this;
  };
}

/** The ports the app's own servers listen on, kept up to date as they start. */
function trackListeningPorts(): Set<number> {
  const ports = new Set<number>();
  const prototype = net.Server.prototype as unknown as { listen: (this: net.Server, ...args: unknown[]) => net.Server };
  const listen = prototype.listen;
  prototype.listen = function trackedListen(this: net.Server, ...args: unknown[]): net.Server {
    this.once('listening', () => {
      const address = this.address();
      if (address && typeof address === 'object') ports.add(address.port);
    });
    return listen.apply(this, args);
  };
  return ports;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::']);

function isOwn(destination: Destination, ownPorts: ReadonlySet<number>): boolean {
  return 'port' in destination && ownPorts.has(destination.port) && LOOPBACK.has(destination.host.toLowerCase());
}

/** The plugin whose code is nearest the connect on the stack. */
export function ownerOf(files: readonly string[], owners: readonly ConnectionOwner[]): string | undefined {
  for (const file of files) {
    const owner = owners.find(({ sources }) => sources.some((source) => file.includes(source)));
    if (owner) return owner.plugin;
  }
  return undefined;
}

/** The package nearest the connect on the stack; else the first file of the app's; else Node's own module. */
export function openerOf(files: readonly string[]): string {
  const own = files.filter((file) => file !== '' && !file.startsWith('node:'));
  for (const file of own) {
    const name = packageOf(file);
    if (name) return name;
  }
  return own[0]?.replace(/^file:\/\//, '') ?? files.find((file) => file.startsWith('node:')) ?? 'unknown code';
}

/** Where `socket.connect`'s arguments, in any of their forms, point. */
export function destinationOf(args: readonly unknown[]): Destination {
  // net.connect hands the socket its arguments already normalised, as [options, callback].
  const [first, second] = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  if (first !== null && typeof first === 'object') {
    const { path, host, port } = first as { path?: unknown; host?: unknown; port?: unknown };
    if (typeof path === 'string') return { path };
    return { host: typeof host === 'string' ? host : 'localhost', port: Number(port) };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof second === 'string' ? second : 'localhost', port: Number(first) };
}
