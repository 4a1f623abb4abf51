/**
 * MongoDB commands and replies as a cassette keeps them: canonical Extended JSON, so ObjectId,
 * Date, Decimal128, Long, Int32, Double and Binary come back with their BSON types.
 *
 * Both go through BSON bytes: the command is serialised by the driver's own message (with the
 * options the driver serialises it with), the reply is the bytes the server sent. Bytes are
 * the same whatever bson version reads them, so any loaded copy of bson converts them, whichever
 * driver copy (6 or 7, each with its own bson) sent the command.
 */
import type { JsonValue, Redactor, Signature } from '../../src/plugin.js';

export type Document = Record<string, unknown>;

/** What timetracer uses of the `bson` package. */
export interface BsonLibrary {
  serialize(document: Document): Uint8Array;
  deserialize(bytes: Uint8Array, options: { promoteValues: boolean; promoteBuffers: boolean; bsonRegExp: boolean }): Document;
  EJSON: {
    serialize(value: unknown, options: { relaxed: boolean }): JsonValue;
    deserialize(ejson: JsonValue, options: { relaxed: boolean }): unknown;
  };
}

/** A command as the driver hands it to the socket (OP_MSG). */
export interface WireMessage {
  databaseName: string;
  command: Document;
  moreToCome?: boolean;
  /** Serialises with the options the driver sends this message with (ignoreUndefined, ...). */
  serializeBson(document: Document): Uint8Array;
}

/** A call as the cassette keeps it. */
export interface MongoSignature extends Signature {
  lib: 'mongodb';
  /** The command's name: find, insert, getMore, aggregate, commitTransaction, ... */
  operation: string;
  /** `database.collection`, or the database for commands that name no collection. */
  namespace: string;
  /** The command as canonical Extended JSON, without what the driver adds by itself (see DRIVER_FIELDS). */
  command: JsonValue;
}

export interface MongoRequest {
  /** ObjectIds the app or driver made since the request's previous MongoDB call (hex). */
  object_ids?: string[];
}

export interface MongoResult {
  /** The server's reply as canonical Extended JSON; null for a write sent without acknowledgement. */
  reply: JsonValue;
}

/**
 * Fields the driver sets from its own state, different on every run: the session id, the
 * gossiped cluster time, transaction numbers, the database (kept in `namespace`), read preference
 * and causal-consistency timestamps. Matching leaves them out.
 */
const DRIVER_FIELDS = ['lsid', '$clusterTime', 'txnNumber', '$db', '$readPreference'];

const EXACT_TYPES = { promoteValues: false, promoteBuffers: false, bsonRegExp: true };

/** The command's name: the first key of the command document. */
export function operationOf(command: Document): string {
  return Object.keys(command)[0] ?? '';
}

/**
 * The command's BSON, taken when it is sent: the app may change its documents afterwards.
 * OP_MSG document sequences (client bulk writes) are written as the arrays they stand for.
 */
export function commandBytes(message: WireMessage): Uint8Array {
  const body: Document = {};
  for (const [key, value] of Object.entries(message.command)) body[key] = documentSequenceItems(value) ?? value;
  return message.serializeBson(body);
}

function documentSequenceItems(value: unknown): unknown[] | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { field, documents } = value as { field?: unknown; documents?: unknown };
  return typeof field === 'string' && Array.isArray(documents) ? documents : undefined;
}

export function signatureOf(bson: BsonLibrary, databaseName: string, bytes: Uint8Array, redactor: Redactor): MongoSignature {
  const command = bson.deserialize(bytes, EXACT_TYPES);
  const operation = operationOf(command);
  const target = operation === 'getMore' ? command.collection : command[operation];
  for (const field of DRIVER_FIELDS) delete command[field];
  const readConcern = command.readConcern;
  if (readConcern && typeof readConcern === 'object') {
    const rest = { ...(readConcern as Document) };
    delete rest.afterClusterTime;
    if (Object.keys(rest).length) command.readConcern = rest;
    else delete command.readConcern;
  }
  return {
    lib: 'mongodb',
    operation,
    namespace: typeof target === 'string' ? `${databaseName}.${target}` : databaseName,
    command: redactor.json(bson.EJSON.serialize(command, { relaxed: false })).value as JsonValue,
  };
}

export function replyToJson(bson: BsonLibrary, bytes: Uint8Array, redactor: Redactor): JsonValue {
  const reply = bson.EJSON.serialize(bson.deserialize(bytes, EXACT_TYPES), { relaxed: false }) as Record<string, JsonValue>;
  // The cluster time's `signature` is the server's own HMAC, not a secret of the app's: kept as sent.
  const { $clusterTime: clusterTime, ...rest } = reply;
  const redacted = redactor.json(rest).value as Record<string, JsonValue>;
  return clusterTime === undefined ? redacted : { ...redacted, $clusterTime: clusterTime };
}

export function replyFromJson(bson: BsonLibrary, reply: JsonValue): Uint8Array {
  return bson.serialize(bson.EJSON.deserialize(reply, { relaxed: false }) as Document);
}

/** A failed reply (`ok: 0`) or the first write error in it, as the cassette shows the call's error. */
export function replyError(reply: Document): { message: string; code?: number; codeName?: string } | undefined {
  if (Number(reply.ok) === 0) {
    return { message: String(reply.errmsg ?? 'command failed'), code: numberOf(reply.code), codeName: stringOf(reply.codeName) };
  }
  const writeErrors = reply.writeErrors;
  const first = Array.isArray(writeErrors) ? (writeErrors[0] as Document | undefined) : undefined;
  const problem = first ?? (reply.writeConcernError as Document | undefined);
  if (!problem) return undefined;
  return { message: String(problem.errmsg ?? 'write failed'), code: numberOf(problem.code), codeName: stringOf(problem.codeName) };
}

function numberOf(value: unknown): number | undefined {
  const number = Number(value);
  return value === undefined || Number.isNaN(number) ? undefined : number;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
