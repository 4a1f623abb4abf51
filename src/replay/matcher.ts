/**
 * Matching live calls to recorded ones. Each call is keyed by its type and signature; the n-th
 * call with a key gets the n-th recording with that key, so concurrent or reordered calls still
 * find theirs. A call with no recording left gets the nearest recorded call and the fields that
 * differ, for the miss message.
 */
import { encodeValue } from '../cassette/codec.js';
import type { Body, DependencyEvent, EventType, JsonValue, Signature } from '../cassette/schema.js';

export interface Lookup {
  type: EventType;
  signature: Signature;
  /** The live call's request body, compared with the recorded one to explain a miss. */
  body?: Body | null;
}

export interface Nearest {
  event: DependencyEvent;
  /** `params[0] "7" != recorded "8"`, most telling first. */
  differences: string[];
}

/** JSON with sorted keys: equal signatures give equal keys whatever their field order. */
export function stableStringify(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(value[k] as JsonValue)}`).join(',')}}`;
}

export function matchKey(type: EventType, signature: Signature): string {
  return `${type}\u0000${stableStringify(encodeValue(signature))}`;
}

/** Recorded events keep their key: a cassette served to many requests is keyed once. */
const eventKeys = new WeakMap<DependencyEvent, string>();

export function eventKey(event: DependencyEvent): string {
  let key = eventKeys.get(event);
  if (key === undefined) eventKeys.set(event, (key = matchKey(event.type, event.signature)));
  return key;
}

export class Matcher {
  private readonly queues = new Map<string, DependencyEvent[]>();
  private readonly used = new Set<DependencyEvent>();

  constructor(private readonly events: readonly DependencyEvent[]) {
    for (const event of events) {
      const key = eventKey(event);
      const queue = this.queues.get(key);
      if (queue) queue.push(event);
      else this.queues.set(key, [event]);
    }
  }

  /** The next unused recording for this call, or undefined. */
  take(lookup: Lookup): DependencyEvent | undefined {
    const event = this.queues.get(matchKey(lookup.type, lookup.signature))?.shift();
    if (event) this.used.add(event);
    return event;
  }

  nearest(lookup: Lookup): Nearest | undefined {
    let best: Nearest | undefined;
    for (const event of this.events) {
      if (event.type !== lookup.type) continue;
      const bodyDifferences = diffBodies(lookup.body, (event.request as { body?: Body | null } | undefined)?.body);
      let differences = diffValues(encodeValue(lookup.signature), encodeValue(event.signature), '');
      // A differing body hash says less than the body fields that differ: show those instead.
      if (bodyDifferences.length) differences = [...differences.filter((d) => !/^\S*sha256 /.test(d)), ...bodyDifferences];
      const better = !best
        || differences.length < best.differences.length
        || (differences.length === best.differences.length && this.used.has(best.event) && !this.used.has(event));
      if (better) best = { event, differences };
    }
    return best;
  }

  unused(): DependencyEvent[] {
    return this.events.filter((event) => !this.used.has(event));
  }
}

const MAX_SHOWN = 60;

function show(value: JsonValue | undefined): string {
  const text = value === undefined ? 'absent' : JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

function join(prefix: string, key: string | number): string {
  if (typeof key === 'number') return `${prefix}[${key}]`;
  return prefix ? `${prefix}.${key}` : key;
}

/** Paths where `live` and `recorded` differ, as readable lines. */
export function diffValues(live: JsonValue | undefined, recorded: JsonValue | undefined, at: string): string[] {
  if (stableStringify(live ?? null) === stableStringify(recorded ?? null) && (live === undefined) === (recorded === undefined)) return [];
  const bothArrays = Array.isArray(live) && Array.isArray(recorded);
  const bothObjects = !bothArrays && isObject(live) && isObject(recorded);
  if (bothArrays) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(live.length, recorded.length); i++) out.push(...diffValues(live[i], recorded[i], join(at, i)));
    return out;
  }
  if (bothObjects) {
    const out: string[] = [];
    for (const key of new Set([...Object.keys(live), ...Object.keys(recorded)])) {
      if (key === 'lib') continue;
      out.push(...diffValues(live[key], recorded[key], join(at, key)));
    }
    return out;
  }
  return [`${at || 'value'} ${show(live)} != recorded ${show(recorded)}`];
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function diffBodies(live: Body | null | undefined, recorded: Body | null | undefined): string[] {
  if (live === undefined || recorded === undefined) return [];
  if ((live?.sha256 ?? null) === (recorded?.sha256 ?? null)) return [];
  if (live?.encoding === 'json' && recorded?.encoding === 'json') return diffValues(live.data, recorded.data, 'body');
  return [`body ${show(live?.data ?? null)} != recorded ${show(recorded?.data ?? null)}`];
}
