/**
 * What Prisma Client is handed and hands back, as the cassette keeps it. Dates, BigInts, Buffers
 * and Uint8Arrays (Bytes) the cassette codec writes with their types; Prisma's Decimal
 * (decimal.js) it does not know, so a Decimal is kept as its text and its place listed, to become
 * a Decimal of the app's own Prisma again on replay. Fields named as secrets are redacted on the
 * way in. A failed operation keeps its error class, the fields its constructor takes, and `meta`
 * (whose `driverAdapterError` is an Error of its own).
 */
import { fromErrorRecord, isSecretValue, type ErrorRecord, type Redactor } from '../../src/plugin.js';

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
  client_version?: string;
  /** Which operation of a batch failed (not an enumerable field of Prisma's errors). */
  batch_request_idx?: number;
  /** PrismaClientInitializationError's own code (P1001, ...). */
  error_code?: string;
  meta?: unknown;
  /** Keys of `meta` that held an Error (kept as name, message and cause). */
  meta_errors?: string[];
}

export type DecimalClass = new (text: string) => unknown;

/** The Prisma error classes replay rebuilds, each with the arguments its constructor takes. */
export interface PrismaErrorClasses {
  PrismaClientKnownRequestError?: new (
    message: string,
    fields: { code: unknown; clientVersion: unknown; meta: unknown; batchRequestIdx: unknown },
  ) => Error;
  PrismaClientUnknownRequestError?: new (message: string, fields: { clientVersion: unknown; batchRequestIdx: unknown }) => Error;
  PrismaClientValidationError?: new (message: string, fields: { clientVersion: unknown }) => Error;
  PrismaClientInitializationError?: new (message: string, clientVersion: unknown, errorCode: unknown) => Error;
  PrismaClientRustPanicError?: new (message: string, clientVersion: unknown) => Error;
  /** Prisma 5's PrismaClientKnownRequestError (P2025) of `findUniqueOrThrow` and `findFirstOrThrow`. */
  NotFoundError?: new (
    message: string,
    clientVersion: unknown,
  ) => Error;
}

function isDecimal(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Decimal]';
}

/** Prisma.DbNull, JsonNull and AnyNull: told apart only by their class (`_getName()`). */
function nullTypeName(value: object): string | undefined {
  const getName = (value as { _getName?: unknown })._getName;
  return typeof getName === 'function' ? `Prisma.${String(getName.call(value))}` : undefined;
}

/** A copy of a value the codec writes as it is (its own object: the original stays the app's). */
function copyOfCodecValue(value: object): object | undefined {
  if (value instanceof Date) return new Date(value.getTime());
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof DataView) return new DataView(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): object }).slice();
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (value instanceof Map) return new Map(value);
  if (value instanceof Set) return new Set(value);
  return undefined;
}

/**
 * A copy of `value` with each Decimal as its text (and where they were), Prisma's null types by
 * name, and, given a redactor, the values of fields named as secrets redacted.
 */
export function storeValue(value: unknown, redactor?: Redactor): StoredValue {
  const decimals: Path[] = [];
  const seen = new Set<object>();
  const walk = (node: unknown, path: Path): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (isDecimal(node)) {
      decimals.push(path);
      return String(node);
    }
    const copy = copyOfCodecValue(node) ?? nullTypeName(node);
    if (copy !== undefined) return copy;
    if (seen.has(node)) throw new Error('the value contains a reference cycle');
    seen.add(node);
    try {
      if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [
          key,
          redactor?.isSecret(key) && isSecretValue(item) ? redactor.redactValue(item) : walk(item, [...path, key]),
        ]),
      );
    } finally {
      seen.delete(node);
    }
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
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<
      string | number,
      unknown
    >;
    const key = path[path.length - 1]!;
    parent[key] = new Decimal(String(parent[key]));
  }
  return root;
}

export function storeFailure(error: unknown, redactor: Redactor): StoredFailure {
  const { constructor: errorClass, clientVersion, batchRequestIdx, errorCode, meta } = (error ?? {}) as Record<string, unknown>;
  const failure: StoredFailure = { error_class: (errorClass as { name?: string } | undefined)?.name ?? 'Error' };
  if (typeof clientVersion === 'string') failure.client_version = clientVersion;
  if (typeof batchRequestIdx === 'number') failure.batch_request_idx = batchRequestIdx;
  if (typeof errorCode === 'string') failure.error_code = errorCode;
  if (meta && typeof meta === 'object') {
    const errors = Object.entries(meta)
      .filter(([, item]) => item instanceof Error)
      .map(([key]) => key);
    const plain = Object.fromEntries(
      Object.entries(meta).map(([key, item]) => [
        key,
        item instanceof Error ? { name: item.name, message: item.message, cause: item.cause } : item,
      ]),
    );
    failure.meta = storeValue(plain, redactor).value;
    if (errors.length) failure.meta_errors = errors;
  }
  return failure;
}

/** The error the operation failed with, of the app's own Prisma's class, with the fields it had. */
export function restoreFailure(record: ErrorRecord, failure: StoredFailure | undefined, classes: PrismaErrorClasses): Error {
  const { message, code } = record;
  const clientVersion = failure?.client_version;
  const batchRequestIdx = failure?.batch_request_idx;
  switch (failure?.error_class) {
    case 'PrismaClientKnownRequestError':
      if (classes.PrismaClientKnownRequestError)
        return new classes.PrismaClientKnownRequestError(message, { code, clientVersion, meta: restoreMeta(failure), batchRequestIdx });
      break;
    case 'PrismaClientUnknownRequestError':
      if (classes.PrismaClientUnknownRequestError)
        return new classes.PrismaClientUnknownRequestError(message, { clientVersion, batchRequestIdx });
      break;
    case 'PrismaClientValidationError':
      if (classes.PrismaClientValidationError) return new classes.PrismaClientValidationError(message, { clientVersion });
      break;
    case 'PrismaClientInitializationError':
      if (classes.PrismaClientInitializationError)
        return new classes.PrismaClientInitializationError(message, clientVersion, failure.error_code);
      break;
    case 'PrismaClientRustPanicError':
      if (classes.PrismaClientRustPanicError) return new classes.PrismaClientRustPanicError(message, clientVersion);
      break;
    case 'NotFoundError':
      if (classes.NotFoundError) return new classes.NotFoundError(message, clientVersion);
      break;
  }
  return fromErrorRecord(record);
}

function restoreMeta({ meta, meta_errors: errors }: StoredFailure): unknown {
  if (!meta || !errors) return meta;
  const restored = { ...(meta as Record<string, unknown>) };
  for (const key of errors) {
    const { name, message, cause } = restored[key] as { name: string; message: string; cause: unknown };
    restored[key] = Object.assign(new Error(message, { cause }), { name });
  }
  return restored;
}
