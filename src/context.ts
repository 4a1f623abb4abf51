/**
 * Which session a dependency call belongs to. Each inbound request runs in its own session,
 * carried by AsyncLocalStorage, so concurrent requests never mix their calls. A call made outside
 * every request (at start-up, from a timer, a pool's own upkeep) belongs to the process session,
 * when there is one; code run with `runOutsideSessions` (what a library does beneath a call
 * already recorded whole) belongs to none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ReadStream } from './determinism/streams.js';
import type { CallSink, CallSource } from './calls.js';
import type { TraceIds } from './cassette/schema.js';

/** What a framework instrumentation tells about the request it is handling. */
export interface RequestAnnotations {
  framework?: string;
  /** Called when the cassette is written, once the framework has routed the request. */
  route?: () => string | undefined;
  error?: unknown;
}

/** Random bytes drawn in bulk: a session id per request without a call into the random source each time. */
let idPool = Buffer.alloc(0);
let idOffset = 0;

/** 8 hex digits, at random. */
export function newSessionId(): string {
  if (idOffset + 4 > idPool.length) {
    idPool = randomBytes(4096);
    idOffset = 0;
  }
  idOffset += 4;
  return idPool.toString('hex', idOffset - 4, idOffset);
}

export type SessionKind = 'request' | 'process';

/**
 * The clock as it was when timetracer loaded, before determinism wraps `Date`: a session's start
 * is timetracer's own read, and asking the wrapped clock would cost a look at the stack each time.
 */
const wallClock = Date.now;

export class Session {
  readonly id = newSessionId();
  readonly startedAt: Date;
  /** performance.now() at the start: call offsets are measured from here. */
  readonly t0: number;
  framework = 'node:http';
  /** Record mode: where the calls made go. */
  calls: CallSink | undefined;
  /** What the session's code reads from the clock and randomness goes through here (none: determinism off). */
  reads: ReadStream | undefined;
  /** Replay mode: where the calls are served from. */
  replay: CallSource | undefined;
  private routeOf: (() => string | undefined) | undefined;
  error: unknown;
  /** The OpenTelemetry span the request ran in, if one was active. */
  trace: TraceIds | undefined;
  private ended = false;

  /** `process`: the session of everything done outside requests, timed from the process's start. */
  constructor(readonly kind: SessionKind = 'request') {
    this.t0 = kind === 'process' ? 0 : performance.now();
    this.startedAt = new Date(kind === 'process' ? performance.timeOrigin : wallClock());
  }

  annotate(annotations: RequestAnnotations): void {
    if (annotations.framework) this.framework = annotations.framework;
    if (annotations.route) this.routeOf = annotations.route;
    if (annotations.error !== undefined && this.error === undefined) this.error = annotations.error;
  }

  route(): string | null {
    try {
      return this.routeOf?.() ?? null;
    } catch {
      return null;
    }
  }

  /**
   * The response has gone out. From here on the session is nobody's current session: work the
   * request left behind (timers, pools first used in it) is not this request's any more.
   */
  end(): void {
    this.ended = true;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  elapsed(): number {
    return performance.now() - this.t0;
  }
}

/** What runOutsideSessions runs in: no session, not even the process's. */
const NO_SESSION = new Session();
NO_SESSION.end();

const storage = new AsyncLocalStorage<Session>();
let processSession: Session | undefined;

/** The session of what is done outside requests, from now on. */
export function setProcessSession(session: Session): void {
  processSession = session;
}

/** The request being handled, if any (a request's session ends with its response). */
export function currentSession(): Session | undefined {
  const session = storage.getStore();
  return session?.isEnded ? undefined : session;
}

/** The session a call made here belongs to: the current request's, else the process's, else none. */
export function activeSession(): Session | undefined {
  const session = storage.getStore();
  if (session === NO_SESSION) return undefined;
  return session && !session.isEnded ? session : processSession;
}

export function runInSession<T>(session: Session | undefined, fn: () => T): T {
  return session ? storage.run(session, fn) : fn();
}

/** Runs `fn`, and what it starts, in no session at all: its calls are nobody's. */
export function runOutsideSessions<T>(fn: () => T): T {
  return storage.run(NO_SESSION, fn);
}

const BOUND = Symbol('timetracer.bound');

/**
 * Runs every listener of `emitter` in `session`. Events of pooled sockets and body streams fire
 * in whatever context created the socket; without this, a keep-alive socket first opened by
 * request A would hand request B's response callbacks to A.
 */
export function bindEmitter(emitter: EventEmitter, session: Session): void {
  const target = emitter as EventEmitter & { [BOUND]?: Session };
  if (target[BOUND] === session) return;
  const alreadyBound = target[BOUND] !== undefined;
  target[BOUND] = session;
  if (alreadyBound) return;
  const emit = emitter.emit;
  emitter.emit = function boundEmit(this: EventEmitter & { [BOUND]?: Session }, ...args: Parameters<EventEmitter['emit']>) {
    const owner = this[BOUND];
    return owner ? storage.run(owner, () => emit.apply(this, args)) : emit.apply(this, args);
  } as EventEmitter['emit'];
}
