/**
 * MongoDB through the official driver, 6.8+ and 7, and what runs on it (Mongoose): every command
 * a request sends, whether an operation, a cursor's getMore or killCursors, a bulk write, an
 * index build, a transaction's commit or `db.command`, is one `mongodb` event.
 *
 * A command meets the socket in two methods of the driver's Connection: `writeCommand` sends the
 * OP_MSG, `readMany` reads the replies. Record notes the command there, as BSON bytes, and the
 * reply's bytes; both are kept as canonical Extended JSON (documents.ts). Replay
 * answers there from the cassette, so the driver above runs unchanged: its sessions, cursors,
 * error classes (a duplicate key is the same MongoServerError) and command monitoring events.
 *
 * Replay needs no server: connections are made without a socket, and the servers' monitors,
 * instead of polling, report the hello of topology.ts. ObjectIds made during a
 * request are replayed too (object-ids.ts), so inserts match and answer the same.
 */
import net from 'node:net';
import {
  defineInstrumentation,
  fromErrorRecord,
  hook,
  toErrorRecord,
  wrapMethod,
  type DependencyEvent,
  type ErrorRecord,
  type InstrumentationContext,
  type JsonValue,
  type RecordedCall,
} from '../../src/plugin.js';
import {
  commandBytes,
  operationOf,
  replyError,
  replyFromJson,
  replyToJson,
  signatureOf,
  type BsonLibrary,
  type Document,
  type MongoRequest,
  type MongoResult,
  type WireMessage,
} from './documents.js';
import { noteObjectIds, takeObjectIds, type ObjectIdClass } from './object-ids.js';
import { replayHello, type TopologyOptions } from './topology.js';

/** Record: the command sent on a connection, waiting for its reply. */
const AWAITING = Symbol('timetracer.mongodb.awaiting');
/** Replay: the answer to the command just "sent" on a connection. */
const ANSWER = Symbol('timetracer.mongodb.answer');

interface WireResponse {
  moreToCome?: boolean;
  /** The reply document's bytes. */
  parse(): Uint8Array;
}

interface HostAddress {
  toString(): string;
}

/** The driver's options as a connection or a topology carries them. */
interface ClientOptions extends TopologyOptions {
  hostAddress?: HostAddress;
  hosts?: HostAddress[];
}

interface SentCommand {
  call: RecordedCall;
  databaseName: string;
  bytes: Uint8Array;
  objectIds: string[] | undefined;
}

type Answer = { bytes: Uint8Array } | { error: Error };

interface Connection {
  address: string;
  hello: Document | null;
  established: boolean;
  writeCommand(message: WireMessage, options: unknown): Promise<void>;
  readMany(options: unknown): AsyncGenerator<WireResponse>;
  [AWAITING]?: SentCommand;
  [ANSWER]?: Answer;
}

interface ConnectionModule {
  Connection: { prototype: Connection };
}

interface ConnectModule {
  connect(options: ClientOptions): Promise<Connection>;
  makeConnection(options: ClientOptions, socket: net.Socket): Connection;
}

interface MonitoredServer {
  s: { state: string };
  topology: { s: { options: ClientOptions } };
}

interface Monitor {
  address: string;
  /** From driver 6.13; before, under a symbol of the driver's own (see `serverOf`). */
  server?: MonitoredServer;
  connect(): void;
  requestCheck(): void;
  emit(event: string, payload: unknown): boolean;
}

interface MonitorModule {
  Monitor: { prototype: Monitor };
}

type ErrorClass = new (message: string) => Error;
/** The error classes of the driver copy a Connection class belongs to (its lib/error.js may load after it). */
type DriverErrorClasses = () => Map<string, ErrorClass> | undefined;

/** Sent by the driver itself to set up and watch connections: never part of a request. */
const CONNECTION_SETUP = new Set(['hello', 'isMaster', 'ismaster', 'saslStart', 'saslContinue', 'authenticate', 'getnonce', 'endSessions']);
const HELLO = new Set(['hello', 'isMaster', 'ismaster']);
/**
 * Replay, outside any request, answered as done: the driver's own housekeeping (the ping
 * `connect` sends with credentials, a cursor closed at shutdown) and the schema work apps do at
 * start-up (index builds, Mongoose's collection creation), so such an app starts in replay.
 */
const ANSWERED_OUTSIDE_REQUESTS = new Set(['ping', 'killCursors', 'createIndexes', 'create']);

type BsonExports = BsonLibrary & { ObjectId: ObjectIdClass };

let bson: BsonExports | undefined;

const cannotReachServer = () => new Error('timetracer: a replayed MongoDB connection cannot reach the server');
/** The network error classes of each installed copy of the driver, by its package directory. */
const errorClassesOf = new Map<string | undefined, Map<string, ErrorClass>>();

function isCommand(message: WireMessage): boolean {
  // The first handshake goes as a legacy OP_QUERY, which has no `command`.
  return typeof message.command === 'object' && message.command !== null;
}

// ---------------------------------------------------------------- record

function recordCommands(Connection: { prototype: Connection }, ctx: InstrumentationContext): void {
  wrapMethod(
    Connection.prototype,
    'writeCommand',
    (writeCommand) =>
      async function (this: Connection, message: WireMessage, options: unknown) {
        // A command whose reply the driver never read (it gave up in between: an abort, a timeout)
        // has no outcome to record, and must not take the next command's reply for its own.
        this[AWAITING]?.call.cancel();
        this[AWAITING] = undefined;
        const sent =
          bson && isCommand(message) && !CONNECTION_SETUP.has(operationOf(message.command)) ? startCall(message, ctx) : undefined;
        if (!sent) return writeCommand.call(this, message, options);
        try {
          await writeCommand.call(this, message, options);
        } catch (error) {
          endCall(sent, undefined, error, ctx);
          throw error;
        }
        if (message.moreToCome) endCall(sent, undefined, undefined, ctx);
        else this[AWAITING] = sent;
      },
  );
  wrapMethod(
    Connection.prototype,
    'readMany',
    (readMany) =>
      function (this: Connection, options: unknown) {
        const sent = this[AWAITING];
        this[AWAITING] = undefined;
        const replies = readMany.call(this, options);
        return sent ? recordReply(replies, sent, ctx) : replies;
      },
  );
}

/** Starts recording a command; undefined outside a request, or if the command cannot be taken down (the driver then fails it itself). */
function startCall(message: WireMessage, ctx: InstrumentationContext): SentCommand | undefined {
  const call = ctx.record('mongodb');
  if (!call) return undefined;
  try {
    return { call, databaseName: message.databaseName, bytes: commandBytes(message), objectIds: takeObjectIds(ctx) };
  } catch {
    call.cancel();
    return undefined;
  }
}

async function* recordReply(
  replies: AsyncGenerator<WireResponse>,
  sent: SentCommand,
  ctx: InstrumentationContext,
): AsyncGenerator<WireResponse> {
  let ended = false;
  try {
    for await (const reply of replies) {
      if (!ended) endCall(sent, reply.parse(), undefined, ctx);
      ended = true;
      yield reply;
    }
  } catch (error) {
    if (!ended) endCall(sent, undefined, error, ctx);
    throw error;
  }
}

/** `reply` undefined and no error: a write sent without acknowledgement (w: 0). */
function endCall(sent: SentCommand, reply: Uint8Array | undefined, error: unknown, ctx: InstrumentationContext): void {
  const { redactor } = ctx.bodies;
  sent.call.end(() => {
    const library = bson!;
    const signature = signatureOf(library, sent.databaseName, sent.bytes, redactor);
    const request: MongoRequest | undefined = sent.objectIds && { object_ids: sent.objectIds };
    if (error !== undefined) return { signature, request, error: toErrorRecord(error, 'dependency') };
    const result: MongoResult = { reply: reply ? replyToJson(library, reply, redactor) : null };
    const failed = reply && replyError(library.deserialize(reply, { promoteValues: true, promoteBuffers: false, bsonRegExp: false }));
    return { signature, request, result, error: failed && serverErrorRecord(failed) };
  });
}

function serverErrorRecord({ message, code, codeName }: NonNullable<ReturnType<typeof replyError>>): ErrorRecord {
  return {
    name: 'MongoServerError',
    message,
    ...(code !== undefined && { code }),
    ...(codeName && { fields: { codeName } }),
    origin: 'dependency',
  };
}

// ---------------------------------------------------------------- replay

function replayCommands(Connection: { prototype: Connection }, ctx: InstrumentationContext, errorClasses: DriverErrorClasses): void {
  wrapMethod(
    Connection.prototype,
    'writeCommand',
    () =>
      async function (this: Connection, message: WireMessage) {
        this[ANSWER] = answerFor(this, message, ctx, errorClasses);
      },
  );
  wrapMethod(
    Connection.prototype,
    'readMany',
    () =>
      async function* (this: Connection): AsyncGenerator<WireResponse> {
        const answer = this[ANSWER];
        this[ANSWER] = undefined;
        // A reply arrives on a later turn of the event loop, as one read from a socket would.
        await new Promise((resolve) => setImmediate(resolve));
        if (!answer) throw new Error('timetracer: a replayed MongoDB connection was read before anything was sent');
        if ('error' in answer) throw answer.error;
        yield { moreToCome: false, parse: () => answer.bytes };
      },
  );
}

function answerFor(connection: Connection, message: WireMessage, ctx: InstrumentationContext, errorClasses: DriverErrorClasses): Answer {
  const library = bson;
  if (!library || !isCommand(message)) return { error: cannotReachServer() };
  const operation = operationOf(message.command);
  if (HELLO.has(operation)) return { bytes: library.serialize(connection.hello ?? { ok: 1 }) };
  if (operation === 'endSessions' || (ctx.session()?.kind !== 'request' && ANSWERED_OUTSIDE_REQUESTS.has(operation)))
    return { bytes: library.serialize({ ok: 1 }) };
  const signature = signatureOf(library, message.databaseName, commandBytes(message), ctx.bodies.redactor);
  const outcome = ctx.replay({ type: 'mongodb', signature }, { canGoLive: false });
  if (outcome.kind === 'miss') return { error: outcome.error };
  if (outcome.kind === 'live') return { error: cannotReachServer() };
  return recordedAnswer(library, outcome.event, errorClasses);
}

function recordedAnswer(library: BsonLibrary, event: DependencyEvent, errorClasses: DriverErrorClasses): Answer {
  const reply = (event.result as MongoResult | undefined)?.reply;
  if (reply !== undefined && reply !== null) return { bytes: replyFromJson(library, reply as JsonValue) };
  if (event.error) return { error: restoreError(event.error, errorClasses()) };
  return { bytes: library.serialize({ ok: 1 }) };
}

/**
 * A network error as the driver raised it: the class of the copy of the driver that sent the
 * command (its retry logic checks `instanceof`), so its retries and pool clearing run as live.
 */
function restoreError(record: ErrorRecord, errorClasses: Map<string, ErrorClass> | undefined): Error {
  const ErrorClass = errorClasses?.get(record.name);
  if (!ErrorClass) return fromErrorRecord(record);
  const error = new ErrorClass(record.message) as Error & Record<string, unknown>;
  for (const [key, value] of Object.entries(record.fields ?? {})) error[key] = value;
  return error;
}

function helloOf(address: string, options: ClientOptions): Document {
  const hosts = (options.hosts ?? []).map(String);
  return replayHello(address, hosts.length ? hosts : [address], options, () => new bson!.ObjectId());
}

/** Replay: a connection with no socket, its handshake answered by the replayed server. */
function connectWithoutSocket(module: ConnectModule): void {
  module.connect = async function connect(options: ClientOptions) {
    const connection = module.makeConnection(options, new net.Socket());
    connection.hello = helloOf(String(options.hostAddress ?? connection.address), options);
    connection.established = true;
    return connection;
  };
}

/** The server a monitor watches: its `server`, or (driver 6.8 to 6.12) the symbol described `server`. */
function serverOf(monitor: Monitor): MonitoredServer {
  if (monitor.server) return monitor.server;
  const symbol = Object.getOwnPropertySymbols(monitor).find((s) => s.description === 'server');
  return (monitor as unknown as Record<symbol, MonitoredServer>)[symbol!]!;
}

/** Replay: a server's monitor reports the replayed hello instead of polling the server. */
function monitorWithoutServer(Monitor: { prototype: Monitor }): void {
  const reportHello = () =>
    function (this: Monitor) {
      setImmediate(() => {
        const server = serverOf(this);
        if (server.s.state === 'closing' || server.s.state === 'closed') return;
        const reply = helloOf(this.address, server.topology.s.options);
        this.emit('serverHeartbeatSucceeded', { connectionId: this.address, duration: 0, reply, awaited: false });
      });
    };
  wrapMethod(Monitor.prototype, 'connect', reportHello);
  wrapMethod(Monitor.prototype, 'requestCheck', reportHello);
}

interface ConnectionStringModule {
  parseOptions(uri: string): { hosts: HostAddress[] };
  resolveSRVRecord(options: { srvHost?: string }): Promise<HostAddress[]>;
}

/**
 * Replay: a `mongodb+srv://` name stands for its one host, with no DNS lookup, and is never
 * polled for changes. (The driver's own parser makes the host: the driver's own HostAddress.)
 */
function srvWithoutDns(module: ConnectionStringModule): void {
  module.resolveSRVRecord = async ({ srvHost }) => module.parseOptions(`mongodb://${srvHost}`).hosts;
}

const VERSIONS = '>=6.8.0 <8';

export default defineInstrumentation({
  name: 'mongodb',
  role: 'dependency',
  hooks: [
    hook<BsonExports>({
      module: 'bson',
      versions: '>=6 <8',
      patch(exports, ctx) {
        bson ??= { serialize: exports.serialize, deserialize: exports.deserialize, EJSON: exports.EJSON, ObjectId: exports.ObjectId };
        if (ctx.mode === 'record' || ctx.replaying) exports.ObjectId = noteObjectIds(exports.ObjectId, ctx);
      },
    }),
    hook<ConnectionModule>({
      module: 'mongodb',
      versions: VERSIONS,
      file: 'lib/cmap/connection.js',
      record: ({ Connection }, ctx) => recordCommands(Connection, ctx),
      replay: ({ Connection }, ctx, packageDir) => replayCommands(Connection, ctx, () => errorClassesOf.get(packageDir)),
    }),
    hook<ConnectModule>({
      module: 'mongodb',
      versions: VERSIONS,
      file: 'lib/cmap/connect.js',
      replay: (exports) => connectWithoutSocket(exports),
    }),
    hook<MonitorModule>({
      module: 'mongodb',
      versions: VERSIONS,
      file: 'lib/sdam/monitor.js',
      replay: ({ Monitor }) => monitorWithoutServer(Monitor),
    }),
    hook<ConnectionStringModule>({
      module: 'mongodb',
      versions: VERSIONS,
      file: 'lib/connection_string.js',
      replay: (exports) => srvWithoutDns(exports),
    }),
    hook<{ SrvPoller: { prototype: { start(): void } } }>({
      module: 'mongodb',
      versions: VERSIONS,
      file: 'lib/sdam/srv_polling.js',
      replay: ({ SrvPoller }) => {
        wrapMethod(SrvPoller.prototype, 'start', () => function start() {});
      },
    }),
    // What replay needs of the driver's own: its network error classes.
    hook<Record<string, unknown>>({
      module: 'mongodb',
      versions: VERSIONS,
      file: 'lib/error.js',
      patch(exports, _ctx, packageDir) {
        errorClassesOf.set(
          packageDir,
          new Map(['MongoNetworkError', 'MongoNetworkTimeoutError'].map((name) => [name, exports[name] as ErrorClass])),
        );
      },
    }),
  ],
});
