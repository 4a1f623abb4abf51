/** Errors to cassette records and back, keeping name, message, code and the other own fields. */
import type { ErrorRecord } from './schema.js';

const SKIPPED_FIELDS = new Set(['name', 'message', 'stack', 'code', 'cause']);

/**
 * Apps throw what they like, including values that throw when read (a getter, a revoked proxy):
 * each part is read on its own, and what cannot be read is said to be so, never thrown.
 */
export function toErrorRecord(error: unknown, origin?: ErrorRecord['origin']): ErrorRecord {
  if (!attempt(() => error instanceof Error, false)) {
    return { name: 'NonError', message: typeof error === 'string' ? error : safeString(error), ...(origin && { origin }) };
  }
  const fieldsOf = error as Error & Record<string, unknown>;
  const record: ErrorRecord = {
    name: textOf(() => fieldsOf.name, 'Error'),
    message: textOf(() => fieldsOf.message, UNREADABLE),
  };
  const code = attempt(() => fieldsOf.code, undefined);
  if (typeof code === 'string' || typeof code === 'number') record.code = code;
  if (origin) record.origin = origin;
  const stack = attempt(() => fieldsOf.stack, undefined);
  if (typeof stack === 'string' && stack) record.stack = stack;
  const fields: Record<string, unknown> = {};
  for (const key of attempt(() => Object.keys(fieldsOf), [])) {
    if (SKIPPED_FIELDS.has(key)) continue;
    const value = attempt(() => fieldsOf[key], undefined);
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  if (Object.keys(fields).length) record.fields = fields;
  return record;
}

const UNREADABLE = '(timetracer could not read it)';

function attempt<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

function textOf(read: () => unknown, fallback: string): string {
  const value = attempt(read, fallback);
  return typeof value === 'string' ? value : safeString(value);
}

function safeString(value: unknown): string {
  return attempt(() => String(value), 'unprintable value');
}

/** A fresh Error carrying the recorded name, message, code and fields. */
export function fromErrorRecord(record: ErrorRecord): Error {
  const error = new Error(record.message) as Error & Record<string, unknown>;
  if (record.name !== 'Error') {
    Object.defineProperty(error, 'name', { value: record.name, writable: true, configurable: true, enumerable: false });
    error.stack = error.stack?.replace(/^Error/, record.name);
  }
  if (record.code !== undefined) error.code = record.code;
  for (const [key, value] of Object.entries(record.fields ?? {})) error[key] = value;
  return error;
}
