// Prisma's value store on its own: what Prisma Client hands back, kept in the cassette and made
// again on replay with its types. The end-to-end side is in prisma.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeValue, encodeValue, Redactor, REDACTED } from '../dist/src/index.js';
import { restoreValue, storeValue } from '../dist/instrumentations/prisma/values.js';

/** A stand-in with decimal.js's tag: what `Prisma.Decimal` reports itself as. */
class Decimal {
  constructor(text) {
    this.text = String(text);
  }
  get [Symbol.toStringTag]() {
    return 'Decimal';
  }
  toString() {
    return this.text;
  }
}

/** Rows as Prisma Client hands them: scalars, DateTime, BigInt, Bytes, Decimal, Json, relations. */
const row = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.date({ noInvalidDate: true }),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 6 }),
    fc.stringMatching(/^-?\d{1,6}\.\d{2}$/).map((text) => new Decimal(text)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;

test('a stored value, through the cassette codec and back, restores with its types, Decimals included', () => {
  fc.assert(
    fc.property(row, (value) => {
      const stored = decodeValue(JSON.parse(JSON.stringify(encodeValue(storeValue(value)))));
      assert.deepEqual(restoreValue(stored, Decimal), value);
    }),
  );
});

test('fields named as secrets are redacted at any depth, and linked alike', () => {
  const redactor = new Redactor().linking();
  const { value } = storeValue({ user: { name: 'Ann', password: 'pw', tokens: [{ token: 'tk' }] }, copy: { password: 'pw' } }, redactor);
  assert.equal(value.user.name, 'Ann');
  assert.match(value.user.password, /^\[REDACTED:[0-9a-f]{8}\]$/);
  assert.equal(value.copy.password, value.user.password, 'the same password reads the same');
  assert.notEqual(value.user.tokens[0].token, value.user.password);
  assert.equal(storeValue({ password: 'pw' }, new Redactor()).value.password, REDACTED);
  assert.deepEqual(storeValue({ password: null, secret: false }, redactor).value, { password: null, secret: false });
});

test('what is restored is the app’s own copy: changing it leaves the recording as it was', () => {
  const stored = storeValue({ tags: ['a'], at: new Date(0) });
  const first = restoreValue(stored, Decimal);
  first.tags.push('b');
  first.at.setTime(1);
  assert.deepEqual(restoreValue(stored, Decimal), { tags: ['a'], at: new Date(0) });
});
