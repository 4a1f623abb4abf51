/** Where two JSON values differ, path by path, and each side shown in one line. */
import type { JsonValue } from './schema.js';

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
export function valueDifferences(
  a: JsonValue | undefined,
  b: JsonValue | undefined,
  at: string,
  skip?: (path: string, key: string | number) => boolean,
): ValueDifference[] {
  // One walk down both values, each part compared once: comparing whole subtrees at every level
  // costs their size times their depth, seconds on a large, deep value.
  if (a === b) return [];
  const out: ValueDifference[] = [];
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const path = join(at, i);
      if (!skip?.(path, i)) for (const difference of valueDifferences(a[i], b[i], path, skip)) out.push(difference);
    }
    return out;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const path = join(at, key);
      if (!skip?.(path, key)) for (const difference of valueDifferences(a[key], b[key], path, skip)) out.push(difference);
    }
    return out;
  }
  return [{ path: at, a, b }];
}

/** Paths where `live` and `recorded` differ, as readable lines (`lib` fields left out: they name the plugin, not the call). */
export function diffValues(live: JsonValue | undefined, recorded: JsonValue | undefined, at: string): string[] {
  return valueDifferences(live, recorded, at, (_path, key) => key === 'lib').map(
    (d) => `${d.path || 'value'} ${showValue(d.a)} != recorded ${showValue(d.b)}`,
  );
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
