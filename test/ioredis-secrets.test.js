// ioredis's secret finder and reply store on their own. The end-to-end side is in ioredis.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { restoreReply, storeReply } from '../dist/instrumentations/ioredis/replies.js';
import { redactArgs, redactReply } from '../dist/instrumentations/ioredis/secrets.js';
import { Redactor, REDACTED } from '../dist/src/index.js';

const plain = new Redactor();
const classes = { errors: new Map() };

test('AUTH, HELLO ... AUTH and secret hash fields are redacted where sent; bytes stay bytes', () => {
  assert.deepEqual(redactArgs('auth', ['user', 'pw'], plain), [REDACTED, REDACTED]);
  assert.deepEqual(redactArgs('hello', ['3', 'AUTH', 'user', 'pw', 'SETNAME', 'app'], plain), [
    '3',
    'AUTH',
    REDACTED,
    REDACTED,
    'SETNAME',
    'app',
  ]);
  assert.deepEqual(redactArgs('hset', ['user:1', 'name', 'Ann', { text: 'password' }, { bytes: Buffer.from([0xff]) }], plain), [
    'user:1',
    'name',
    'Ann',
    { text: 'password' },
    { text: REDACTED },
  ]);
  assert.deepEqual(redactArgs('get', ['password'], plain), ['password'], 'a key is not a field');
});

test('commands written in upper case (redis.call, a hand-built Command) are redacted as the lower-case methods are', () => {
  assert.deepEqual(redactArgs('AUTH', ['pw'], plain), [REDACTED]);
  assert.deepEqual(redactArgs('HELLO', ['3', 'auth', 'user', 'pw'], plain), ['3', 'auth', REDACTED, REDACTED]);
  assert.deepEqual(redactArgs('HSET', ['u', 'password', 'pw'], plain), ['u', 'password', REDACTED]);
  assert.equal(redactReply('HGET', ['u', 'password'], 'pw', plain), REDACTED);
  assert.deepEqual(redactArgs('CONFIG', ['SET', 'requirepass', 'pw'], plain), ['SET', 'requirepass', REDACTED]);
  assert.deepEqual(redactArgs('MIGRATE', ['h', '6379', '', '0', '5000', 'AUTH2', 'user', 'pw', 'KEYS', 'k'], plain), [
    'h',
    '6379',
    '',
    '0',
    '5000',
    'AUTH2',
    REDACTED,
    REDACTED,
    'KEYS',
    'k',
  ]);
  assert.deepEqual(redactArgs('ACL', ['SETUSER', 'ann', 'on', '>pw', '~*'], plain), ['SETUSER', 'ann', 'on', `>${REDACTED}`, '~*']);
  assert.deepEqual(redactArgs('SET', ['session:1:api_key', 'k1', 'EX', '60'], plain), ['session:1:api_key', REDACTED, 'EX', '60']);
  assert.equal(redactReply('GET', ['session:1:api_key'], 'k1', plain), REDACTED);
  assert.deepEqual(redactArgs('SET', ['session:1:user', 'ann'], plain), ['session:1:user', 'ann'], 'a key not named for a secret');
});

test('HGET, HMGET and HGETALL replies of secret fields are redacted, in every reply shape', () => {
  assert.equal(redactReply('hget', ['user:1', 'password'], 'pw', plain), REDACTED);
  assert.deepEqual(redactReply('hmget', ['user:1', 'name', 'token'], ['Ann', 'tk'], plain), ['Ann', REDACTED]);
  assert.deepEqual(redactReply('hgetall', ['user:1'], ['name', 'Ann', 'password', 'pw'], plain), ['name', 'Ann', 'password', REDACTED]);
  assert.deepEqual(redactReply('hgetall', ['user:1'], { map: [['secret', 's']] }, plain), { map: [['secret', REDACTED]] });
  assert.deepEqual(redactReply('hgetall', ['user:1'], { object: { name: 'Ann', pwd: 'p' } }, plain), {
    object: { name: 'Ann', pwd: REDACTED },
  });
});

test('a linking redactor links the password written with HSET to the one HGET reads back', () => {
  const redactor = new Redactor().linking();
  const written = redactArgs('hset', ['user:1', 'password', 'hunter2'], redactor)[2];
  assert.match(written, /^\[REDACTED:[0-9a-f]{8}\]$/);
  assert.equal(redactReply('hget', ['user:1', 'password'], { text: 'hunter2' }, redactor).text, written);
});

/** What ioredis's parser hands over: strings as Buffers, numbers, nulls, arrays, RESP3 maps and sets. */
const parserReply = fc.letrec((tie) => ({
  reply: fc.oneof(
    { depthSize: 'small' },
    fc.string().map((text) => Buffer.from(text)),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.integer(),
    fc.constant(null),
    fc.array(tie('reply'), { maxLength: 4 }),
    fc
      .array(
        fc.tuple(
          fc.string().map((k) => Buffer.from(k)),
          tie('reply'),
        ),
        { maxLength: 3 },
      )
      .map((pairs) => new Map(pairs)),
  ),
})).reply;

test('a stored reply, written to JSON and read back, restores to what the parser handed over', () => {
  fc.assert(
    fc.property(parserReply, (reply) => {
      const stored = reviveBytes(JSON.parse(JSON.stringify(storeReply(reply))));
      assert.deepEqual(restoreReply(stored, classes), reply);
    }),
  );
});

/** JSON holds `{ bytes }` as Node's Buffer JSON: the cassette codec revives it; here, by hand. */
function reviveBytes(value) {
  if (Array.isArray(value)) return value.map(reviveBytes);
  if (value === null || typeof value !== 'object') return value;
  if ('bytes' in value) return { bytes: Buffer.from(value.bytes.data) };
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, reviveBytes(item)]));
}
