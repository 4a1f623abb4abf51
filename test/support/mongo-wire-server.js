// An in-memory stand-in for mongod, speaking the MongoDB wire protocol: OP_MSG, plus OP_QUERY for
// the drivers' legacy first handshake. No real mongod can run on the machines these tests run on,
// so this is the live server the test apps record against. It implements only what the tests'
// apps use (see the command table at the end); anything else is answered with an error, loudly,
// never with a silently wrong result. It claims to be the primary of a one-member replica set so
// that sessions, retryable writes and transactions go through the drivers as they would for real.
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { BSON, ObjectId, Long, Timestamp, Binary, Decimal128, MinKey } from 'bson';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
const MAX_MESSAGE_SIZE = 48_000_000;
const DEFAULT_FIRST_BATCH = 101;
// promoteLongs: false keeps int64 values as Long, so a Long written by a client is stored and
// sent back as int64 (as mongod does), instead of coming back as an int32 or a double.
const DESERIALIZE = { promoteValues: true, promoteLongs: false };
const SERIALIZE = { ignoreUndefined: true };

const CODE_NAMES = {
  1: 'InternalError',
  2: 'BadValue',
  9: 'FailedToParse',
  14: 'TypeMismatch',
  26: 'NamespaceNotFound',
  27: 'IndexNotFound',
  28: 'PathNotViable',
  43: 'CursorNotFound',
  48: 'NamespaceExists',
  59: 'CommandNotFound',
  66: 'ImmutableField',
  72: 'InvalidOptions',
  85: 'IndexOptionsConflict',
  86: 'IndexKeySpecsConflict',
  168: 'InvalidPipelineOperator',
  11000: 'DuplicateKey',
};

/** A failed command or write: becomes `{ ok: 0, errmsg, code, codeName }` or a `writeErrors` entry. */
class CommandError extends Error {
  constructor(code, errmsg, extra = {}) {
    super(errmsg);
    this.code = code;
    this.extra = extra;
  }
}

// ---------------------------------------------------------------------------------------------
// Server, connections and framing
// ---------------------------------------------------------------------------------------------

/**
 * `hangUpOn(command)`: true for a command the server answers by dropping the connection, as a
 * crashing or restarting mongod would.
 */
export async function startMongoStandIn({ port = 0, host = '127.0.0.1', hangUpOn = () => false } = {}) {
  const state = { databases: new Map(), cursors: new Map(), address: '', lastTime: 0, increment: 0, connections: 0, hangUpOn };
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a client dropping its connection is not the server's failure
    serveConnection(socket, state, ++state.connections);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actualPort = server.address().port;
  state.address = `${host}:${actualPort}`;
  return {
    port: actualPort,
    url: `mongodb://127.0.0.1:${actualPort}/`,
    async close() {
      if (!server.listening) return;
      const closed = new Promise((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Reads whole messages off the stream (they may be split across or packed into TCP chunks). */
function serveConnection(socket, state, connectionId) {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const length = pending.readInt32LE(0);
      if (length < 16 || length > MAX_MESSAGE_SIZE) return socket.destroy();
      if (pending.length < length) break;
      const message = pending.subarray(0, length);
      pending = pending.subarray(length);
      try {
        const reply = answer(message, state, connectionId);
        if (reply) socket.write(reply);
      } catch {
        return socket.destroy(); // unparseable or unsupported message (or a hang-up asked for): drop the connection, as mongod does
      }
    }
  });
}

/** The reply to one message, or null when the client asked for none. */
function answer(message, state, connectionId) {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    const { flags, command } = parseOpMsg(message);
    if (state.hangUpOn(command)) throw new Error('hanging up, as asked');
    const reply = withClusterTime(state, runCommand(state, command, connectionId));
    return flags & MORE_TO_COME ? null : encodeOpMsg(requestId, reply); // moreToCome: a w:0 write
  }
  if (opCode === OP_QUERY) return encodeOpReply(requestId, runCommand(state, parseOpQuery(message), connectionId));
  throw new Error(`unsupported opCode ${opCode}`); // OP_COMPRESSED never comes: compression is not offered
}

function parseOpMsg(message) {
  const flags = message.readUInt32LE(16);
  const end = message.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let offset = 20;
  let body;
  const sequences = [];
  while (offset < end) {
    const kind = message[offset++];
    const size = message.readInt32LE(offset);
    if (kind === 0) {
      body = BSON.deserialize(message.subarray(offset, offset + size), DESERIALIZE);
    } else if (kind === 1) {
      // Document sequence: int32 size, cstring identifier, then documents until the size is used up.
      const nameEnd = message.indexOf(0, offset + 4);
      const documents = [];
      for (let at = nameEnd + 1; at < offset + size; at += message.readInt32LE(at)) {
        documents.push(BSON.deserialize(message.subarray(at, at + message.readInt32LE(at)), DESERIALIZE));
      }
      sequences.push([message.toString('utf8', offset + 4, nameEnd), documents]);
    } else {
      throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
    offset += size;
  }
  for (const [identifier, documents] of sequences) body[identifier] = documents;
  return { flags, command: body };
}

/** OP_QUERY, used only for the first handshake: a command on `<db>.$cmd`, maybe wrapped in $query. */
function parseOpQuery(message) {
  const nameEnd = message.indexOf(0, 20);
  const namespace = message.toString('utf8', 20, nameEnd);
  const queryStart = nameEnd + 1 + 8; // skip numberToSkip and numberToReturn
  let query = BSON.deserialize(message.subarray(queryStart, queryStart + message.readInt32LE(queryStart)), DESERIALIZE);
  if (isDocument(query.$query)) query = query.$query;
  return { ...query, $db: namespace.slice(0, namespace.indexOf('.')) };
}

let lastRequestId = 0;

/** A reply message: the 16-byte header, `fields` (the opCode's own, written by `writeFields`), the document. */
function encodeReply(opCode, responseTo, document, fieldsLength, writeFields) {
  const body = BSON.serialize(document, SERIALIZE);
  const header = Buffer.alloc(16 + fieldsLength);
  header.writeInt32LE(header.length + body.length, 0);
  header.writeInt32LE(++lastRequestId, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  writeFields(header);
  return Buffer.concat([header, body]);
}

function encodeOpMsg(responseTo, document) {
  return encodeReply(OP_MSG, responseTo, document, 5, (header) => {
    header.writeUInt32LE(0, 16); // flagBits
    header[20] = 0; // section kind 0: the body
  });
}

function encodeOpReply(responseTo, document) {
  return encodeReply(OP_REPLY, responseTo, document, 20, (header) => {
    header.writeInt32LE(0, 16); // responseFlags
    header.writeBigInt64LE(0n, 20); // cursorID
    header.writeInt32LE(0, 28); // startingFrom
    header.writeInt32LE(1, 32); // numberReturned
  });
}

/** Adds $clusterTime and operationTime: a Timestamp that grows with every reply, as on a live server. */
function withClusterTime(state, reply) {
  const seconds = Math.floor(Date.now() / 1000);
  if (seconds > state.lastTime) [state.lastTime, state.increment] = [seconds, 0];
  const clusterTime = new Timestamp({ t: state.lastTime, i: ++state.increment });
  const signature = { hash: new Binary(Buffer.alloc(20), 0), keyId: Long.ZERO };
  return { ...reply, $clusterTime: { clusterTime, signature }, operationTime: clusterTime };
}

function runCommand(state, command, connectionId) {
  const name = Object.keys(command)[0];
  try {
    if (!Object.hasOwn(COMMANDS, name)) throw new CommandError(59, `no such command: '${name}'`);
    return COMMANDS[name](command, commandContext(state, command, name, connectionId));
  } catch (thrown) {
    const error = thrown instanceof CommandError ? thrown : new CommandError(1, String(thrown?.stack ?? thrown));
    return { ok: 0, errmsg: error.message, code: error.code, codeName: codeName(error.code), ...error.extra };
  }
}

const codeName = (code) => CODE_NAMES[code] ?? `Location${code}`;

/** What a command handler needs: its database, its collection (by the command's first value), the store. */
function commandContext(state, command, name, connectionId) {
  const db = command.$db ?? 'test';
  const collectionName = typeof command[name] === 'string' ? command[name] : '';
  return {
    state,
    db,
    connectionId,
    ns: `${db}.${collectionName}`,
    collection({ create = false } = {}) {
      if (!state.databases.has(db)) {
        if (!create) return undefined;
        state.databases.set(db, new Map());
      }
      const collections = state.databases.get(db);
      if (!collections.has(collectionName) && create) {
        collections.set(collectionName, { docs: [], indexes: [{ v: 2, key: { _id: 1 }, name: '_id_' }] });
      }
      return collections.get(collectionName);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// BSON-aware values: types, ordering, equality, paths
// ---------------------------------------------------------------------------------------------

const bsonType = (value) => (value !== null && typeof value === 'object' ? value._bsontype : undefined);
const isRegex = (value) => value instanceof RegExp || bsonType(value) === 'BSONRegExp';
const clone = (doc) => BSON.deserialize(BSON.serialize(doc, SERIALIZE), DESERIALIZE);

/** A sub-document (not an array, Date, RegExp, buffer or BSON value class). */
function isDocument(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !value._bsontype &&
    !(value instanceof Date) &&
    !(value instanceof RegExp) &&
    !ArrayBuffer.isView(value)
  );
}

function isNumeric(value) {
  return typeof value === 'number' || ['Long', 'Decimal128', 'Int32', 'Double'].includes(bsonType(value));
}

function toNumber(value) {
  if (typeof value === 'number') return value;
  if (bsonType(value) === 'Long') return value.toNumber();
  if (isNumeric(value)) return Number(value.toString());
  return NaN;
}

/** MongoDB's order of types when values of different types are compared or sorted. */
function typeRank(value) {
  if (value === undefined || value === null) return 1;
  if (isNumeric(value)) return 2;
  if (typeof value === 'string' || bsonType(value) === 'BSONSymbol') return 3;
  if (Array.isArray(value)) return 5;
  if (typeof value === 'boolean') return 8;
  if (value instanceof Date) return 9;
  if (isRegex(value)) return 11;
  const ranks = { MinKey: 0, Binary: 6, ObjectId: 7, Timestamp: 10, MaxKey: 13 };
  if (bsonType(value) in ranks) return ranks[bsonType(value)];
  if (ArrayBuffer.isView(value)) return 6;
  return 4; // an embedded document
}

const sign = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const binaryBytes = (value) => (bsonType(value) === 'Binary' ? value.buffer.subarray(0, value.position) : value);

function compareValues(a, b) {
  const rank = typeRank(a);
  if (rank !== typeRank(b)) return rank - typeRank(b);
  switch (rank) {
    case 2:
      return bsonType(a) === 'Long' && bsonType(b) === 'Long' ? a.compare(b) : sign(toNumber(a), toNumber(b));
    case 3:
      return sign(String(a), String(b));
    case 4:
      return compareArrays(Object.entries(a).flat(), Object.entries(b).flat());
    case 5:
      return compareArrays(a, b);
    case 6:
      return sign(binaryBytes(a).length, binaryBytes(b).length) || Buffer.compare(binaryBytes(a), binaryBytes(b));
    case 7:
      return sign(a.toHexString(), b.toHexString());
    case 8:
      return sign(Number(a), Number(b));
    case 9:
      return sign(a.getTime(), b.getTime());
    case 10:
      return sign(a.t, b.t) || sign(a.i, b.i);
    case 11:
      return sign(String(a), String(b));
    default:
      return 0;
  }
}

function compareArrays(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareValues(a[i], b[i]);
    if (order) return order;
  }
  return a.length - b.length;
}

const valuesEqual = (a, b) => compareValues(a, b) === 0;

/** Every value a query path reaches, walking into arrays of sub-documents as MongoDB does. */
function pathValues(value, path) {
  const found = [];
  const walk = (current, parts) => {
    if (!parts.length) {
      if (current !== undefined) found.push(current);
      return;
    }
    const [part, ...rest] = parts;
    if (Array.isArray(current)) {
      if (/^\d+$/.test(part)) walk(current[Number(part)], rest);
      else for (const element of current) if (isDocument(element)) walk(element, parts);
    } else if (isDocument(current) && Object.hasOwn(current, part)) {
      walk(current[part], rest);
    }
  };
  walk(value, path.split('.'));
  return found;
}

/** The single value at a dotted path (for sorting, expressions, index keys and updates). */
function getField(doc, path) {
  let value = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(value) && !/^\d+$/.test(part)) value = value.filter(isDocument).map((element) => element[part]);
    else if (isDocument(value) || Array.isArray(value)) value = Object.hasOwn(value, part) ? value[part] : undefined;
    else return undefined;
  }
  return value;
}

function setField(doc, path, value) {
  const parts = path.split('.');
  let target = doc;
  for (const part of parts.slice(0, -1)) {
    const next = Object.hasOwn(target, part) ? target[part] : undefined;
    if (next === undefined || next === null) target[part] = {};
    else if (!isDocument(next) && !Array.isArray(next))
      throw new CommandError(28, `Cannot create field '${parts.at(-1)}' in element {${part}: ${shellValue(next)}}`);
    target = target[part];
  }
  target[parts.at(-1)] = value;
}

function unsetField(doc, path) {
  const parts = path.split('.');
  const last = parts.pop();
  let target = doc;
  for (const part of parts) {
    target = Object.hasOwn(target, part) ? target[part] : undefined;
    if (!isDocument(target) && !Array.isArray(target)) return;
  }
  if (!Array.isArray(target)) delete target[last];
  else if (Number(last) < target.length) target[Number(last)] = null; // mongod keeps array positions
}

/** A value as the mongo shell prints it, for E11000 messages: `"ann"`, `ObjectId('…')`, `12`. */
function shellValue(value) {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (bsonType(value) === 'ObjectId') return `ObjectId('${value.toHexString()}')`;
  if (bsonType(value) === 'Decimal128') return `Decimal128("${value}")`;
  if (Array.isArray(value)) return `[ ${value.map(shellValue).join(', ')} ]`;
  if (isDocument(value))
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${shellValue(v)}`)
      .join(', ')} }`;
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Query language
// ---------------------------------------------------------------------------------------------

const isOperatorObject = (value) => isDocument(value) && Object.keys(value)[0]?.startsWith('$') === true;

function matches(doc, filter = {}) {
  return Object.entries(filter ?? {}).every(([key, condition]) => {
    switch (key) {
      case '$and':
        return condition.every((clause) => matches(doc, clause));
      case '$or':
        return condition.some((clause) => matches(doc, clause));
      case '$nor':
        return !condition.some((clause) => matches(doc, clause));
      case '$comment':
        return true;
    }
    if (key.startsWith('$')) throw new CommandError(2, `unknown top level operator: ${key}`);
    const values = pathValues(doc, key);
    return isOperatorObject(condition) ? matchesOperators(values, condition) : matchesEquality(values, condition);
  });
}

/** True when `test` holds for the value or, for an array, for one of its elements. */
const anyElement = (value, test) => test(value) || (Array.isArray(value) && value.some(test));

function matchesEquality(values, expected) {
  if (isRegex(expected)) {
    const regex = toRegExp(expected);
    return values.some((value) => anyElement(value, (e) => typeof e === 'string' && regex.test(e)));
  }
  // Equality to null also matches a missing field.
  if (expected === null && !values.length) return true;
  return values.some((value) => anyElement(value, (element) => valuesEqual(element, expected)));
}

/** $gt and friends only compare values of the same type bracket (numbers with numbers, …). */
function matchesComparison(values, operand, accept) {
  return values.some((value) => anyElement(value, (e) => typeRank(e) === typeRank(operand) && accept(compareValues(e, operand))));
}

function matchesOperators(values, operators) {
  return Object.entries(operators).every(([operator, operand]) => {
    switch (operator) {
      case '$eq':
        return matchesEquality(values, operand);
      case '$ne':
        return !matchesEquality(values, operand);
      case '$gt':
        return matchesComparison(values, operand, (order) => order > 0);
      case '$gte':
        return matchesComparison(values, operand, (order) => order >= 0);
      case '$lt':
        return matchesComparison(values, operand, (order) => order < 0);
      case '$lte':
        return matchesComparison(values, operand, (order) => order <= 0);
      case '$in':
        return operand.some((item) => matchesEquality(values, item));
      case '$nin':
        return !operand.some((item) => matchesEquality(values, item));
      case '$all':
        return operand.every((item) => matchesEquality(values, item));
      case '$exists':
        return values.length > 0 === Boolean(operand);
      case '$regex':
        return matchesEquality(values, toRegExp(operand, operators.$options));
      case '$options':
        return true; // read with $regex
      case '$not':
        return !(isRegex(operand) ? matchesEquality(values, operand) : matchesOperators(values, operand));
      case '$size':
        return values.some((value) => Array.isArray(value) && value.length === toNumber(operand));
      case '$elemMatch':
        return values.some((value) => Array.isArray(value) && value.some((element) => elementMatches(element, operand)));
      default:
        throw new CommandError(2, `unknown operator: ${operator}`);
    }
  });
}

function elementMatches(element, condition) {
  if (isOperatorObject(condition) && !['$and', '$or', '$nor'].includes(Object.keys(condition)[0]))
    return matchesOperators([element], condition);
  return isDocument(element) && matches(element, condition);
}

/** A JavaScript RegExp from a RegExp, a BSONRegExp or a pattern string, with MongoDB's options. */
function toRegExp(pattern, options) {
  const source = pattern instanceof RegExp ? pattern.source : bsonType(pattern) === 'BSONRegExp' ? pattern.pattern : String(pattern);
  const flags = options ?? (pattern instanceof RegExp ? pattern.flags : (pattern.options ?? ''));
  return new RegExp(source, [...new Set(flags)].filter((flag) => 'imsu'.includes(flag)).join(''));
}

function sortDocuments(docs, spec) {
  const keys = Object.entries(spec ?? {});
  if (!keys.length) return docs;
  // An array sorts by its smallest element ascending, by its largest descending; an empty one
  // before null and missing fields.
  const sortKey = (doc, path, descending) => {
    const value = getField(doc, path);
    if (!Array.isArray(value)) return value;
    if (!value.length) return new MinKey();
    return value.reduce((best, e) => (compareValues(e, best) < 0 !== descending ? e : best));
  };
  return [...docs].sort((a, b) => {
    for (const [path, direction] of keys) {
      const descending = toNumber(direction) < 0;
      const order = compareValues(sortKey(a, path, descending), sortKey(b, path, descending));
      if (order) return descending ? -order : order;
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Projections and aggregation expressions
// ---------------------------------------------------------------------------------------------

const isFlag = (value) => typeof value === 'number' || typeof value === 'boolean';

/** Inclusion (`_id` kept unless `_id: 0`), exclusion, and computed fields like `{ total: '$n' }`. */
function project(doc, spec) {
  const entries = Object.entries(spec ?? {});
  if (!entries.length) return doc;
  const excluded = entries.filter(([, value]) => isFlag(value) && !value).map(([path]) => path);
  if (excluded.length === entries.length) return excludePaths(doc, pathTree(excluded));
  const included = entries.filter(([, value]) => isFlag(value) && value).map(([path]) => path);
  if (!excluded.includes('_id') && !included.includes('_id')) included.unshift('_id');
  const computed = entries.filter(([, value]) => !isFlag(value));
  const result = includePaths(doc, pathTree(included));
  if (!computed.length) return result;
  const withComputed = clone(result); // setField must not write into the stored document
  for (const [path, expression] of computed) setField(withComputed, path, evaluate(expression, doc));
  return withComputed;
}

/** `['a', 'b.c']` → `{ a: true, b: { c: true } }` */
function pathTree(paths) {
  const tree = {};
  for (const path of paths) {
    const parts = path.split('.');
    let node = tree;
    for (const part of parts.slice(0, -1)) node = node[part] = isDocument(node[part]) ? node[part] : {};
    node[parts.at(-1)] = true;
  }
  return tree;
}

/** Keeps the document's own field order, as mongod does, not the projection's. */
function includePaths(doc, tree) {
  const result = {};
  for (const [key, value] of Object.entries(doc)) {
    const sub = Object.hasOwn(tree, key) ? tree[key] : undefined;
    if (sub === true) result[key] = value;
    else if (sub && isDocument(value)) result[key] = includePaths(value, sub);
    else if (sub && Array.isArray(value)) result[key] = value.filter(isDocument).map((e) => includePaths(e, sub));
  }
  return result;
}

function excludePaths(doc, tree) {
  const result = {};
  for (const [key, value] of Object.entries(doc)) {
    const sub = Object.hasOwn(tree, key) ? tree[key] : undefined;
    if (sub === true) continue;
    if (sub && isDocument(value)) result[key] = excludePaths(value, sub);
    else if (sub && Array.isArray(value)) result[key] = value.map((e) => (isDocument(e) ? excludePaths(e, sub) : e));
    else result[key] = value;
  }
  return result;
}

const evaluateAll = (operand, doc) => [operand].flat().map((e) => evaluate(e, doc));

const EXPRESSION_OPERATORS = {
  $literal: (operand) => operand,
  $add: (operand, doc) => evaluateAll(operand, doc).reduce((sum, v) => sum + toNumber(v), 0),
  $multiply: (operand, doc) => evaluateAll(operand, doc).reduce((product, v) => product * toNumber(v), 1),
  $subtract: (operand, doc) => {
    const [a, b] = evaluateAll(operand, doc);
    return toNumber(a) - toNumber(b);
  },
  $divide: (operand, doc) => {
    const [a, b] = evaluateAll(operand, doc);
    return toNumber(a) / toNumber(b);
  },
  $concat: (operand, doc) => {
    const parts = evaluateAll(operand, doc);
    return parts.some((p) => p == null) ? null : parts.join('');
  },
  $ifNull: (operand, doc) => evaluateAll(operand, doc).find((v) => v != null) ?? null,
};

/** An aggregation expression: `'$path'`, `'$$ROOT'`, a literal, `{ $op: … }` or a document of those. */
function evaluate(expression, doc) {
  if (typeof expression === 'string' && expression.startsWith('$')) {
    if (expression === '$$ROOT' || expression === '$$CURRENT') return doc;
    if (expression.startsWith('$$')) throw new CommandError(17276, `Use of undefined variable: ${expression.slice(2)}`);
    return getField(doc, expression.slice(1));
  }
  if (Array.isArray(expression)) return expression.map((e) => evaluate(e, doc));
  if (!isDocument(expression)) return expression;
  const [first] = Object.keys(expression);
  if (first?.startsWith('$')) {
    if (!Object.hasOwn(EXPRESSION_OPERATORS, first)) throw new CommandError(168, `Unrecognized expression '${first}'`);
    return EXPRESSION_OPERATORS[first](expression[first], doc);
  }
  // A field whose expression finds nothing is left out, as mongod does: `{ a: '$missing' }` → `{}`.
  return Object.fromEntries(
    Object.entries(expression)
      .map(([key, value]) => [key, evaluate(value, doc)])
      .filter(([, value]) => value !== undefined),
  );
}

// ---------------------------------------------------------------------------------------------
// Aggregation pipeline
// ---------------------------------------------------------------------------------------------

const STAGES = {
  $match: (docs, filter) => docs.filter((doc) => matches(doc, filter)),
  $sort: (docs, spec) => sortDocuments(docs, spec),
  $skip: (docs, n) => docs.slice(toNumber(n)),
  $limit: (docs, n) => docs.slice(0, toNumber(n)),
  $project: (docs, spec) => docs.map((doc) => project(doc, spec)),
  $addFields: (docs, spec) => docs.map((doc) => addFields(doc, spec)),
  $set: (docs, spec) => docs.map((doc) => addFields(doc, spec)),
  $unset: (docs, paths) => docs.map((doc) => excludePaths(doc, pathTree([paths].flat()))),
  $count: (docs, field) => (docs.length ? [{ [field]: docs.length }] : []), // no document at all for none, as mongod
  $group: groupDocuments,
};

function runPipeline(docs, pipeline, allowed = Object.keys(STAGES)) {
  return pipeline.reduce((current, stage) => {
    const [name] = Object.keys(stage);
    if (!allowed.includes(name)) throw new CommandError(40324, `Unrecognized pipeline stage name: '${name}'`);
    return STAGES[name](current, stage[name]);
  }, docs);
}

function addFields(doc, spec) {
  const result = clone(doc);
  for (const [path, expression] of Object.entries(spec)) setField(result, path, evaluate(expression, doc));
  return result;
}

function groupDocuments(docs, { _id: keyExpression, ...accumulators }) {
  const groups = [];
  for (const doc of docs) {
    const key = evaluate(keyExpression, doc) ?? null;
    let group = groups.find((g) => valuesEqual(g.key, key));
    if (!group) groups.push((group = { key, docs: [] }));
    group.docs.push(doc);
  }
  return groups.map(({ key, docs: members }) => {
    const result = { _id: key };
    for (const [field, accumulator] of Object.entries(accumulators)) {
      const [operator] = Object.keys(accumulator);
      result[field] = accumulate(
        operator,
        members.map((doc) => evaluate(accumulator[operator], doc)),
      );
    }
    return result;
  });
}

function accumulate(operator, values) {
  const numbers = values.filter(isNumeric).map(toNumber);
  const present = values.filter((v) => v !== undefined && v !== null);
  const sum = numbers.reduce((total, n) => total + n, 0);
  const extreme = (wanted) =>
    present.reduce((best, v) => (best === undefined || Math.sign(compareValues(v, best)) === wanted ? v : best), undefined) ?? null;
  switch (operator) {
    case '$sum':
      return sum;
    case '$avg':
      return numbers.length ? sum / numbers.length : null;
    case '$min':
      return extreme(-1);
    case '$max':
      return extreme(1);
    case '$push':
      return values.filter((v) => v !== undefined);
    case '$addToSet':
      return present.filter((v, i) => present.findIndex((w) => valuesEqual(v, w)) === i);
    case '$first':
      return values[0] ?? null;
    case '$last':
      return values.at(-1) ?? null;
    default:
      throw new CommandError(15952, `unknown group operator '${operator}'`);
  }
}

// ---------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------

const isOperatorUpdate = (update) => Object.keys(update)[0]?.startsWith('$') === true;
const eachOf = (operand) => (isDocument(operand) && Object.hasOwn(operand, '$each') ? operand.$each : [operand]);

function arrayAt(doc, path, operator) {
  const current = getField(doc, path);
  if (current == null) {
    setField(doc, path, []);
    return getField(doc, path);
  }
  if (!Array.isArray(current))
    throw new CommandError(
      2,
      `The field '${path}' must be an array but is of type ${typeof current} in document {_id: ${shellValue(doc._id)}} (${operator})`,
    );
  return current;
}

/** `$inc` keeping the stored type: a Long stays a Long, a Decimal128 a Decimal128. */
function increment(current, operand) {
  if (!isNumeric(current) || !isNumeric(operand)) throw new CommandError(14, 'Cannot apply $inc to a value of non-numeric type');
  const result = toNumber(current) + toNumber(operand);
  if ([current, operand].some((v) => bsonType(v) === 'Decimal128')) return Decimal128.fromString(String(result));
  if ([current, operand].some((v) => bsonType(v) === 'Long') && Number.isInteger(result)) return Long.fromNumber(result);
  return result;
}

const UPDATE_OPERATORS = {
  $set: (doc, path, value) => setField(doc, path, value),
  $setOnInsert: (doc, path, value) => setField(doc, path, value), // applied only when inserting, see applyUpdate
  $unset: (doc, path) => unsetField(doc, path),
  $inc: (doc, path, n) => setField(doc, path, increment(getField(doc, path) ?? 0, n)),
  $currentDate: (doc, path, spec) =>
    setField(doc, path, spec?.$type === 'timestamp' ? new Timestamp({ t: Math.floor(Date.now() / 1000), i: 1 }) : new Date()),
  $push: (doc, path, operand) => arrayAt(doc, path, '$push').push(...eachOf(operand)),
  $addToSet: (doc, path, operand) => {
    const array = arrayAt(doc, path, '$addToSet');
    for (const item of eachOf(operand)) if (!array.some((e) => valuesEqual(e, item))) array.push(item);
  },
  $pull: (doc, path, condition) => {
    const array = getField(doc, path);
    if (!Array.isArray(array)) return;
    const pulled = (e) =>
      isOperatorObject(condition)
        ? matchesOperators([e], condition)
        : isDocument(condition) && isDocument(e)
          ? matches(e, condition)
          : valuesEqual(e, condition);
    setField(
      doc,
      path,
      array.filter((e) => !pulled(e)),
    );
  },
};

/** The updated copy of `doc`: update operators, a replacement document, or a pipeline of $set/$unset/$project. */
function applyUpdate(doc, update, { isInsert = false } = {}) {
  let result;
  if (Array.isArray(update)) {
    [result] = runPipeline([doc], update, ['$set', '$addFields', '$unset', '$project']);
  } else if (!isOperatorUpdate(update)) {
    result = doc._id === undefined ? { ...update } : { _id: doc._id, ...update };
  } else {
    result = clone(doc);
    for (const [operator, fields] of Object.entries(update)) {
      if (!Object.hasOwn(UPDATE_OPERATORS, operator))
        throw new CommandError(
          9,
          `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`,
        );
      if (operator === '$setOnInsert' && !isInsert) continue;
      for (const [path, operand] of Object.entries(fields)) {
        if (path.split('.').some((part) => part.startsWith('$')))
          throw new CommandError(2, `positional update paths are not supported by the stand-in: ${path}`);
        UPDATE_OPERATORS[operator](result, path, operand);
      }
    }
  }
  if (doc._id !== undefined && !valuesEqual(result._id, doc._id)) {
    throw new CommandError(66, "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  return result;
}

/** The document an upsert inserts: the query's equality fields, then the update (with $setOnInsert). */
function upsertDocument(query, update) {
  const base = {};
  const addEqualities = (filter) => {
    for (const [key, value] of Object.entries(filter ?? {})) {
      if (key === '$and') value.forEach(addEqualities);
      else if (key.startsWith('$') || isRegex(value)) continue;
      else if (!isOperatorObject(value)) setField(base, key, value);
      else if (Object.hasOwn(value, '$eq')) setField(base, key, value.$eq);
    }
  };
  if (Array.isArray(update) || isOperatorUpdate(update)) addEqualities(query);
  else if (query?._id !== undefined && !isOperatorObject(query._id)) base._id = query._id;
  const doc = applyUpdate(base, update, { isInsert: true });
  return { _id: doc._id ?? new ObjectId(), ...doc }; // _id first, as mongod stores it
}

// ---------------------------------------------------------------------------------------------
// Writes and unique indexes
// ---------------------------------------------------------------------------------------------

function indexKey(index, doc) {
  return Object.fromEntries(Object.keys(index.key).map((field) => [field, getField(doc, field) ?? null]));
}

function indexCovers(index, doc) {
  if (index.sparse && Object.keys(index.key).every((field) => getField(doc, field) === undefined)) return false;
  return !index.partialFilterExpression || matches(doc, index.partialFilterExpression);
}

/** Throws E11000 when `doc` would share a unique index key with one of `others`. */
function assertUnique(ns, indexes, doc, others) {
  for (const index of indexes) {
    if (index.name !== '_id_' && !index.unique) continue;
    if (!indexCovers(index, doc)) continue;
    const key = indexKey(index, doc);
    if (!others.some((other) => indexCovers(index, other) && valuesEqual(indexKey(index, other), key))) continue;
    const shown = Object.entries(key)
      .map(([field, value]) => `${field}: ${shellValue(value)}`)
      .join(', ');
    throw new CommandError(11000, `E11000 duplicate key error collection: ${ns} index: ${index.name} dup key: { ${shown} }`, {
      keyPattern: index.key,
      keyValue: key,
    });
  }
}

function insertDocument(ns, collection, doc) {
  assertUnique(ns, collection.indexes, doc, collection.docs);
  collection.docs.push(clone(doc));
}

function replaceDocument(ns, collection, current, updated) {
  assertUnique(
    ns,
    collection.indexes,
    updated,
    collection.docs.filter((doc) => doc !== current),
  );
  collection.docs[collection.docs.indexOf(current)] = clone(updated);
}

const sameBson = (a, b) => Buffer.compare(BSON.serialize(a, SERIALIZE), BSON.serialize(b, SERIALIZE)) === 0;

/** Runs each statement of insert/update/delete; a failed one becomes a write error, and ordered stops there. */
function runStatements(statements, ordered, run) {
  const writeErrors = [];
  for (const [index, statement] of statements.entries()) {
    try {
      run(statement, index);
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      writeErrors.push({ index, code: error.code, errmsg: error.message, ...error.extra });
      if (ordered) break;
    }
  }
  return writeErrors.length ? { writeErrors } : {};
}

function updateStatement(ctx, { q = {}, u, upsert = false, multi = false }) {
  const collection = ctx.collection();
  const matched = (collection?.docs ?? []).filter((doc) => matches(doc, q));
  if (!matched.length && upsert) {
    const doc = upsertDocument(q, u);
    insertDocument(ctx.ns, ctx.collection({ create: true }), doc);
    return { n: 1, nModified: 0, upsertedId: doc._id };
  }
  let nModified = 0;
  for (const doc of multi ? matched : matched.slice(0, 1)) {
    const updated = applyUpdate(doc, u);
    replaceDocument(ctx.ns, collection, doc, updated);
    if (!sameBson(doc, updated)) nModified++;
  }
  return { n: multi ? matched.length : Math.min(matched.length, 1), nModified };
}

// ---------------------------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------------------------

/**
 * A cursor reply: the first batch, and a server cursor (random non-zero id) while more may come.
 * mongod only finds the end of a scan by reading past it, so a batch filled to exactly its size
 * leaves the cursor open (the next getMore then returns an empty batch and id 0), unless the end
 * was known: a limit reached, or results built in memory (listCollections, listIndexes).
 */
function cursorReply(ctx, ns, docs, { batchSize, singleBatch = false, endKnown = false } = {}) {
  const size = batchSize === undefined || batchSize === null ? DEFAULT_FIRST_BATCH : toNumber(batchSize);
  const firstBatch = docs.slice(0, size);
  const batchFilled = size > 0 && firstBatch.length === size;
  let id = Long.ZERO;
  if (!singleBatch && (docs.length > size || (batchFilled && !endKnown))) {
    id = Long.fromBits(randomInt(2 ** 32) | 0, randomInt(1, 2 ** 31)); // high word ≥ 1: positive, never 0
    ctx.state.cursors.set(id.toString(), { id, ns, docs: docs.slice(size), endKnown });
  }
  return { cursor: { firstBatch, id, ns }, ok: 1 };
}

function filtered(ctx, filter) {
  return (ctx.collection()?.docs ?? []).filter((doc) => matches(doc, filter));
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

function hello(command, ctx) {
  const address = ctx.state.address;
  const name = Object.keys(command)[0];
  return {
    helloOk: true,
    [name === 'hello' ? 'isWritablePrimary' : 'ismaster']: true,
    secondary: false,
    setName: 'rs0',
    setVersion: 1,
    hosts: [address],
    primary: address,
    me: address,
    electionId: new ObjectId('7fffffff0000000000000001'),
    maxBsonObjectSize: 16777216,
    maxMessageSizeBytes: 48000000,
    maxWriteBatchSize: 100000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
    // Neither `compression` (so no OP_COMPRESSED arrives) nor `topologyVersion` (so the driver
    // polls with hello instead of streaming it with exhaust).
  };
}

function collectionEntries(ctx) {
  return [...(ctx.state.databases.get(ctx.db)?.keys() ?? [])].map((name) => ({
    name,
    type: 'collection',
    options: {},
    info: { readOnly: false },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  }));
}

const COMMANDS = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: () => ({ ok: 1 }),
  buildInfo: () => ({ version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 }),
  getParameter: () => ({ featureCompatibilityVersion: { version: '7.0' }, ok: 1 }),
  endSessions: () => ({ ok: 1 }),
  // Transactions are acknowledged but have no semantics here: every write inside one is applied at
  // once, and abortTransaction does not undo them. The tests' apps only need the round trips.
  commitTransaction: () => ({ ok: 1 }),
  abortTransaction: () => ({ ok: 1 }),

  killCursors(command, ctx) {
    const ids = command.cursors ?? [];
    const alive = ids.filter((id) => ctx.state.cursors.delete(id.toString()));
    return { cursorsKilled: alive, cursorsNotFound: ids.filter((id) => !alive.includes(id)), cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  },

  listDatabases(command, ctx) {
    const databases = [...ctx.state.databases.entries()]
      .filter(([, collections]) => collections.size)
      .map(([name]) => ({ name, sizeOnDisk: 8192, empty: false }))
      .filter((entry) => matches(entry, command.filter));
    if (command.nameOnly) return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
    return { databases, totalSize: 8192 * databases.length, totalSizeMb: 0, ok: 1 };
  },

  listCollections(command, ctx) {
    const entries = collectionEntries(ctx).filter((entry) => matches(entry, command.filter));
    const shaped = command.nameOnly ? entries.map(({ name, type }) => ({ name, type })) : entries;
    return cursorReply(ctx, `${ctx.db}.$cmd.listCollections`, shaped, { batchSize: command.cursor?.batchSize, endKnown: true });
  },

  create(command, ctx) {
    if (ctx.collection()) throw new CommandError(48, `Collection ${ctx.ns} already exists.`);
    ctx.collection({ create: true });
    return { ok: 1 };
  },

  drop(command, ctx) {
    const collection = ctx.collection();
    if (!collection) throw new CommandError(26, 'ns not found');
    ctx.state.databases.get(ctx.db).delete(command.drop);
    return { nIndexesWas: collection.indexes.length, ns: ctx.ns, ok: 1 };
  },

  dropDatabase(command, ctx) {
    ctx.state.databases.delete(ctx.db);
    return { dropped: ctx.db, ok: 1 };
  },

  createIndexes(command, ctx) {
    const createdCollectionAutomatically = !ctx.collection();
    const collection = ctx.collection({ create: true });
    const numIndexesBefore = collection.indexes.length;
    for (const { key, name, ...options } of command.indexes ?? []) {
      const sameName = collection.indexes.find((index) => index.name === name);
      const sameKey = collection.indexes.find((index) => valuesEqual(index.key, key));
      if (sameName && !valuesEqual(sameName.key, key))
        throw new CommandError(
          86,
          `An existing index has the same name as the requested index. Requested index: ${shellValue({ key, name })}`,
        );
      if (sameKey && sameKey.name !== name) throw new CommandError(85, `Index already exists with a different name: ${sameKey.name}`);
      if (sameName) continue; // the identical index exists: a no-op, as on mongod
      const index = { v: 2, key, name, ...options };
      if (index.unique) for (const [i, doc] of collection.docs.entries()) assertUnique(ctx.ns, [index], doc, collection.docs.slice(0, i));
      collection.indexes.push(index);
    }
    const numIndexesAfter = collection.indexes.length;
    const note = numIndexesAfter === numIndexesBefore ? { note: 'all indexes already exist' } : {};
    return { createdCollectionAutomatically, numIndexesBefore, numIndexesAfter, ...note, ok: 1 };
  },

  listIndexes(command, ctx) {
    const collection = ctx.collection();
    if (!collection) throw new CommandError(26, `ns does not exist: ${ctx.ns}`);
    return cursorReply(ctx, `${ctx.db}.$cmd.listIndexes.${command.listIndexes}`, collection.indexes, {
      batchSize: command.cursor?.batchSize,
      endKnown: true,
    });
  },

  dropIndexes(command, ctx) {
    const collection = ctx.collection();
    if (!collection) throw new CommandError(26, `ns not found ${ctx.ns}`);
    const nIndexesWas = collection.indexes.length;
    const wanted =
      command.index === '*'
        ? collection.indexes.filter((index) => index.name !== '_id_')
        : [command.index].flat().map((target) => {
            const index = collection.indexes.find((i) => (typeof target === 'string' ? i.name === target : valuesEqual(i.key, target)));
            if (!index)
              throw new CommandError(27, `index not found with name [${typeof target === 'string' ? target : shellValue(target)}]`);
            if (index.name === '_id_') throw new CommandError(72, 'cannot drop _id index');
            return index;
          });
    collection.indexes = collection.indexes.filter((index) => !wanted.includes(index));
    return { nIndexesWas, ok: 1 };
  },

  insert(command, ctx) {
    let n = 0;
    const errors = runStatements(command.documents ?? [], command.ordered !== false, (doc) => {
      // mongod stores _id first, whether the client put it last (as the drivers do) or sent none.
      insertDocument(ctx.ns, ctx.collection({ create: true }), { _id: doc._id === undefined ? new ObjectId() : doc._id, ...doc });
      n++;
    });
    return { n, ...errors, ok: 1 };
  },

  update(command, ctx) {
    let n = 0;
    let nModified = 0;
    const upserted = [];
    const errors = runStatements(command.updates ?? [], command.ordered !== false, (statement, index) => {
      const result = updateStatement(ctx, statement);
      n += result.n;
      nModified += result.nModified;
      if (result.upsertedId !== undefined) upserted.push({ index, _id: result.upsertedId });
    });
    return { n, nModified, ...(upserted.length ? { upserted } : {}), ...errors, ok: 1 };
  },

  delete(command, ctx) {
    let n = 0;
    const errors = runStatements(command.deletes ?? [], command.ordered !== false, ({ q = {}, limit = 0 }) => {
      const collection = ctx.collection();
      if (!collection) return;
      const matched = collection.docs.filter((doc) => matches(doc, q));
      const removed = new Set(toNumber(limit) === 1 ? matched.slice(0, 1) : matched);
      collection.docs = collection.docs.filter((doc) => !removed.has(doc));
      n += removed.size;
    });
    return { n, ...errors, ok: 1 };
  },

  find(command, ctx) {
    const limit = toNumber(command.limit ?? 0);
    const found = sortDocuments(filtered(ctx, command.filter), command.sort).slice(toNumber(command.skip ?? 0));
    const docs = (limit ? found.slice(0, Math.abs(limit)) : found).map((doc) => project(doc, command.projection));
    const endKnown = limit !== 0 && found.length >= Math.abs(limit); // the limit is reached
    return cursorReply(ctx, ctx.ns, docs, { batchSize: command.batchSize, singleBatch: command.singleBatch || limit < 0, endKnown });
  },

  getMore(command, ctx) {
    const key = command.getMore.toString();
    const cursor = ctx.state.cursors.get(key);
    if (!cursor) throw new CommandError(43, `cursor id ${key} not found`);
    // Without a batchSize mongod reads on until its size limit, so it meets the end: see cursorReply.
    const size = command.batchSize ? toNumber(command.batchSize) : cursor.docs.length;
    const nextBatch = cursor.docs.splice(0, size);
    const open = cursor.docs.length > 0 || (command.batchSize && nextBatch.length === size && !cursor.endKnown);
    if (!open) ctx.state.cursors.delete(key);
    return { cursor: { nextBatch, id: open ? cursor.id : Long.ZERO, ns: cursor.ns }, ok: 1 };
  },

  count(command, ctx) {
    const limit = Math.abs(toNumber(command.limit ?? 0));
    let docs = filtered(ctx, command.query).slice(toNumber(command.skip ?? 0));
    if (limit) docs = docs.slice(0, limit);
    return { n: docs.length, ok: 1 };
  },

  distinct(command, ctx) {
    const values = [];
    for (const doc of filtered(ctx, command.query)) {
      for (const value of pathValues(doc, command.key).flat()) {
        if (!values.some((seen) => valuesEqual(seen, value))) values.push(value);
      }
    }
    return { values: values.sort(compareValues), ok: 1 };
  },

  aggregate(command, ctx) {
    if (typeof command.aggregate !== 'string') throw new CommandError(2, 'database-level aggregation is not supported by the stand-in');
    const docs = runPipeline(ctx.collection()?.docs ?? [], command.pipeline ?? []);
    return cursorReply(ctx, ctx.ns, docs, { batchSize: command.cursor?.batchSize });
  },

  findAndModify(command, ctx) {
    const collection = ctx.collection();
    const [target] = sortDocuments(filtered(ctx, command.query), command.sort);
    const shape = (doc) => (doc ? project(doc, command.fields) : null);
    if (command.remove) {
      if (target) collection.docs.splice(collection.docs.indexOf(target), 1);
      return { lastErrorObject: { n: target ? 1 : 0 }, value: shape(target), ok: 1 };
    }
    if (target) {
      const updated = applyUpdate(target, command.update);
      replaceDocument(ctx.ns, collection, target, updated);
      return { lastErrorObject: { n: 1, updatedExisting: true }, value: shape(command.new ? updated : target), ok: 1 };
    }
    if (!command.upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
    const created = upsertDocument(command.query, command.update);
    insertDocument(ctx.ns, ctx.collection({ create: true }), created);
    return { lastErrorObject: { n: 1, updatedExisting: false, upserted: created._id }, value: command.new ? shape(created) : null, ok: 1 };
  },
};
