/**
 * A dependency call as the core and its plugins see it, in each mode. Record: a session's calls go
 * to a `CallSink`, each timed as a `RecordedCall` and described, once finished, by its
 * `CallOutcome`. Replay: a session's calls are looked up (`Lookup`) in a `CallSource`, which
 * answers with a recording or a `ReplayMissError`.
 */
import type { Body, DependencyEvent, ErrorRecord, EventType, Signature } from './cassette/schema.js';

/** What an instrumentation reports about a finished call. */
export interface CallOutcome {
  signature: Signature;
  request?: unknown;
  result?: unknown;
  error?: ErrorRecord;
}

export interface RecordedCall {
  /** Marks the call finished now; `describe` runs later, off the request's path. */
  end(describe: () => CallOutcome): void;
  /**
   * What to record if the call has not finished when the cassette is written (a response whose
   * body the app never read): the call as far as it went.
   */
  sofar(describe: () => CallOutcome): void;
  /** The call never happened after all (the library refused it before sending anything). */
  cancel(): void;
}

/** Where a session's calls are recorded. */
export interface CallSink {
  /** Starts timing a call; undefined when it is not to be recorded. */
  start(type: EventType): RecordedCall | undefined;
}

export interface Lookup {
  type: EventType;
  signature: Signature;
  /** The live call's request body, compared with the recorded one to explain a miss. */
  body?: Body | null;
}

export const REPLAY_MISS = 'TIMETRACER_REPLAY_MISS';

export class ReplayMissError extends Error {
  override name = 'ReplayMissError';
  readonly code = REPLAY_MISS;

  constructor(
    readonly call: string,
    readonly reason: string,
  ) {
    super(`timetracer: ${call} was not recorded; ${reason}`);
  }
}

/** A recording to serve, or why there is none. */
export type ReplayAnswer = { event: DependencyEvent } | { miss: ReplayMissError };

/** Where a replaying session's calls are served from. */
export interface CallSource {
  answer(lookup: Lookup): ReplayAnswer;
  /** A call refused without a lookup (its plugin is not instrumented): a miss all the same. */
  noteMiss(): void;
  /** The recorded calls the session is served from (its cassette's events). */
  recordings(): readonly DependencyEvent[];
}
