/**
 * PostgreSQL through pg 8: every query of Client and Pool, in callback, promise, config-object,
 * prepared and Submittable (pg-cursor, pg-query-stream) forms.
 *
 * pg's Connection is where a query meets the wire: the client sends parse/bind/execute/sync (or
 * a simple query), the server answers with messages the Connection emits. Record notes what was
 * sent and what came back; replay gives the Connection methods that answer from the cassette
 * instead of a socket, so connects succeed with no server and the rest of pg runs unchanged.
 * A query belongs to the session it was made in: each query object is adopted when it is made.
 */
import type { EventEmitter } from 'node:events';
import {
  defineInstrumentation,
  fromErrorRecord,
  hook,
  observeEvents,
  wrapMethod,
  type ErrorRecord,
  type InstrumentationContext,
  type RecordedCall,
  type Redactor,
  type ReplayOutcome,
  type Session,
} from '../../src/plugin.js';
import { PgPlayback, PgRecording, QUERY_MESSAGES, pgLookup, startupReply, type PgEmit, type PgMessage } from './replies.js';

const RECORDING = Symbol('timetracer.pg.recording');
const LOOKUP = Symbol('timetracer.pg.lookup');
const ADOPTED = Symbol('timetracer.pg.adopted');
const OWNER = Symbol('timetracer.pg.owner');
const STATEMENTS = Symbol('timetracer.pg.statements');
const PLAYBACK = Symbol('timetracer.pg.playback');
const STATUS = Symbol('timetracer.pg.status');
const ANSWERING = Symbol('timetracer.pg.answering');
const SERVER_PARAMETERS = Symbol('timetracer.pg.serverParameters');

/** Sessions whose recording already holds the server parameters (PgCallResult.server_parameters). */
const sessionsWithServerParameters = new WeakSet<Session>();

type Lookup = (sql: string, params: unknown[]) => ReplayOutcome;

interface QueryRecording {
  call: RecordedCall;
  replies: PgRecording;
  /** The session the query was made in (it may be sent from another's context, queued on a pool). */
  session: Session | undefined;
}

/** A query object: pg's Query or any Submittable (pg-cursor, pg-query-stream). */
interface Submittable {
  submit(connection: unknown): unknown;
  handleError(error: unknown, connection: unknown): unknown;
  callback?: unknown;
  [RECORDING]?: QueryRecording;
  [LOOKUP]?: Lookup;
  [ADOPTED]?: true;
}

interface BindConfig {
  statement?: string;
  values?: unknown[] | null;
  valueMapper?: (value: unknown, index: number) => unknown;
}

/** What the client has sent since the last reply began: the statement being run. */
interface Statements {
  byName: Map<string, string>;
  pending: { sql: string; params: unknown[] } | undefined;
}

interface Connection extends EventEmitter {
  stream: { on(event: 'close', listener: () => void): unknown };
  parsedStatements: Record<string, string>;
  _ending: boolean;
  _connecting?: boolean;
  [OWNER]?: Client;
  [STATEMENTS]?: Statements;
  [PLAYBACK]?: { playback: PgPlayback | undefined; error: Error | undefined; errorSent: boolean };
  /** Replay: the transaction status last reported (I idle, T in a transaction, E failed one). */
  [STATUS]?: string;
  /** Record: the query whose replies are arriving (the client forgets it on an error before its last reply). */
  [ANSWERING]?: QueryRecording;
  /** Record: the ParameterStatus values the server sent while this connection started. */
  [SERVER_PARAMETERS]?: Record<string, string>;
  connect(port?: unknown, host?: unknown): void;
  requestSsl(): void;
  startup(config: unknown): void;
  query(text: string): void;
  parse(query: { text: string; name?: string }): void;
  bind(config: BindConfig): void;
  describe(message: unknown): void;
  execute(config: unknown): void;
  flush(): void;
  sync(): void;
  close(message: unknown): void;
  end(): void;
  ref(): void;
  unref(): void;
  cancel(processID: unknown, secretKey: unknown): void;
  sendCopyFromChunk(chunk: unknown): void;
  endCopyFrom(): void;
  sendCopyFail(message: unknown): void;
}

interface Client {
  connection: Connection;
  /** pg 8.12+ keeps it here; earlier 8.x in `activeQuery`. */
  _activeQuery?: Submittable | null;
  activeQuery?: Submittable | null;
  query(...args: unknown[]): unknown;
  connect(...args: unknown[]): unknown;
}

type QueryClass = new (...args: unknown[]) => Submittable;

interface DatabaseErrorClass {
  new (message: string, length: number, name: string): Error;
}

let DatabaseError: DatabaseErrorClass | undefined;

/**
 * pg 8.0.0 to 8.0.2 never complete a connection on Node 14 and later, so on no Node timetracer
 * runs on; from 8.0.3 on, pg 8 installs pg-pool 3.
 */
const VERSIONS = '>=8.0.3 <9';
const POOL_VERSIONS = '>=3 <4';

export default defineInstrumentation({
  name: 'pg',
  role: 'dependency',
  hooks: [
    hook<QueryClass>({ module: 'pg', versions: VERSIONS, file: 'lib/query.js', patch: adoptingQueryClass }),
    hook<{ prototype: Client }>({
      module: 'pg',
      versions: VERSIONS,
      file: 'lib/client.js',
      patch: (Client, ctx) => patchClient(Client.prototype, ctx),
    }),
    hook<{ prototype: Connection }>({
      module: 'pg',
      versions: VERSIONS,
      file: 'lib/connection.js',
      record: (Connection, ctx) => recordConnection(Connection.prototype, ctx.bodies.redactor),
      replay: (Connection, ctx) => replayConnection(Connection.prototype, ctx),
    }),
    hook<{ prototype: { connect(...args: unknown[]): unknown } }>({
      module: 'pg-pool',
      versions: POOL_VERSIONS,
      patch: (Pool, ctx) => patchPool(Pool.prototype, ctx),
    }),
    hook<{ DatabaseError?: DatabaseErrorClass }>({
      module: 'pg-protocol',
      versions: '>=1 <2',
      patch: (protocol) => {
        DatabaseError = protocol.DatabaseError;
      },
    }),
  ],
});

/** Ties a query object to the session it is made in: its recording, or its lookup on replay. */
function adopt(query: Submittable, ctx: InstrumentationContext): void {
  if (query[ADOPTED]) return;
  query[ADOPTED] = true;
  if (ctx.mode === 'record') {
    const call = ctx.record('db.query');
    if (call) query[RECORDING] = { call, replies: new PgRecording(), session: ctx.session() };
  } else if (ctx.replaying) {
    query[LOOKUP] = ctx.bindToSession((sql: string, params: unknown[]) =>
      ctx.replay(pgLookup(sql, params, ctx.bodies.redactor), { canGoLive: false }),
    );
  }
  // Rows, 'end' and stream data are emitted from the connection: keep them in the session.
  if (typeof (query as Partial<EventEmitter>).emit === 'function') ctx.bind(query as unknown as EventEmitter);
}

/** pg's Query, adopting each query as it is made (Client#query makes them inside the app's call). */
function adoptingQueryClass(Query: QueryClass, ctx: InstrumentationContext): QueryClass {
  return class extends Query {
    constructor(...args: unknown[]) {
      super(...args);
      adopt(this, ctx);
    }

    override handleError(error: unknown, connection: unknown): unknown {
      // Refused before anything was sent (a client that cannot query, values not an array):
      // no call happened, and replay will refuse it the same way.
      const recording = this[RECORDING];
      if (recording && !recording.replies.started) {
        recording.call.cancel();
        this[RECORDING] = undefined;
      }
      return super.handleError(error, connection);
    }
  };
}

function isSubmittable(value: unknown): value is Submittable {
  return typeof value === 'object' && value !== null && typeof (value as Submittable).submit === 'function';
}

function patchClient(client: Client, ctx: InstrumentationContext): void {
  const bound = (value: unknown): unknown => (typeof value === 'function' ? ctx.bindToSession(value as () => unknown) : value);
  wrapMethod(
    client,
    'query',
    (query) =>
      function queryInSession(this: Client, config: unknown, values?: unknown, callback?: unknown) {
        this.connection[OWNER] = this;
        if (isSubmittable(config)) {
          adopt(config, ctx);
          if (typeof config.callback === 'function') config.callback = bound(config.callback);
        } else if (typeof config === 'object' && config !== null && typeof (config as { callback?: unknown }).callback === 'function') {
          config = { ...config, callback: bound((config as { callback: unknown }).callback) };
        }
        // Callbacks are called from the connection's context: bring them back to the caller's session.
        return query.call(this, config, bound(values), bound(callback));
      },
  );
  wrapMethod(
    client,
    'connect',
    (connect) =>
      function connectOwned(this: Client, ...args: unknown[]) {
        this.connection[OWNER] = this;
        return connect.apply(this, args.map(bound));
      },
  );
}

/** Pool#connect: its callback runs where a client came free, maybe in another request. */
function patchPool(pool: { connect(...args: unknown[]): unknown }, ctx: InstrumentationContext): void {
  wrapMethod(
    pool,
    'connect',
    (connect) =>
      function connectInSession(this: unknown, callback?: unknown) {
        return connect.call(this, typeof callback === 'function' ? ctx.bindToSession(callback as () => unknown) : callback);
      },
  );
}

function activeQuery(connection: Connection): Submittable | undefined {
  const client = connection[OWNER];
  if (!client) return undefined;
  return ('_activeQuery' in client ? client._activeQuery : client.activeQuery) ?? undefined;
}

function statementsOf(connection: Connection): Statements {
  return (connection[STATEMENTS] ??= { byName: new Map(), pending: undefined });
}

/** Follows what the client sends: the SQL and the parameters as pg converted them. */
const track = {
  query(connection: Connection, text: string): void {
    statementsOf(connection).pending = { sql: text, params: [] };
  },
  parse(connection: Connection, { text, name }: { text: string; name?: string }): void {
    const statements = statementsOf(connection);
    statements.byName.set(name ?? '', text);
    statements.pending = { sql: text, params: [] };
  },
  bind(connection: Connection, { statement, values, valueMapper }: BindConfig): void {
    const statements = statementsOf(connection);
    const sql = statements.byName.get(statement ?? '') ?? connection.parsedStatements?.[statement ?? ''] ?? statements.pending?.sql ?? '';
    const params = (values ?? []).map((value, index) => (valueMapper ? valueMapper(value, index) : value));
    statements.pending = { sql, params };
  },
  /** The statement the next reply answers, once. */
  take(connection: Connection): { sql: string; params: unknown[] } | undefined {
    const statements = statementsOf(connection);
    const { pending } = statements;
    statements.pending = undefined;
    return pending;
  },
};

function recordConnection(connection: Connection, redactor: Redactor): void {
  const sending = (self: Connection): void => {
    const statement = track.take(self);
    // Earlier pg 8 releases let go of a failed query before its error handler sends the sync ending it.
    const recording = activeQuery(self)?.[RECORDING] ?? self[ANSWERING];
    // Replay answers a flush only once a statement has been sent: count replies the same way.
    if (!recording || recording.replies.finished || (!recording.replies.started && !statement)) return;
    if (!recording.replies.started) keepServerParameters(recording, self);
    recording.replies.sent(statement);
    self[ANSWERING] = recording;
  };
  wrapMethod(
    connection,
    'query',
    (query) =>
      function recordedQuery(this: Connection, text: string) {
        query.call(this, text);
        track.query(this, text);
        sending(this);
      },
  );
  wrapMethod(
    connection,
    'parse',
    (parse) =>
      function recordedParse(this: Connection, statement: { text: string; name?: string }) {
        parse.call(this, statement);
        track.parse(this, statement);
      },
  );
  wrapMethod(
    connection,
    'bind',
    (bind) =>
      function recordedBind(this: Connection, config: BindConfig) {
        bind.call(this, config);
        track.bind(this, config);
      },
  );
  for (const trigger of ['flush', 'sync'] as const) {
    wrapMethod(
      connection,
      trigger,
      (send) =>
        function recordedTrigger(this: Connection) {
          send.call(this);
          sending(this);
        },
    );
  }
  wrapMethod(
    connection,
    'connect',
    (connect) =>
      function observedConnect(this: Connection, port?: unknown, host?: unknown) {
        const parameters: Record<string, string> = {};
        observeEvents(this, (event, args) => {
          // Start-up ends at the first ReadyForQuery; ParameterStatus after it reports a SET.
          if (!this[SERVER_PARAMETERS] && event === 'parameterStatus') {
            const { parameterName, parameterValue } = args[0] as { parameterName: string; parameterValue: string };
            parameters[parameterName] = parameterValue;
          } else if (!this[SERVER_PARAMETERS] && event === 'readyForQuery') {
            this[SERVER_PARAMETERS] = parameters;
          }
          received(this, String(event), args[0], redactor);
        });
        return connect.call(this, port, host);
      },
  );
}

/** Record: the first query a session sends keeps the server parameters of its connection. */
function keepServerParameters({ replies, session }: QueryRecording, connection: Connection): void {
  const parameters = connection[SERVER_PARAMETERS];
  if (!session || !parameters || sessionsWithServerParameters.has(session)) return;
  sessionsWithServerParameters.add(session);
  replies.serverParameters = parameters;
}

/** Record: a message from the server, for the query it answers. */
function received(connection: Connection, event: string, message: unknown, redactor: Redactor): void {
  const recording = connection[ANSWERING];
  if (!recording || recording.replies.finished) return;
  const { call, replies } = recording;
  if (event === 'error' || event === 'end') {
    replies.failed(event === 'error' ? message : new Error('Connection terminated unexpectedly'));
  } else if (QUERY_MESSAGES.has(event)) {
    replies.received(event, message as PgMessage);
    if (event !== 'readyForQuery') return;
  } else {
    return;
  }
  replies.finished = true;
  connection[ANSWERING] = undefined;
  call.end(() => replies.describe(redactor));
}

function databaseError(record: ErrorRecord): Error {
  if (!DatabaseError || record.name !== 'error') return fromErrorRecord(record);
  const error = new DatabaseError(record.message, Number(record.fields?.length ?? 0), record.name) as Error & Record<string, unknown>;
  Object.assign(error, record.fields);
  if (record.code !== undefined) error.code = record.code;
  return error;
}

/** Replay: the Connection answers from the cassette; no socket is ever opened. */
function replayConnection(connection: Connection, ctx: InstrumentationContext): void {
  const later = (self: Connection, messages: PgEmit[]): void => {
    process.nextTick(() => {
      for (const [event, message] of messages) {
        if (event === 'readyForQuery') {
          self[STATUS] = String((message as PgMessage).status);
          // The call is over: clear it first, the client sends its next query at once.
          self[PLAYBACK] = undefined;
        }
        self.emit(event, message);
      }
    });
  };
  const answer = (self: Connection): void => {
    let state = self[PLAYBACK];
    if (!state) {
      const statement = track.take(self) ?? { sql: '', params: [] };
      const lookup =
        activeQuery(self)?.[LOOKUP] ??
        ((sql: string, params: unknown[]) => ctx.replay(pgLookup(sql, params, ctx.bodies.redactor), { canGoLive: false }));
      const outcome = lookup(statement.sql, statement.params);
      state =
        outcome.kind === 'recorded'
          ? { playback: new PgPlayback(outcome.event, databaseError), error: undefined, errorSent: false }
          : {
              playback: undefined,
              error: outcome.kind === 'miss' ? outcome.error : new Error('timetracer: pg calls cannot go live during replay'),
              errorSent: false,
            };
      self[PLAYBACK] = state;
    }
    const messages = state.playback?.next();
    if (messages) {
      later(self, messages);
      return;
    }
    // A miss, or more asked of a query than was recorded: fail it as the server fails a query.
    const error = state.error ?? new Error('timetracer: the query asked the server for more than was recorded');
    const reply: PgEmit[] = state.errorSent ? [] : [['errorMessage', error]];
    state.errorSent = true;
    reply.push(['readyForQuery', { name: 'readyForQuery', status: self[STATUS] === 'T' || self[STATUS] === 'E' ? 'E' : 'I' }]);
    later(self, reply);
  };
  Object.assign(connection, {
    connect(this: Connection) {
      this._connecting = true;
      this.stream.on('close', () => this.emit('end'));
      process.nextTick(() => this.emit('connect'));
    },
    requestSsl(this: Connection) {
      process.nextTick(() => this.emit('sslconnect'));
    },
    startup(this: Connection) {
      later(this, startupReply(ctx.recordings()));
    },
    query(this: Connection, text: string) {
      track.query(this, text);
      answer(this);
    },
    parse(this: Connection, statement: { text: string; name?: string }) {
      track.parse(this, statement);
    },
    bind(this: Connection, config: BindConfig) {
      track.bind(this, config);
    },
    flush(this: Connection) {
      if (this[PLAYBACK] || statementsOf(this).pending) answer(this);
    },
    sync(this: Connection) {
      answer(this);
    },
    end(this: Connection) {
      this._ending = true;
      process.nextTick(() => this.emit('end'));
    },
    describe() {},
    execute() {},
    close() {},
    ref() {},
    unref() {},
    cancel() {},
    sendCopyFromChunk() {},
    endCopyFrom() {},
    sendCopyFail() {},
  } satisfies Partial<Record<keyof Connection, unknown>>);
}
