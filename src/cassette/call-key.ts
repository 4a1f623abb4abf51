/**
 * The key a call is matched by: its type and its signature as JSON with sorted keys, where any
 * natively salted password hash reads as any other and a linked secret as plain `[REDACTED]`.
 * Replay finds a call's recordings by it; the process cassette counts repeats of a call by it.
 */
import { createHash } from 'node:crypto';
import { encodeValue } from './codec.js';
import { hideValuePatterns, unlinkSecrets } from './redact.js';
import type { DependencyEvent, EventType, JsonValue, Signature } from './schema.js';

/** JSON with sorted keys: equal signatures give equal keys whatever their field order. */
export function stableStringify(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(value[k] as JsonValue)}`)
    .join(',')}}`;
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
    if (value !== null && typeof value === 'object') for (const item of Object.values(value)) pending.push(item);
  }
  return undefined;
}

/**
 * A signature as matched: any natively salted hash as any other, and secrets as plain
 * `[REDACTED]` (the recording process and the replaying one link the same secret differently;
 * one told by its form was redacted in the recording, and is hidden alike in the live call).
 */
function comparable(value: JsonValue): JsonValue {
  if (typeof value === 'string')
    return hideValuePatterns(unlinkSecrets(value.includes('$') ? value.replace(SALTED_HASH, ANY_SALTED_HASH) : value));
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

/** A match key in 16 characters, for indexes that name many calls (the catalog's summaries). */
export function callDigest(key: string): string {
  return createHash('sha1').update(key).digest('base64url').slice(0, 16);
}
