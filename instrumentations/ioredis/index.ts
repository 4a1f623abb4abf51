/**
 * Redis through ioredis 5 and 6: every command a client sends, whether a method, `call`,
 * `sendCommand`, a pipeline or `multi`/`exec` (one event per command, EXEC's with the results),
 * a Lua script (`eval`, `evalsha`, `defineCommand`), a blocking command or `scanStream`'s SCANs.
 *
 * Every command, pipelined or not, passes through Redis#sendCommand. Record notes a command sent
 * within a request and the reply ioredis's parser hands it, before ioredis's reply transformers
 * run. Replay answers the command with that reply, so the same transformers make the same values
 * (strings, Buffers for the *Buffer commands, numbers, arrays, ReplyError). In replay a client
 * connects without a socket: `connect` makes it ready and sends what waited in its offline queue,
 * `quit` and `disconnect` close it the way ioredis does. Pub/sub: see pubsub.ts.
 * Redis.Cluster is not covered.
 */
import {
  defineInstrumentation,
  hook,
  toErrorRecord,
  wrapMethod,
  type DependencyEvent,
  type ErrorRecord,
  type InstrumentationContext,
  type Redactor,
  type Signature,
} from '../../src/plugin.js';
import { restoreError, restoreReply, storeArgs, storeReply, type ReplyClasses, type StoredReply } from './replies.js';
import {
  isSubscription,
  noteAnswered,
  noteEmitted,
  recordMessagesOf,
  replaySubscription,
  type PubSubClasses,
  type PubSubClient,
} from './pubsub.js';
import { redactArgs, redactReply } from './secrets.js';

/** Set on a command once it has been recorded or looked up: queued commands pass sendCommand twice. */
const SEEN = Symbol('timetracer.ioredis.seen');
/** Replay: answers a command queued before the client was ready, in the session that sent it. */
const ANSWER = Symbol('timetracer.ioredis.answer');
/** Record: set while ioredis handles the command's send; a rejection then means it was refused, not sent. */
const SENDING = Symbol('timetracer.ioredis.sending');

interface Command {
  name: string;
  args: unknown[];
  resolve(reply: unknown): unknown;
  reject(error: unknown): unknown;
  promise: Promise<unknown>;
  /** ioredis 6: the protocol its reply transformers follow. */
  setReplyContext?(context: unknown): void;
  [SEEN]?: true;
  [ANSWER]?: () => void;
  [SENDING]?: boolean;
}

interface QueuedCommand {
  command: Command;
  stream?: unknown;
}

interface RedisClient extends PubSubClient {
  status: string;
  options: { db?: number; username?: string; password?: string; protocol?: number; replyMapping?: string };
  offlineQueue: { length: number; shift(): QueuedCommand | undefined };
  manuallyClosing: boolean;
  reconnectTimeout: NodeJS.Timeout | null;
  connectionEpoch?: number;
  setStatus(status: string, arg?: unknown): void;
  resetOfflineQueue(): void;
  sendCommand(command: Command, stream?: unknown): Promise<unknown>;
  connect(callback?: (error: Error | null) => void): Promise<void>;
  disconnect(reconnect?: boolean): void;
}

interface RedisClass {
  prototype: RedisClient;
}

interface EventHandlers {
  closeHandler(client: RedisClient): () => void;
}

/** A call as the cassette keeps it. */
interface RedisSignature extends Signature {
  lib: 'ioredis';
  command: string;
  args: StoredReply[];
}

/** A command's result: its reply, or for a failed one the class of the error (`error` holds the rest). */
type RedisResult = { reply: StoredReply } | { error_class: string };

/** What ioredis sends by itself while a connection is being set up: never part of a request. */
const CONNECTION_SETUP = new Set(['auth', 'hello', 'select', 'info', 'client', 'readonly']);

/** What a RESP2 connection in subscriber mode may send (ioredis's VALID_IN_SUBSCRIBER_MODE). */
const SUBSCRIBER_MODE_COMMANDS = new Set([
  'subscribe',
  'psubscribe',
  'unsubscribe',
  'punsubscribe',
  'ssubscribe',
  'sunsubscribe',
  'ping',
  'quit',
]);

const classes: PubSubClasses = { errors: new Map() };
let eventHandlers: EventHandlers | undefined;

function signatureOf(command: Command, redactor: Redactor): RedisSignature {
  return { lib: 'ioredis', command: command.name, args: redactArgs(command.name, storeArgs(command.args), redactor) };
}

function recordCommand(client: RedisClient, command: Command, ctx: InstrumentationContext): void {
  if (command.name === 'quit' || (client.status === 'connect' && CONNECTION_SETUP.has(command.name))) return;
  const call = ctx.record('redis');
  if (!call) return;
  if (isSubscription(command.name)) recordMessagesOf(client, ctx);
  const { redactor } = ctx.bodies;
  const signature = signatureOf(command, redactor);
  const { resolve, reject } = command;
  command.resolve = (reply: unknown) => {
    call.end(() => ({
      signature,
      result: { reply: redactReply(command.name, signature.args, storeReply(reply), redactor) } satisfies RedisResult,
    }));
    return resolve.call(command, reply);
  };
  command.reject = (error: unknown) => {
    // Refused before anything was sent (closed client, offline queue off): no call to replay.
    if (command[SENDING]) call.cancel();
    else
      call.end(() => ({
        signature,
        error: toErrorRecord(error),
        result: { error_class: (error as Error)?.constructor?.name ?? 'Error' } satisfies RedisResult,
      }));
    return reject.call(command, error);
  };
}

function recordCommands(Redis: RedisClass, ctx: InstrumentationContext): void {
  wrapMethod(
    Redis.prototype,
    'sendCommand',
    (send) =>
      function sendCommand(this: RedisClient, command: Command, stream?: unknown) {
        if (!command[SEEN]) {
          command[SEEN] = true;
          recordCommand(this, command, ctx);
        }
        command[SENDING] = true;
        try {
          return send.call(this, command, stream);
        } finally {
          command[SENDING] = false;
        }
      },
  );
  wrapMethod(
    Redis.prototype,
    'emit',
    (emit) =>
      function (this: RedisClient, event: string | symbol, ...args: unknown[]) {
        noteEmitted(this, event, args);
        return emit.call(this, event, ...args);
      },
  );
}

/** Replay: the recorded reply (or error) for a command, delivered as a reply from the socket would be. */
function answer(client: RedisClient, command: Command, ctx: InstrumentationContext): void {
  command.setReplyContext?.(client.condition ?? client.options);
  const outcome = ctx.replay({ type: 'redis', signature: signatureOf(command, ctx.bodies.redactor) }, { canGoLive: false });
  setImmediate(() => {
    if (outcome.kind !== 'recorded') {
      command.reject(
        outcome.kind === 'miss' ? outcome.error : new Error('timetracer: a replayed Redis connection cannot reach the server'),
      );
      return;
    }
    settle(client, command, outcome.event, ctx);
    noteAnswered(outcome.event, ctx);
  });
}

/** Ends a replayed command the way its recording ended. */
function settle(client: RedisClient, command: Command, event: DependencyEvent, ctx: InstrumentationContext): void {
  const { error, result } = event as { error?: ErrorRecord; result?: RedisResult };
  if (error) {
    const className = result && 'error_class' in result ? result.error_class : undefined;
    command.reject(Object.assign(restoreError(error, className, classes), { command: { name: command.name, args: command.args } }));
    return;
  }
  const reply = restoreReply(result && 'reply' in result ? result.reply : null, classes);
  if (reply instanceof Error) {
    command.reject(reply);
    return;
  }
  if (isSubscription(command.name)) replaySubscription(client, command.name, command.args, reply, ctx, classes);
  command.resolve(reply);
}

/** Replay: `quit` answers OK and closes the client, as the server's reply and closed socket would. */
function quit(client: RedisClient, command: Command): void {
  client.manuallyClosing = true;
  setImmediate(() => {
    command.resolve(Buffer.from('OK'));
    // The socket closes after the reply has been read.
    setImmediate(() => closeWithoutSocket(client));
  });
}

function closeWithoutSocket(client: RedisClient): void {
  if (client.status === 'end' || client.status === 'close') return;
  eventHandlers?.closeHandler(client)();
}

/** Replay: a client becomes ready with no socket and sends what waited in its offline queue. */
function connectWithoutSocket(client: RedisClient): Promise<void> {
  if (['connecting', 'connect', 'ready'].includes(client.status)) {
    return Promise.reject(new Error('Redis is already connecting/connected'));
  }
  client.connectionEpoch = (client.connectionEpoch ?? 0) + 1;
  client.setStatus('connecting');
  const { options } = client;
  client.condition = {
    select: options.db,
    auth: options.username ? [options.username, options.password] : options.password,
    subscriber: false,
    protocol: options.protocol,
    replyMapping: options.protocol === 3 && options.replyMapping === 'resp3' ? 'resp3' : 'legacy',
    handshake: false,
  };
  return new Promise((resolve, reject) => {
    // On a later turn of the event loop, as a socket's connect would be: code that runs right
    // after `new Redis()` (listeners, a first command) runs before the client is ready, as live.
    setImmediate(() => {
      // Disconnected before it got here.
      if (client.status !== 'connecting') {
        reject(new Error('Connection is closed.'));
        return;
      }
      client.setStatus('connect');
      client.setStatus('ready');
      const queued = client.offlineQueue;
      client.resetOfflineQueue();
      for (let item = queued.shift(); item; item = queued.shift()) client.sendCommand(item.command, item.stream);
      client.once('ready', () => resolve());
    });
  });
}

function replayCommands(Redis: RedisClass, ctx: InstrumentationContext): void {
  const prototype = Redis.prototype;
  wrapMethod(
    prototype,
    'sendCommand',
    (send) =>
      function sendCommand(this: RedisClient, command: Command, stream?: unknown) {
        if (this.status !== 'ready') {
          // Queued (or refused) by ioredis itself, exactly as live; answered when it is sent again.
          if (!command[SEEN]) {
            command[SEEN] = true;
            command[ANSWER] = ctx.bindToSession(() => answer(this, command, ctx));
          }
          return send.call(this, command, stream);
        }
        // In RESP2 subscriber mode ioredis refuses most commands before sending anything.
        if (this.condition?.subscriber && this.options.protocol !== 3 && !SUBSCRIBER_MODE_COMMANDS.has(command.name))
          return send.call(this, command, stream);
        if (command.name === 'quit') quit(this, command);
        else if (command[ANSWER]) command[ANSWER]();
        else answer(this, command, ctx);
        command[SEEN] = true;
        return command.promise;
      },
  );
  wrapMethod(
    prototype,
    'connect',
    () =>
      function connect(this: RedisClient, callback?: (error: Error | null) => void) {
        const connected = connectWithoutSocket(this);
        if (callback) connected.then(() => callback(null), callback);
        return connected;
      },
  );
  wrapMethod(
    prototype,
    'disconnect',
    (disconnect) =>
      function (this: RedisClient, reconnect = false) {
        if (this.status === 'wait') return disconnect.call(this, reconnect);
        if (!reconnect) this.manuallyClosing = true;
        if (this.reconnectTimeout && !reconnect) {
          clearTimeout(this.reconnectTimeout);
          this.reconnectTimeout = null;
        }
        closeWithoutSocket(this);
      },
  );
}

const VERSIONS = '>=5 <7';

type ErrorClass = new (message: string) => Error;

export default defineInstrumentation({
  name: 'ioredis',
  role: 'dependency',
  hooks: [
    hook<{ default: RedisClass }>({
      module: 'ioredis',
      versions: VERSIONS,
      file: 'built/Redis.js',
      record: ({ default: Redis }, ctx) => recordCommands(Redis, ctx),
      replay: ({ default: Redis }, ctx) => replayCommands(Redis, ctx),
    }),
    // What replay needs of ioredis's own: its error class, RESP3 verbatim strings, subscriptions, close handling.
    hook<{ ReplyError: ErrorClass }>({
      module: 'ioredis',
      versions: VERSIONS,
      patch(exports) {
        classes.errors.set('ReplyError', exports.ReplyError);
      },
    }),
    hook<{ SimpleError: ErrorClass; BlobError: ErrorClass }>({
      module: 'ioredis',
      versions: '>=6 <7',
      file: 'built/resp/errors.js',
      patch(exports) {
        classes.errors.set('SimpleError', exports.SimpleError);
        classes.errors.set('BlobError', exports.BlobError);
      },
    }),
    hook<{ VerbatimString: ReplyClasses['verbatimString'] }>({
      module: 'ioredis',
      versions: '>=6 <7',
      file: 'built/resp/verbatim-string.js',
      patch(exports) {
        classes.verbatimString = exports.VerbatimString;
      },
    }),
    hook<{ default: PubSubClasses['subscriptionSet'] }>({
      module: 'ioredis',
      versions: VERSIONS,
      file: 'built/SubscriptionSet.js',
      patch(exports) {
        classes.subscriptionSet = exports.default;
      },
    }),
    hook<EventHandlers>({
      module: 'ioredis',
      versions: VERSIONS,
      file: 'built/redis/event_handler.js',
      patch(exports) {
        eventHandlers = exports;
      },
    }),
  ],
});
