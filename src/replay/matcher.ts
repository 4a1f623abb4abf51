/**
 * Matching live calls to recorded ones. Each call is keyed by its type and signature; the n-th
 * call with a key gets the n-th recording with that key, so concurrent or reordered calls still
 * find theirs. A call with no recording left gets the nearest recorded call and the fields that
 * differ, for the miss message.
 */
import type { Lookup } from '../calls.js';
import { eventKey, matchKey } from '../cassette/call-key.js';
import { encodeValue } from '../cassette/codec.js';
import { diffValues, showValue } from '../cassette/differences.js';
import type { Body, DependencyEvent, JsonValue } from '../cassette/schema.js';

export interface Nearest {
  event: DependencyEvent;
  /** `params[0] "7" != recorded "8"`, most telling first. */
  differences: string[];
}

/** How many recorded calls of a type a miss is compared with, to name the nearest. */
const NEAREST_CANDIDATES = 50;

/** Recorded signatures as JSON, made once for all the misses compared with them. */
const encodedSignatures = new WeakMap<DependencyEvent, JsonValue>();

function encodedSignature(event: DependencyEvent): JsonValue {
  let encoded = encodedSignatures.get(event);
  if (encoded === undefined) encodedSignatures.set(event, (encoded = encodeValue(event.signature)));
  return encoded;
}

export class Matcher {
  private readonly queues = new Map<string, DependencyEvent[]>();
  /** The last recording of each key, for calls made more often than recorded (see `latest`). */
  private readonly last = new Map<string, DependencyEvent>();
  private readonly used = new Set<DependencyEvent>();

  constructor(private readonly events: readonly DependencyEvent[]) {
    for (const event of events) {
      const key = eventKey(event);
      const queue = this.queues.get(key);
      if (queue) queue.push(event);
      else this.queues.set(key, [event]);
      this.last.set(key, event);
    }
  }

  /** The last recording of this call, used or not: what a periodic call gets once its recordings have run out. */
  latest(lookup: Lookup): DependencyEvent | undefined {
    return this.last.get(matchKey(lookup.type, lookup.signature));
  }

  /** The next unused recording for this call, or undefined. */
  take(lookup: Lookup): DependencyEvent | undefined {
    const event = this.queues.get(matchKey(lookup.type, lookup.signature))?.shift();
    if (event) this.used.add(event);
    return event;
  }

  /**
   * The recorded call most like `lookup`, among the first NEAREST_CANDIDATES of its type: every
   * miss pays for it, and a request whose calls all miss would otherwise cost the square of its
   * recorded calls.
   */
  nearest(lookup: Lookup): Nearest | undefined {
    const signature = encodeValue(lookup.signature);
    let best: Nearest | undefined;
    let candidates = 0;
    for (const event of this.events) {
      if (event.type !== lookup.type) continue;
      if (candidates++ === NEAREST_CANDIDATES) break;
      const bodyDifferences = diffBodies(lookup.body, (event.request as { body?: Body | null } | undefined)?.body);
      let differences = diffValues(signature, encodedSignature(event), '');
      // A differing body hash says less than the body fields that differ: show those instead.
      if (bodyDifferences.length) differences = [...differences.filter((d) => !/^\S*sha256 /.test(d)), ...bodyDifferences];
      const better =
        !best ||
        differences.length < best.differences.length ||
        (differences.length === best.differences.length && this.used.has(best.event) && !this.used.has(event));
      if (better) best = { event, differences };
    }
    return best;
  }

  unused(): DependencyEvent[] {
    return this.events.filter((event) => !this.used.has(event));
  }
}

function diffBodies(live: Body | null | undefined, recorded: Body | null | undefined): string[] {
  if (live === undefined || recorded === undefined) return [];
  if ((live?.sha256 ?? null) === (recorded?.sha256 ?? null)) return [];
  if (live?.encoding === 'json' && recorded?.encoding === 'json') return diffValues(live.data, recorded.data, 'body');
  return [`body ${showValue(live?.data ?? null)} != recorded ${showValue(recorded?.data ?? null)}`];
}
