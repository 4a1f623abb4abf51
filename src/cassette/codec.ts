/**
 * Typed values in JSON. Values JSON cannot hold are written as `{"$tt": <tag>, "v": <payload>}`
 * so that replay hands the app a Date where it got a Date, a Buffer where it got a Buffer.
 * Plain JSON stays plain, so cassettes remain readable.
 *
 * The tags are JavaScript's own types, a closed set. A library's own types are the
 * instrumentation's to write in the library's terms (MongoDB's Extended JSON, Prisma's Decimal
 * places), inside its result: the core knows none of them.
 */
import type { JsonValue } from './schema.js';

export const TAG_KEY = '$tt';

export class CodecError extends Error {
  override name = 'CodecError';
  readonly code = 'TIMETRACER_BAD_VALUE';
}

const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;

function tagged(tag: string, v: JsonValue): JsonValue {
  return { [TAG_KEY]: tag, v };
}

/**
 * Values known to be plain JSON already: what JSON.parse made of a body, holding no object with
 * a "$tt" key. Encoding passes them through whole rather than walking them again.
 */
const plainJson = new WeakSet<object>();

export function markPlainJson(value: unknown): void {
  if (value !== null && typeof value === 'object') plainJson.add(value);
}

/**
 * In-memory value -> JSON value. Throws CodecError on a cycle, and on a value that throws when
 * read (a getter, a revoked proxy) or nests past the stack.
 */
export function encodeValue(value: unknown): JsonValue {
  try {
    return encode(value, new Set());
  } catch (error) {
    throw asCodecError(error, 'a value that cannot be read');
  }
}

function asCodecError(error: unknown, what: string): CodecError {
  return error instanceof CodecError ? error : new CodecError(`${what} (${error instanceof Error ? error.message : 'unprintable error'})`);
}

function encode(value: unknown, seen: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return tagged('Number', Object.is(value, -0) ? '-0' : String(value));
    case 'bigint':
      return tagged('BigInt', value.toString());
    case 'undefined':
      return tagged('undefined', null);
    case 'function':
    case 'symbol':
      return tagged('undefined', null);
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) {
    return tagged('Date', Number.isNaN(object.getTime()) ? null : object.toISOString());
  }
  if (Buffer.isBuffer(object)) return tagged('Buffer', object.toString('base64'));
  if (ArrayBuffer.isView(object)) {
    const name = object.constructor.name as TypedArrayName;
    if (!(name in TYPED_ARRAYS)) return tagged('Uint8Array', bytesOf(object).toString('base64'));
    return tagged(name, bytesOf(object).toString('base64'));
  }
  if (object instanceof ArrayBuffer) return tagged('ArrayBuffer', Buffer.from(object).toString('base64'));
  if (plainJson.has(object)) return object as JsonValue;
  if (seen.has(object)) throw new CodecError('value contains a reference cycle');
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => encode(item, seen));
    if (object instanceof Map) {
      return tagged(
        'Map',
        [...object].map(([k, v]) => [encode(k, seen), encode(v, seen)]),
      );
    }
    if (object instanceof Set)
      return tagged(
        'Set',
        [...object].map((item) => encode(item, seen)),
      );
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key];
      if (typeof item === 'function' || typeof item === 'symbol') continue;
      out[key] = encode(item, seen);
    }
    // An object that happens to own a "$tt" key is wrapped so it cannot pass for a tag.
    return TAG_KEY in out ? tagged('Object', out) : out;
  } finally {
    seen.delete(object);
  }
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * JSON value -> in-memory value: the inverse of `encodeValue`. Throws CodecError on a tag it
 * cannot read, and on nesting past the stack.
 */
export function decodeValue(json: JsonValue): unknown {
  try {
    return decode(json);
  } catch (error) {
    throw asCodecError(error, 'a value that cannot be read');
  }
}

function decode(json: JsonValue): unknown {
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) return json.map(decode);
  const tag = json[TAG_KEY];
  if (typeof tag === 'string' && 'v' in json) {
    try {
      return decodeTag(tag, json.v as JsonValue);
    } catch (error) {
      throw asCodecError(error, `a ${tag} value that cannot be read`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(json)) out[key] = decode(json[key] as JsonValue);
  return out;
}

/** A tag's payload of the kind it must be: a hand-edited cassette may hold anything there. */
function payload<T>(tag: string, v: JsonValue, fits: (v: JsonValue) => boolean, kind: string): T {
  if (!fits(v)) throw new CodecError(`a ${tag} value whose "v" is not ${kind}`);
  return v as T;
}

const isText = (v: JsonValue): boolean => typeof v === 'string';
const isList = (v: JsonValue): boolean => Array.isArray(v);
const isPairs = (v: JsonValue): boolean => Array.isArray(v) && v.every((pair) => Array.isArray(pair) && pair.length === 2);
const isRecord = (v: JsonValue): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

function decodeTag(tag: string, v: JsonValue): unknown {
  switch (tag) {
    case 'Number':
      return Number(payload<string>(tag, v, isText, 'text'));
    case 'BigInt':
      return BigInt(payload<string>(tag, v, isText, 'text'));
    case 'undefined':
      return undefined;
    case 'Date':
      return new Date(v === null ? Number.NaN : payload<string>(tag, v, isText, 'text or null'));
    case 'Buffer':
      return Buffer.from(payload<string>(tag, v, isText, 'base64 text'), 'base64');
    case 'ArrayBuffer': {
      const bytes = Buffer.from(payload<string>(tag, v, isText, 'base64 text'), 'base64');
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    case 'Map':
      return new Map(payload<JsonValue[][]>(tag, v, isPairs, 'a list of pairs').map(([k, item]) => [decode(k!), decode(item!)]));
    case 'Set':
      return new Set(payload<JsonValue[]>(tag, v, isList, 'a list').map(decode));
    case 'Object': {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(payload<Record<string, JsonValue>>(tag, v, isRecord, 'an object'))) out[key] = decode(item);
      return out;
    }
  }
  if (tag in TYPED_ARRAYS) {
    const bytes = Buffer.from(payload<string>(tag, v, isText, 'base64 text'), 'base64');
    const Ctor = TYPED_ARRAYS[tag as TypedArrayName];
    const copy = new Uint8Array(bytes).buffer;
    return new Ctor(copy, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT);
  }
  throw new CodecError(`unknown value tag "${tag}" (written by a newer timetracer or a library not loaded)`);
}
