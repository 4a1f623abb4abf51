/**
 * The dependency calls of one recording session, in start order. A call is timed on the hot
 * path; turning it into a cassette event (redaction, hashing, encoding) is deferred until the
 * cassette is written, after the response has gone out.
 */
import { performance } from 'node:perf_hooks';
import type { CallOutcome, CallSink, RecordedCall } from '../calls.js';
import { roundMs, type DependencyEvent, type EventType } from '../cassette/schema.js';

interface CallSlot {
  type: EventType;
  start: number;
  duration: number | undefined;
  describe: (() => CallOutcome) | undefined;
  sofar: (() => CallOutcome) | undefined;
  cancelled: boolean;
}

/** At most this many calls per session: a long-lived request cannot grow its log without bound. */
export const MAX_CALLS_PER_SESSION = 10_000;

export class CallLog implements CallSink {
  private readonly slots: CallSlot[] = [];
  private pending = 0;
  /** Calls past MAX_CALLS_PER_SESSION, not recorded. */
  private overflow = 0;
  private closed = false;
  private onSettled: (() => void) | undefined;

  constructor(private readonly t0: number) {}

  /** Starts timing a call; undefined once the cassette has been written. */
  start(type: EventType): RecordedCall | undefined {
    if (this.closed) return undefined;
    if (this.slots.length >= MAX_CALLS_PER_SESSION) {
      this.overflow++;
      return undefined;
    }
    const slot: CallSlot = { type, start: performance.now(), duration: undefined, describe: undefined, sofar: undefined, cancelled: false };
    this.slots.push(slot);
    this.pending++;
    const settle = (): void => {
      if (--this.pending === 0) this.onSettled?.();
    };
    return {
      end: (describe) => {
        if (slot.describe || slot.cancelled) return;
        slot.duration = performance.now() - slot.start;
        slot.describe = describe;
        settle();
      },
      cancel: () => {
        if (slot.describe || slot.cancelled) return;
        slot.cancelled = true;
        settle();
      },
      sofar: (describe) => {
        slot.sofar = describe;
      },
    };
  }

  /** Resolves when every started call has ended, or after `graceMs`, whichever comes first. */
  settled(graceMs: number): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      timer.unref();
      this.onSettled = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Closes the log and builds its events. Calls still running are recorded as far as they went,
   * or, with nothing to show yet, left out and counted; a call whose
   * description throws becomes an event carrying that failure.
   */
  close(): { events: DependencyEvent[]; unfinished: number; overLimit: number } {
    this.closed = true;
    const events: DependencyEvent[] = [];
    let unfinished = 0;
    for (const slot of this.slots) {
      if (slot.cancelled) continue;
      const describe = slot.describe ?? slot.sofar;
      if (describe) events.push(this.event(slot, describe, events.length + 1));
      else unfinished++;
    }
    return { events, unfinished, overLimit: this.overflow };
  }

  /**
   * Takes out the calls that have ended so far, as events numbered from `firstEid`, and leaves
   * those still running: what a long-lived session writes as it goes.
   */
  takeEnded(firstEid: number): DependencyEvent[] {
    const events: DependencyEvent[] = [];
    const running: CallSlot[] = [];
    for (const slot of this.slots) {
      if (slot.describe) events.push(this.event(slot, slot.describe, firstEid + events.length));
      else if (!slot.cancelled) running.push(slot);
    }
    this.slots.splice(0, this.slots.length, ...running);
    return events;
  }

  private event(slot: CallSlot, describe: () => CallOutcome, eid: number): DependencyEvent {
    const event: DependencyEvent = {
      eid,
      type: slot.type,
      start_offset_ms: roundMs(slot.start - this.t0),
      duration_ms: roundMs(slot.duration ?? performance.now() - slot.start),
      signature: { lib: 'unknown' },
    };
    try {
      const outcome = describe();
      event.signature = outcome.signature;
      if (outcome.request !== undefined) event.request = outcome.request;
      if (outcome.result !== undefined) event.result = outcome.result;
      if (outcome.error !== undefined) event.error = outcome.error;
    } catch (error) {
      event.error = { name: 'TimetracerRecordError', message: `could not describe this call: ${String(error)}` };
    }
    return event;
  }
}
