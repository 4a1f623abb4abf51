/**
 * One replaying session's recordings. The cassette is chosen on first need, when the app has
 * usually read the request body, so requests that differ only by body find their own. A call
 * its cassette lacks may be borrowed from another cassette that recorded it identically. The
 * process session (calls outside requests) is served the same way from a process cassette,
 * except that a call made more often than it was recorded (a timer's) gets its last recording
 * again.
 */
import { ReplayMissError, type CallSource, type Lookup, type ReplayAnswer } from '../calls.js';
import { encodeValue } from '../cassette/codec.js';
import { toErrorRecord } from '../cassette/error-record.js';
import type { AnyCassette, DependencyEvent } from '../cassette/schema.js';
import type { Choice } from './library.js';
import { ReadReplayer } from '../determinism/streams.js';
import { LiveSecrets, type LiveMessage } from './live-secrets.js';
import { Matcher } from './matcher.js';
import { describeCall, missReason } from './miss.js';

const NO_SESSION = 'it was made beneath a call that is recorded and replayed whole, where nothing is recorded';

export interface SourceOptions {
  /** A call made more often than recorded gets the last recording of it again (the process session's timers). */
  repeatLast?: boolean;
  /** Keep the calls as made, to write the replay as a cassette (TIMETRACER_REPLAY_DIR). */
  keepCalls?: boolean;
  /** The inbound request as it arrived: what each secret its recording linked stands for now. */
  liveRequest?: () => LiveMessage;
}

export class ReplaySource implements CallSource {
  private choice: Choice | undefined;
  private matcher: Matcher | undefined;
  mocked = 0;
  borrowed = 0;
  misses = 0;
  /** The calls as the app made them (with `keepCalls`): the recordings served, and the misses with their error. */
  readonly calls: DependencyEvent[] = [];
  /** The clock and random values the session's recording read, handed back in order. */
  readonly reads = new ReadReplayer(() => this.chosen().cassette?.reads);
  private readonly secrets = new LiveSecrets();

  /**
   * `borrow`: a recording of the same call made by another session (one that opened a pooled
   * connection, say, and so made the calls a connection makes once), or undefined.
   */
  constructor(
    private readonly choose: () => Choice,
    private readonly borrow: (lookup: Lookup, own: AnyCassette | undefined) => DependencyEvent | undefined,
    private readonly options: SourceOptions = { keepCalls: true },
  ) {}

  chosen(): Choice {
    if (!this.choice) {
      this.choice = this.choose();
      this.matcher = new Matcher(this.choice.cassette?.events ?? []);
      const recorded = this.choice.cassette?.request;
      if (recorded && this.options.liveRequest) this.secrets.learn(recorded, this.options.liveRequest());
    }
    return this.choice;
  }

  answer(lookup: Lookup): ReplayAnswer {
    const choice = this.chosen();
    const event = this.matcher!.take(lookup) ?? (this.options.repeatLast ? this.matcher!.latest(lookup) : undefined);
    if (event) {
      this.mocked++;
      this.keep(event);
      return { event: this.withLiveSecrets(event, lookup) };
    }
    const borrowed = this.borrow(lookup, choice.cassette);
    if (borrowed) {
      this.mocked++;
      this.borrowed++;
      this.keep(borrowed);
      return { event: this.withLiveSecrets(borrowed, lookup) };
    }
    this.misses++;
    const reason = missReason(this.matcher!.nearest(lookup), choice.cassette ? undefined : choice.reason);
    const miss = new ReplayMissError(describeCall(lookup.type, lookup.signature), reason);
    this.keep({ eid: 0, type: lookup.type, start_offset_ms: 0, duration_ms: 0, signature: lookup.signature, error: toErrorRecord(miss) });
    return { miss };
  }

  /**
   * The recording as the app gets it: a secret the request carried stands in its results as the
   * request carries it now. What is kept (`calls`) stays as recorded, the live value unwritten.
   */
  private withLiveSecrets(event: DependencyEvent, lookup: Lookup): DependencyEvent {
    this.secrets.learnCall(event.signature, () => encodeValue(lookup.signature));
    const result = this.secrets.result(event.result);
    return result === event.result ? event : { ...event, result };
  }

  private keep(call: DependencyEvent): void {
    if (this.options.keepCalls) this.calls.push(call);
  }

  noteMiss(): void {
    this.misses++;
  }

  recordings(): readonly DependencyEvent[] {
    return this.chosen().cassette?.events ?? [];
  }

  unused(): DependencyEvent[] {
    return this.matcher?.unused() ?? [];
  }
}

/** The miss of a call made in no session (beneath a call replayed whole). */
export function missOutsideSession(lookup: Lookup): ReplayMissError {
  return new ReplayMissError(describeCall(lookup.type, lookup.signature), NO_SESSION);
}
