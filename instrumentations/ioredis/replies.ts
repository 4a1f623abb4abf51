/**
 * Redis replies and command arguments in cassettes. A reply is kept as the client's parser gave
 * it, before any reply transformer, in a small JSON form of its own: replay hands the same value
 * back, so the client's transformers make what the app got live. Bytes that are UTF-8 are kept as
 * text, so cassettes stay readable; other bytes are kept as bytes.
 */
import { isUtf8 } from 'node:buffer';
import { fromErrorRecord, toErrorRecord, type ErrorRecord } from '../../src/plugin.js';

export type StoredReply =
  | string
  | number
  | boolean
  | bigint
  | null
  | StoredReply[]
  /** A bulk or simple string the parser gave as a Buffer. */
  | { text: string }
  | { bytes: Buffer }
  /** RESP3 map, set, map given as a plain object, verbatim string. */
  | { map: Array<[StoredReply, StoredReply]> }
  | { set: StoredReply[] }
  | { object: Record<string, StoredReply> }
  | { verbatim: string; format: string }
  /** An error reply inside a reply (a failed command in EXEC's array), and the class it had. */
  | { error: ErrorRecord; class: string };

/** The client's own classes, to hand back values of the same class. */
export interface ReplyClasses {
  /** Error classes by name: ReplyError, and ioredis 6's SimpleError and BlobError. */
  errors: Map<string, new (message: string) => Error>;
  verbatimString?: new (format: string, text: string) => object;
}

export function storeReply(value: unknown): StoredReply {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return value;
  }
  if (Buffer.isBuffer(value)) return isUtf8(value) ? { text: value.toString('utf8') } : { bytes: Buffer.from(value) };
  if (Array.isArray(value)) return value.map(storeReply);
  if (value instanceof Error) return { error: toErrorRecord(value), class: value.constructor.name };
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [storeReply(k), storeReply(v)]) };
  if (value instanceof Set) return { set: [...value].map(storeReply) };
  if (value instanceof String) return { verbatim: value.toString(), format: String((value as { format?: unknown }).format ?? 'txt') };
  return { object: Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, storeReply(v)])) };
}

export function restoreReply(stored: StoredReply, classes: ReplyClasses): unknown {
  if (stored === null || typeof stored !== 'object') return stored;
  if (Array.isArray(stored)) return stored.map((item) => restoreReply(item, classes));
  if ('text' in stored) return Buffer.from(stored.text, 'utf8');
  if ('bytes' in stored) return Buffer.from(stored.bytes);
  if ('error' in stored) return restoreError(stored.error, stored.class, classes);
  if ('map' in stored) return new Map(stored.map.map(([k, v]) => [restoreReply(k, classes), restoreReply(v, classes)]));
  if ('set' in stored) return new Set(stored.set.map((item) => restoreReply(item, classes)));
  if ('verbatim' in stored) {
    return classes.verbatimString ? new classes.verbatimString(stored.format, stored.verbatim) : stored.verbatim;
  }
  return Object.fromEntries(Object.entries(stored.object).map(([k, v]) => [k, restoreReply(v, classes)]));
}

/** An error the server replied with comes back as the client's own class; any other as recorded. */
export function restoreError(record: ErrorRecord, className: string | undefined, classes: ReplyClasses): Error {
  const ErrorClass = className === undefined ? undefined : classes.errors.get(className);
  if (!ErrorClass) return fromErrorRecord(record);
  const error = new ErrorClass(record.message) as Error & Record<string, unknown>;
  for (const [key, value] of Object.entries(record.fields ?? {})) error[key] = value;
  return error;
}

/** A command's arguments as the cassette keeps them: strings as they are, Buffers as text or bytes. */
export function storeArgs(args: readonly unknown[]): StoredReply[] {
  return args.map((arg) => (typeof arg === 'string' ? arg : storeReply(arg)));
}
