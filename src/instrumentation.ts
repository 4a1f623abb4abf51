/**
 * The contract between the core and the files in `instrumentations/`. An instrumentation names
 * the module files it hooks and patches their exports; the patched functions turn library calls
 * into events with `ctx.record(...)` and serve them back with `ctx.replay(...)`. The core never
 * imports a library: it only ever sees these calls and events.
 */
import type { EventEmitter } from 'node:events';
import type { BodyPolicy } from './cassette/body.js';
import type { DependencyEvent, EventType, ReadKind } from './cassette/schema.js';
import type { RequestAnnotations, Session } from './context.js';
import type { Lookup, RecordedCall, ReplayMissError } from './calls.js';
import type { ConnectionOwner } from './replay/connection-guard.js';
import type { StackAnchor } from './stack.js';

export type ReplayOutcome =
  /** Serve this recording. */
  | { kind: 'recorded'; event: DependencyEvent }
  /** Fail the call with this error (strict replay). */
  | { kind: 'miss'; error: ReplayMissError }
  /** Let the call reach the real dependency (a miss with TIMETRACER_STRICT_REPLAY=false). */
  | { kind: 'live' };

export interface InstrumentationContext {
  readonly mode: 'record' | 'replay';
  /** Replay mode and this plugin is not listed as live: its calls must be served from cassettes. */
  readonly replaying: boolean;
  readonly bodies: BodyPolicy;
  /** The session of the request being handled, if any. */
  session(): Session | undefined;
  /** Record mode: starts timing a call of the current session; undefined outside one. */
  record(type: EventType): RecordedCall | undefined;
  /**
   * Replay mode: the recorded outcome for a call of the current session. `canGoLive: false`:
   * this call cannot reach the real dependency once replay has begun (its connection is not
   * real), so a miss fails it even with TIMETRACER_STRICT_REPLAY=false.
   */
  replay(lookup: Lookup, options?: { canGoLive?: boolean }): ReplayOutcome;
  /**
   * Says once, on stderr, that this plugin found nothing to patch (`problem`: what it expected),
   * so its calls are neither recorded nor served. Strict replay then refuses the connections its
   * library opens (src/replay/connection-guard.ts).
   */
  notAttached(problem: string): void;
  /**
   * Replay: the outcome for `call`, which this plugin cannot serve because it did not attach
   * (`problem`): a miss in strict replay, live otherwise. Said in a [MISS] line.
   */
  unserved(call: string, problem: string): Extract<ReplayOutcome, { kind: 'miss' | 'live' }>;
  /**
   * Replay: the recorded calls the current session is served from (its cassette's events), for
   * what a library needs once per connection (pg's server parameters); empty outside a session.
   */
  recordings(): readonly DependencyEvent[];
  /**
   * `fn` bound to the current session: it runs in that session wherever it is called from. For
   * callbacks a library calls from a pooled connection's context.
   */
  bindToSession<F extends (...args: never[]) => unknown>(fn: F): F;
  /**
   * Runs `fn`, and everything it starts, outside any session: what a library does underneath a
   * call another instrumentation records as a whole (the SQL beneath a Prisma operation) is then
   * nobody's call, not recorded twice.
   */
  outsideSession<T>(fn: () => T): T;
  /** Runs the emitter's listeners in the current session (see `bindEmitter`). */
  bind(emitter: EventEmitter): void;
  /**
   * Whether the call starting now is another observability agent's own (OpenTelemetry's exporters,
   * dd-trace's requests to its agent): the plugin leaves it alone, neither recorded nor served.
   * `record` and `replay` ask it too; a plugin that decides later than the call starts (once a
   * request is written) asks it at the start, `below` being its own wrapper.
   */
  isAnotherAgentsCall(below: StackAnchor): boolean;
  /** For framework instrumentations: what they know of the request being handled. */
  annotate(annotations: RequestAnnotations): void;
  /**
   * For outcome instrumentations: what the app worked out from a value replay cannot hand back
   * (a password checked against a hash the cassette holds redacted). Record mode keeps `live()`'s
   * value in the session's reads under `key`; replay hands the recorded ones back in order, and
   * `live()`'s past them. Without determinism, always `live()`.
   */
  outcome<T extends number | string>(key: string, kind: ReadKind, live: () => T): T;
}

/** Where to hook: a builtin or a global, patched at start-up... */
export interface BuiltinTarget {
  /** `node:http` (a builtin) or `globalThis` (for globals such as fetch). */
  module: `node:${string}` | 'globalThis';
  /**
   * Node's own files that open this target's connections, as stack traces name them
   * (`node:_http_agent`): how strict replay tells a connection is this plugin's. A package's
   * connections are told by its directory.
   */
  connectsFrom?: readonly string[];
}

/** ...or a file of a package, patched as it loads when the installed version is in range: */
interface PackageFile {
  module: string;
  /** semver range of the package. */
  versions: string;
  /**
   * Also patch copies of `file` that a code generator writes outside node_modules:
   * `<dir>/<file>` where `<dir>/package.json` names a package starting with this (Prisma copies
   * its runtime into a `prisma-client-js` client generated to an `output` of its own, as
   * `prisma-client-<hash>`). The version checked is that package.json's.
   */
  copiedAs?: string;
}

/**
 * ...a CommonJS file, patched where Node compiles it, whether a `require` or an ES `import` loads
 * it. The patch changes its exports in place, or returns what the file exports instead.
 */
export interface CommonJsTarget extends PackageFile {
  /** A file inside the package (`lib/router/layer.js`); the package's main export when absent. */
  file?: string;
  esModule?: false;
}

/**
 * ...or an ES module file (`.mjs`, or `.js` in a package of `"type": "module"`), patched as it
 * finishes running, before any module importing it runs. Node's module hooks reach it; they cost
 * every module load, so they are registered only for apps that depend on one of the packages such
 * hooks name (docs/node-lines.md). The patch is handed the module's exports as a plain object: the
 * values are the module's own, so classes, prototypes and objects are patched in place, as with
 * CommonJS. An export the patch replaces (`wrapMethod(exports, 'name', ...)`, or a replacement
 * object returned) is assigned to the module's own binding, which its importers and the module
 * itself then see; that works for a binding declared with `function`, `class`, `let` or `var`,
 * and for a `const` the hook fails (one line) and the module's exports stay as they were.
 */
export interface EsModuleTarget extends PackageFile {
  /** The module's file inside the package (`dist/router.js`). */
  file: string;
  esModule: true;
}

export type PackageTarget = CommonJsTarget | EsModuleTarget;

export type HookTarget = BuiltinTarget | PackageTarget;

export type Hook = HookTarget & {
  /**
   * Patches the exports in place, or returns what the module should export instead (a subclass,
   * say; for an ES module, see `EsModuleTarget`). `packageDir`: the directory of the package the file belongs to (for a package target),
   * which tells apart two installed copies of one package.
   */
  patch(exports: unknown, ctx: InstrumentationContext, packageDir?: string): unknown;
};

/** A package and the semver range of it that an instrumentation supports. */
export interface PackageRange {
  module: string;
  versions: string;
}

export interface Instrumentation {
  /** The plugin name; for dependency instrumentations, the one TIMETRACER_MOCK_PLUGINS / TIMETRACER_LIVE_PLUGINS use. */
  name: string;
  /**
   * `dependency`: records and replays the calls of a client library (http, fetch, pg, ...).
   * `framework`: tells the inbound request's framework, route and error; makes no calls.
   * `outcome`: replays what the app works out from values the cassette holds redacted; makes no calls.
   */
  role: 'dependency' | 'framework' | 'outcome';
  hooks: Hook[];
}

/**
 * Each package an instrumentation's hooks support with each range declared for it, once, in the
 * order declared: what the support matrix (test/versions/run.js) installs and tests.
 */
export function packageRanges({ hooks }: Instrumentation): PackageRange[] {
  const ranges = new Map<string, PackageRange>();
  for (const hook of hooks) {
    if ('versions' in hook) ranges.set(`${hook.module} ${hook.versions}`, { module: hook.module, versions: hook.versions });
  }
  return [...ranges.values()];
}

/**
 * Where a plugin's code lives, as parts of the file names a stack shows: each package it hooks
 * (`/node_modules/pg/`), and the Node files its builtin targets name (`connectsFrom`).
 */
export function codeLocations({ hooks }: Instrumentation): string[] {
  return hooks.flatMap((hook) =>
    'connectsFrom' in hook ? (hook.connectsFrom ?? []) : 'versions' in hook ? [`/node_modules/${hook.module}/`] : [],
  );
}

/** Where each dependency plugin's code lives, to tell whose connection a socket is. */
export function connectionOwners(instrumentations: readonly Instrumentation[]): ConnectionOwner[] {
  return instrumentations
    .filter((i) => i.role === 'dependency')
    .map((instrumentation) => ({ plugin: instrumentation.name, sources: codeLocations(instrumentation) }));
}

export function defineInstrumentation(instrumentation: Instrumentation): Instrumentation {
  return instrumentation;
}

/** A patch of a file's exports: changes them in place, or returns what the file should export instead. */
// biome-ignore lint/suspicious/noConfusingVoidType: a patch that changes the exports in place returns nothing.
export type Patch<Exports> = (exports: Exports, ctx: InstrumentationContext, packageDir?: string) => Exports | void;

/**
 * What a hook does to the file: one `patch` for every mode, or the record and the replay
 * behaviour side by side. `replay` runs when the plugin's calls are served from cassettes; a
 * plugin the user runs live (TIMETRACER_LIVE_PLUGINS) patches nothing in replay.
 */
export type HookBehaviour<Exports> = { patch: Patch<Exports> } | { record?: Patch<Exports>; replay?: Patch<Exports> };

/**
 * A hook whose patch states the shape of the exports it expects. The loader cannot know that
 * shape, so this is where the exports are taken to be what the hooked file exports.
 */
export function hook<Exports>(spec: HookTarget & HookBehaviour<Exports>): Hook {
  const { patch, record, replay, ...target } = spec as HookTarget & {
    patch?: Patch<Exports>;
    record?: Patch<Exports>;
    replay?: Patch<Exports>;
  };
  const behaviour = (ctx: InstrumentationContext): Patch<Exports> | undefined =>
    patch ?? (ctx.mode === 'record' ? record : ctx.replaying ? replay : undefined);
  return { ...target, patch: (exports, ctx, packageDir) => behaviour(ctx)?.(exports as Exports, ctx, packageDir) };
}
