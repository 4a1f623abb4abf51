/** Errors to cassette records and back, keeping name, message, code and the other own fields. */
import type { ErrorRecord } from './schema.js';

const SKIPPED_FIELDS = new Set(['name', 'message', 'stack', 'code', 'cause']);

export function toErrorRecord(error: unknown, origin?: ErrorRecord['origin']): ErrorRecord {
  if (!(error instanceof Error)) {
    return { name: 'NonError', message: typeof error === 'string' ? error : safeString(error), ...(origin && { origin }) };
  }
  const record: ErrorRecord = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') record.code = code;
  if (origin) record.origin = origin;
  if (error.stack) record.stack = error.stack;
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (SKIPPED_FIELDS.has(key)) continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  if (Object.keys(fields).length) record.fields = fields;
  return record;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'unprintable value';
  }
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
