// pg's secret finder on its own: values written into columns named as secrets, as parameters or
// as literals, in the SQL shapes apps and ORMs send. The end-to-end side is in pg.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { redactSql } from '../dist/instrumentations/pg/sql-secrets.js';
import { Redactor, REDACTED } from '../dist/src/index.js';

const plain = new Redactor();
const linked = /^\[REDACTED:[0-9a-f]{8}\]$/;

test('parameters compared with or inserted into a secret column are redacted, the others kept', () => {
  const compared = redactSql('SELECT id FROM users WHERE email = $1 AND password = $2', ['ann@example.com', 'hunter2'], plain);
  assert.deepEqual(compared.params, ['ann@example.com', REDACTED]);
  const inserted = redactSql('INSERT INTO "public"."users" ("email", "api_key") VALUES ($1, $2), ($3, $4)', ['a', 'k1', 'b', 'k2'], plain);
  assert.deepEqual(inserted.params, ['a', REDACTED, 'b', REDACTED]);
  const other = redactSql('UPDATE users SET name = $1 WHERE id = $2', ['Ann', 7], plain);
  assert.deepEqual(other.params, ['Ann', 7]);
});

test('literals written into secret columns are redacted, quotes and doubled quotes included', () => {
  const { sql } = redactSql(`UPDATE users SET "token" = 'it''s, secret' WHERE name = 'O''Brien, Ann'`, [], plain);
  assert.equal(sql, `UPDATE users SET "token" = '${REDACTED}' WHERE name = 'O''Brien, Ann'`);
  const tuple = redactSql(`INSERT INTO users (name, password) VALUES ('Ann (admin)', 'p,w'), ('Bob', 'q')`, [], plain);
  assert.equal(tuple.sql, `INSERT INTO users (name, password) VALUES ('Ann (admin)', '${REDACTED}'), ('Bob', '${REDACTED}')`);
});

test('a linking redactor links a secret alike as a parameter and as a literal; null and booleans stay', () => {
  const redactor = new Redactor().linking();
  const asParam = redactSql('SELECT 1 FROM sessions WHERE token = $1', ['abc'], redactor).params[0];
  const asLiteral = redactSql(`SELECT 1 FROM sessions WHERE token = 'abc'`, [], redactor).sql.match(/'([^']*)'/)[1];
  assert.match(asParam, linked);
  assert.equal(asLiteral, asParam);
  assert.deepEqual(redactSql('UPDATE users SET password = $1, token = $2', [null, true], redactor).params, [null, true]);
});

test('no secret written into a secret column survives, whatever it holds', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.constantFrom('password', 'api_key', '"token"'), (secret, column) => {
      const literal = `'${secret.replaceAll("'", "''")}'`;
      const asParam = redactSql(`UPDATE accounts SET ${column} = $1 WHERE id = $2`, [secret, 1], plain);
      const asLiteral = redactSql(`INSERT INTO accounts (id, ${column}) VALUES (1, ${literal})`, [], plain);
      return asParam.params[0] === REDACTED && asLiteral.sql === `INSERT INTO accounts (id, ${column}) VALUES (1, '${REDACTED}')`;
    }),
  );
});
