/**
 * Prisma ORM 5, 6 and 7: each operation of a Prisma Client, whether a model query (`findMany`,
 * `create`, `upsert`, ... with `include` and `select`), one of a `$transaction` array, one inside an
 * interactive transaction, or `$queryRaw` and `$executeRaw`, is one `db.query` event with lib
 * `prisma`.
 *
 * Every operation passes through the client's `_executeRequest`, which returns what the app gets
 * (rows already turned into Dates, BigInts, Decimals, Uint8Arrays) or throws Prisma's error.
 * Record notes the model, action and arguments and that outcome; what the engine does underneath
 * (the SQL a driver adapter runs through pg) runs outside the request's session, so it is not
 * recorded again. Replay answers `_executeRequest` from the cassette, and the client's engine
 * neither connects nor opens transactions: no adapter, pg or database is used.
 *
 * Two runtimes hold the client, each hooked with its copies (prisma-client-js with `output` set
 * copies it): `runtime/client.js`, the client engine's (driver adapters; Prisma 6.16+ with
 * `engineType = "client"`, and 7), loaded by `prisma-client-js` and imported by `prisma-client`;
 * and the classic engine's (Prisma 5 and 6's default, `engineType = "library"`),
 * `runtime/library.js` loaded by `prisma-client-js`, and its ES build `runtime/library.mjs`
 * imported by `prisma-client` (compiled to ES modules). The classic engine is a Node-API library that its
 * constructor starts loading and that opens the database connections itself, out of any socket
 * guard's sight: in replay each such engine is stopped as its client is made.
 */
import {
  defineInstrumentation,
  describeError,
  hook,
  toErrorRecord,
  warn,
  wrapExport,
  wrapMethod,
  type DependencyEvent,
  type InstrumentationContext,
  type Redactor,
  type Signature,
} from '../../src/plugin.js';
import {
  restoreFailure,
  restoreValue,
  storeFailure,
  storeValue,
  type DecimalClass,
  type PrismaErrorClasses,
  type StoredFailure,
  type StoredValue,
} from './values.js';

/** What `_executeRequest` is handed for one operation. */
interface OperationParams {
  args: unknown;
  /** `user.findMany`, `$queryRaw`, ... */
  clientMethod: string;
  action: string;
  model?: string;
}

interface Engine {
  start(): Promise<void>;
  stop(): Promise<void>;
  transaction(action: 'start' | 'commit' | 'rollback', headers: unknown, info: unknown): Promise<unknown>;
  request(...args: unknown[]): Promise<unknown>;
  requestBatch(...args: unknown[]): Promise<unknown>;
}

interface PrismaClient {
  _engine: Engine;
  _executeRequest(params: OperationParams): Promise<unknown>;
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
  _transactionWithCallback(options: unknown): Promise<unknown>;
}

/**
 * The classic engine (`LibraryEngine` of `runtime/library.js`): its constructor calls
 * `instantiateLibrary`, which finds the platform, then `loadEngine` loads the Node-API library
 * (or, when the client was generated for it, Prisma's WebAssembly build of the same engine).
 */
interface LibraryEngine extends Engine {
  libraryInstantiationPromise?: Promise<void>;
  instantiateLibrary(): Promise<void>;
  loadEngine(): Promise<void>;
}

/** The class `getPrismaClient` makes: the app's PrismaClient. */
type ClientClass = { prototype: PrismaClient; new (...args: unknown[]): PrismaClient };

type Runtime = PrismaErrorClasses & {
  getPrismaClient(config: unknown): ClientClass;
  Decimal?: DecimalClass;
};

/** A call as the cassette keeps it. */
interface PrismaSignature extends Signature {
  lib: 'prisma';
  /** The model (`User`), null for raw queries. */
  model: string | null;
  /** `findMany`, `create`, `queryRaw`, ... */
  action: string;
  /** The arguments as the app gave them (Decimals as text). */
  args: unknown;
}

/** The same in record and replay, secrets redacted alike, so a replayed operation matches its recording. */
function signatureOf({ model, action, args }: OperationParams, redactor: Redactor): PrismaSignature {
  return { lib: 'prisma', model: model ?? null, action, args: storeValue(rawQuery(args) ?? args ?? null, redactor).value };
}

/** A tagged-template query (`$queryRaw\`...\``, `Prisma.sql`) as its SQL text and values. */
function rawQuery(args: unknown): { text: string; values: unknown[] } | undefined {
  const sql = args as { text?: unknown; values?: unknown; strings?: unknown } | null;
  if (typeof sql?.text !== 'string' || !Array.isArray(sql.values) || !Array.isArray(sql.strings)) return undefined;
  return { text: sql.text, values: sql.values };
}

/** Record: the engine's own work (the adapter's SQL, its transactions, its pool) belongs to no request. */
function engineOutsideSessions(engine: Engine, ctx: InstrumentationContext): void {
  const prototype = Object.getPrototypeOf(engine) as Engine;
  for (const name of ['start', 'stop', 'transaction', 'request', 'requestBatch'] as const) {
    wrapMethod(
      prototype,
      name,
      (method) =>
        function (this: Engine, ...args: unknown[]) {
          return ctx.outsideSession(() => (method as (...a: unknown[]) => Promise<unknown>).apply(this, args));
        } as Engine[typeof name],
    );
  }
}

let transactionIds = 0;

/** Replay: an engine that never connects; interactive transactions open and close without a database. */
function engineWithoutDatabase(engine: Engine): void {
  const prototype = Object.getPrototypeOf(engine) as Engine;
  wrapMethod(prototype, 'start', () => async function start() {});
  wrapMethod(prototype, 'stop', () => async function stop() {});
  wrapMethod(
    prototype,
    'transaction',
    () =>
      async function transaction(action: string) {
        return action === 'start' ? { id: `timetracer-replay-${++transactionIds}` } : undefined;
      },
  );
}

/**
 * Replay, classic engine: nothing loads the engine's library, so nothing can connect. The first
 * engine began loading in its constructor; it is patched before that gets past its first await,
 * and the loading it began, which nobody awaits now, may fail unseen.
 */
function engineWithoutLibrary(engine: Engine): void {
  engineWithoutDatabase(engine);
  // Accelerate's engine (a `prisma://` URL), the other one this runtime makes, loads nothing.
  if ((engine as { name?: unknown }).name !== 'LibraryEngine') return;
  const prototype = Object.getPrototypeOf(engine) as LibraryEngine;
  wrapMethod(prototype, 'instantiateLibrary', () => async function instantiateLibrary() {});
  wrapMethod(prototype, 'loadEngine', () => async function loadEngine() {});
  (engine as LibraryEngine).libraryInstantiationPromise?.catch(() => {});
}

/**
 * The client class, its engines patched as each client is made: the classic engine starts work in
 * its constructor, before any client method timetracer could adopt it from. A proxy, so that
 * `instanceof`, subclasses and static members stay the class's own.
 */
function adoptedAtConstruction(Client: ClientClass, patchEngine: (engine: Engine) => void): ClientClass {
  return new Proxy(Client, {
    construct(target, args, newTarget) {
      const client = Reflect.construct(target, args, newTarget) as PrismaClient;
      adopt(client, patchEngine);
      return client;
    },
  });
}

function recordOperations(Client: { prototype: PrismaClient }, ctx: InstrumentationContext): void {
  const patchEngine = (engine: Engine) => engineOutsideSessions(engine, ctx);
  adoptEngine(Client, patchEngine);
  const { redactor } = ctx.bodies;
  wrapMethod(
    Client.prototype,
    '_executeRequest',
    (execute) =>
      async function (this: PrismaClient, params: OperationParams) {
        adopt(this, patchEngine);
        const call = ctx.record('db.query');
        if (!call) return execute.call(this, params);
        let signature: PrismaSignature;
        try {
          signature = signatureOf(params, redactor);
        } catch (error) {
          call.cancel();
          warn(`could not take down a Prisma ${params.clientMethod} call (${describeError(error)}); it is not recorded`);
          return execute.call(this, params);
        }
        let result: unknown;
        try {
          result = await execute.call(this, params);
        } catch (error) {
          call.end(() => ({ signature, error: toErrorRecord(error, 'dependency'), result: storeFailure(error, redactor) }));
          throw error;
        }
        try {
          // Copied now: the app owns the result and may change it before the cassette is written.
          const stored = storeValue(result, redactor);
          call.end(() => ({ signature, result: stored }));
        } catch (error) {
          call.cancel();
          warn(`could not take down the result of a Prisma ${params.clientMethod} call (${describeError(error)}); it is not recorded`);
        }
        return result;
      },
  );
}

function replayOperations(Client: { prototype: PrismaClient }, ctx: InstrumentationContext, runtime: Runtime): void {
  adoptEngine(Client, engineWithoutDatabase);
  wrapMethod(
    Client.prototype,
    '_executeRequest',
    () =>
      async function (this: PrismaClient, params: OperationParams) {
        const outcome = ctx.replay({ type: 'db.query', signature: signatureOf(params, ctx.bodies.redactor) }, { canGoLive: false });
        if (outcome.kind === 'miss') throw outcome.error;
        if (outcome.kind === 'live') throw new Error('timetracer: a replayed Prisma Client cannot reach the database');
        const event = outcome.event as DependencyEvent<unknown, StoredValue | StoredFailure>;
        if (event.error) throw restoreFailure(event.error, event.result as StoredFailure | undefined, runtime);
        return restoreValue(event.result as StoredValue, runtime.Decimal);
      },
  );
}

/** Patches the engine's class when a client first uses its engine: the runtime does not export that class. */
function adoptEngine(Client: { prototype: PrismaClient }, patchEngine: (engine: Engine) => void): void {
  for (const name of ['$connect', '$disconnect', '_transactionWithCallback'] as const) {
    wrapMethod(
      Client.prototype,
      name,
      (method) =>
        function (this: PrismaClient, ...args: unknown[]) {
          adopt(this, patchEngine);
          return (method as (...a: unknown[]) => Promise<unknown>).apply(this, args);
        } as PrismaClient[typeof name],
    );
  }
}

let adoptFailed = false;

/** Patches a client's engine; a client whose engine is not what timetracer knows keeps it as it is. */
function adopt(client: PrismaClient, patchEngine: (engine: Engine) => void): void {
  try {
    patchEngine(client._engine);
  } catch (error) {
    if (adoptFailed) return;
    adoptFailed = true;
    warn(`could not adapt Prisma's engine (${describeError(error)}); its own queries may be recorded or attempted as well`);
  }
}

/**
 * The runtime with `getPrismaClient` making client classes patched by `patchClient`, which
 * returns the class to hand the app. A client class that is not what timetracer knows is handed
 * over as it is, and said so.
 */
function instrumentRuntime(
  runtime: Runtime,
  ctx: InstrumentationContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a patch that changes the class in place returns nothing.
  patchClient: (Client: ClientClass) => ClientClass | void,
): Runtime {
  return wrapExport(runtime, 'getPrismaClient', (getPrismaClient) => (config: unknown) => {
    const Client = getPrismaClient(config);
    try {
      return patchClient(Client) ?? Client;
    } catch (error) {
      ctx.notAttached(`could not patch the client class Prisma made (${describeError(error)})`);
      return Client;
    }
  });
}

/** The client engine's runtime: Prisma 6.16 added it, 7 has only it. */
const CLIENT_ENGINE_VERSIONS = '>=6.16 <8';
/** The classic engine's runtime: Prisma 5 and 6 (7 has none). */
const LIBRARY_ENGINE_VERSIONS = '>=5 <7';

/** Record, either runtime: each operation of each client the runtime makes. */
function recordRuntime(runtime: Runtime, ctx: InstrumentationContext): Runtime {
  return instrumentRuntime(runtime, ctx, (Client) => recordOperations(Client, ctx));
}

/** Replay, classic engine: operations from the cassette, and each client's engine stopped as the client is made. */
function replayLibraryRuntime(runtime: Runtime, ctx: InstrumentationContext): Runtime {
  return instrumentRuntime(runtime, ctx, (Client) => {
    replayOperations(Client, ctx, runtime);
    return adoptedAtConstruction(Client, engineWithoutLibrary);
  });
}

export default defineInstrumentation({
  name: 'prisma',
  role: 'dependency',
  hooks: [
    // Required by prisma-client-js's client (or its copy, with an `output` of its own), imported by
    // prisma-client's (Node resolves the import to this CommonJS file: the package's exports say
    // so under the "node" condition).
    hook<Runtime>({
      module: '@prisma/client',
      versions: CLIENT_ENGINE_VERSIONS,
      file: 'runtime/client.js',
      copiedAs: 'prisma-client-',
      record: recordRuntime,
      replay: (runtime, ctx) => instrumentRuntime(runtime, ctx, (Client) => replayOperations(Client, ctx, runtime)),
    }),
    // Required by prisma-client-js's client on the classic engine (or its copy).
    hook<Runtime>({
      module: '@prisma/client',
      versions: LIBRARY_ENGINE_VERSIONS,
      file: 'runtime/library.js',
      copiedAs: 'prisma-client-',
      record: recordRuntime,
      replay: replayLibraryRuntime,
    }),
    // Imported by prisma-client's client on the classic engine (Prisma 6 only: Prisma 5 has no
    // prisma-client generator, and its `runtime/library` is library.js alone). `getPrismaClient` is
    // a function the module declares with `function`, so its binding takes the wrapped one.
    hook<Runtime>({
      module: '@prisma/client',
      versions: LIBRARY_ENGINE_VERSIONS,
      file: 'runtime/library.mjs',
      esModule: true,
      record: recordRuntime,
      replay: replayLibraryRuntime,
    }),
  ],
});
