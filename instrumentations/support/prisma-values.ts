/**
 * What Prisma Client hands the app, as the cassette keeps it. Dates, BigInts, Buffers and
 * Uint8Arrays (Bytes) the cassette codec writes with their types; Prisma's Decimal (decimal.js)
 * it does not know, so a Decimal is kept as its text and its place listed, to become a Decimal
 * of the app's own Prisma again on replay. A failed operation keeps its error class, code and
 * `meta` (whose `driverAdapterError` is an Error of its own).
 */
import type { ErrorRecord } from '../../src/cassette/schema.js';
import { fromErrorRecord } from '../../src/cassette/error-record.js';

/** Where a value sits inside another: keys and array indexes. */
type Path = Array<string | number>;

export interface StoredValue {
  value: unknown;
  /** The places in `value` that held a Decimal (now its text). */
  decimals?: Path[];
}

/** A failed operation's `result`: what its error needs besides the ErrorRecord. */
export interface StoredFailure {
  error_class: string;
  meta?: unknown;
  /** Keys of `meta` that held an Error (kept as name, message and cause). */
  meta_errors?: string[];
}

export type DecimalClass = new (text: string) => unknown;

/** Prisma's error classes, as the runtime exports them. */
export type ErrorClasses = Record<string, (new (message: string, options: Record<string, unknown>) => Error) | undefined>;

function isDecimal(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Decimal]';
}

/** Values the codec writes as they are. */
function isCodecValue(value: object): boolean {
  return value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Map || value instanceof Set;
}

/** A copy of `value` with each Decimal as its text, and where they were. */
export function storeValue(value: unknown): StoredValue {
  const decimals: Path[] = [];
  const walk = (node: unknown, path: Path): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (isDecimal(node)) {
      decimals.push(path);
      return String(node);
    }
    if (isCodecValue(node)) return node;
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
  };
  const copy = walk(value, []);
  return decimals.length ? { value: copy, decimals } : { value: copy };
}

/** A fresh copy of the stored value, its Decimals made again: the app may change what it is handed. */
export function restoreValue({ value, decimals }: StoredValue, Decimal: DecimalClass | undefined): unknown {
  let root = storeValue(value).value;
  if (!decimals?.length || !Decimal) return root;
  for (const path of decimals) {
    if (path.length === 0) {
      root = new Decimal(String(root));
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<string | number, unknown>;
    const key = path[path.length - 1]!;
    parent[key] = new Decimal(String(parent[key]));
  }
  return root;
}

export function storeFailure(error: unknown): StoredFailure {
  const failure: StoredFailure = { error_class: (error as Error)?.constructor?.name ?? 'Error' };
  const meta = (error as { meta?: unknown })?.meta;
  if (meta && typeof meta === 'object') {
    const errors = Object.entries(meta).filter(([, item]) => item instanceof Error).map(([key]) => key);
    const plain = Object.fromEntries(Object.entries(meta).map(([key, item]) => [key, item instanceof Error ? { name: item.name, message: item.message, cause: storeValue(item.cause).value } : item]));
    failure.meta = storeValue(plain).value;
    if (errors.length) failure.meta_errors = errors;
  }
  return failure;
}

/** The error the operation failed with, of the app's own Prisma's class, with its code, meta and message. */
export function restoreFailure(record: ErrorRecord, failure: StoredFailure | undefined, classes: ErrorClasses): Error {
  const ErrorClass = failure && classes[failure.error_class];
  if (!ErrorClass) return fromErrorRecord(record);
  let meta = failure.meta as Record<string, unknown> | undefined;
  if (meta && failure.meta_errors) {
    meta = { ...meta };
    for (const key of failure.meta_errors) {
      const { name, message, cause } = meta[key] as { name: string; message: string; cause: unknown };
      meta[key] = Object.assign(new Error(message, { cause }), { name });
    }
  }
  const fields = record.fields ?? {};
  return new ErrorClass(record.message, { code: record.code, clientVersion: fields['clientVersion'], meta, batchRequestIdx: fields['batchRequestIdx'] });
}
