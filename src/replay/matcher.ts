/**
 * Matching live calls to recorded ones. Each call is keyed by its type and signature; the n-th
 * call with a key gets the n-th recording with that key, so concurrent or reordered calls still
 * find theirs. A call with no recording left gets the nearest recorded call and the fields that
 * differ, for the miss message.
 */
import { encodeValue } from '../cassette/codec.js';
import { unlinkSecrets } from '../cassette/redact.js';
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

/**
 * Password hashes whose salt native code may draw itself (`@node-rs/bcrypt`), out of reach of
 * timetracer's determinism: a call carrying one matches a recording carrying any such hash there.
 */
const SALTED_HASH = /\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}|\$argon2(?:id|i|d)\$v=\d+\$[^$'"\s]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+/g;
const ANY_SALTED_HASH = '\u0000salted hash';

/**
 * The kind of natively salted hash `value` holds (`bcrypt`, `argon2`), if it holds one: as a
 * parameter, or written into SQL text (pg-promise formats values into the query).
 */
export function nativeSaltedHash(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.includes('$')) return undefined;
  const found = value.match(SALTED_HASH)?.[0];
  if (!found) return undefined;
  return found.startsWith('$argon2') ? 'argon2' : 'bcrypt';
}

/** The first natively salted hash in a signature, by kind, if any. */
export function saltedHashIn(signature: Signature): string | undefined {
  const pending: unknown[] = [signature];
  while (pending.length) {
    const value = pending.pop();
    const kind = nativeSaltedHash(value);
    if (kind) return kind;
    if (value !== null && typeof value === 'object') pending.push(...Object.values(value));
  }
  return undefined;
}

/**
 * A signature as matched: any natively salted hash as any other, and secrets as plain
 * `[REDACTED]` (the recording process and the replaying one link the same secret differently).
 */
function comparable(value: JsonValue): JsonValue {
  if (typeof value === 'string') return unlinkSecrets(value.includes('$') ? value.replace(SALTED_HASH, ANY_SALTED_HASH) : value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(comparable);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, comparable(item)]));
}

export function matchKey(type: EventType, signature: Signature): string {
  return `${type}\u0000${stableStringify(comparable(encodeValue(signature)))}`;
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

/** A value in one line, cut at 60 characters; `absent` for a field one side lacks. */
export function showValue(value: JsonValue | undefined): string {
  const text = value === undefined ? 'absent' : JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

function join(prefix: string, key: string | number): string {
  if (typeof key === 'number') return `${prefix}[${key}]`;
  return prefix ? `${prefix}.${key}` : key;
}

/** Where two values differ: the path (`body.items[0].id`, `''` for the values themselves) and both sides. */
export interface ValueDifference {
  path: string;
  a: JsonValue | undefined;
  b: JsonValue | undefined;
}

/**
 * Paths where `a` and `b` differ, leaves only. `skip(path, key)`: what to leave out of the
 * comparison, asked for every object field and array item with its full path.
 */
export function valueDifferences(a: JsonValue | undefined, b: JsonValue | undefined, at: string, skip?: (path: string, key: string | number) => boolean): ValueDifference[] {
  if (stableStringify(a ?? null) === stableStringify(b ?? null) && (a === undefined) === (b === undefined)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: ValueDifference[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const path = join(at, i);
      if (!skip?.(path, i)) out.push(...valueDifferences(a[i], b[i], path, skip));
    }
    return out;
  }
  if (isObject(a) && isObject(b)) {
    const out: ValueDifference[] = [];
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const path = join(at, key);
      if (!skip?.(path, key)) out.push(...valueDifferences(a[key], b[key], path, skip));
    }
    return out;
  }
  return [{ path: at, a, b }];
}

/** Paths where `live` and `recorded` differ, as readable lines (`lib` fields left out: they name the plugin, not the call). */
export function diffValues(live: JsonValue | undefined, recorded: JsonValue | undefined, at: string): string[] {
  return valueDifferences(live, recorded, at, (_path, key) => key === 'lib')
    .map((d) => `${d.path || 'value'} ${showValue(d.a)} != recorded ${showValue(d.b)}`);
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function diffBodies(live: Body | null | undefined, recorded: Body | null | undefined): string[] {
  if (live === undefined || recorded === undefined) return [];
  if ((live?.sha256 ?? null) === (recorded?.sha256 ?? null)) return [];
  if (live?.encoding === 'json' && recorded?.encoding === 'json') return diffValues(live.data, recorded.data, 'body');
  return [`body ${showValue(live?.data ?? null)} != recorded ${showValue(recorded?.data ?? null)}`];
}
