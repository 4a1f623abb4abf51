// pg's reply store on its own: a query's exchange with PostgreSQL, recorded message by message,
// is played back as the same messages, so pg's own parsing runs as it did live. The end-to-end
// side is in pg.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PgPlayback, PgRecording, startupReply } from '../dist/instrumentations/pg/replies.js';
import { Redactor } from '../dist/src/index.js';

const field = (name, dataTypeID = 25) => ({
  name,
  tableID: 0,
  columnID: 0,
  dataTypeID,
  dataTypeSize: -1,
  dataTypeModifier: -1,
  format: 'text',
});

/** One statement's answer: its columns and rows (or none, for a command), its tag. Columns named as secrets (`pwd`, `token`) are redacted, as the next test shows: left out here. */
const statement = fc.record({
  columns: fc.uniqueArray(
    fc.stringMatching(/^[a-z]{1,5}$/).filter((name) => !new Redactor().isSecret(name)),
    { maxLength: 3 },
  ),
  rows: fc.nat({ max: 4 }),
  tag: fc.constantFrom('SELECT', 'INSERT 0 1', 'UPDATE 2'),
});

/** The messages PostgreSQL sends for a reply: each statement's rows and tag, then ready. */
function serverMessages(statements, status) {
  const messages = [];
  for (const { columns, rows, tag } of statements) {
    if (columns.length) {
      messages.push(['rowDescription', { name: 'rowDescription', fieldCount: columns.length, fields: columns.map((c) => field(c)) }]);
      for (let r = 0; r < rows; r++) {
        const values = columns.map((c) => (r % 2 ? null : `${c}-${r}`));
        messages.push(['dataRow', { name: 'dataRow', fieldCount: values.length, fields: values }]);
      }
    }
    messages.push(['commandComplete', { name: 'commandComplete', text: tag }]);
  }
  messages.push(['readyForQuery', { name: 'readyForQuery', status }]);
  return messages;
}

test('an exchange played back is the exchange recorded, reply by reply', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(statement, { minLength: 1, maxLength: 3 }), fc.constantFrom('I', 'T')), { minLength: 1, maxLength: 3 }),
      (replies) => {
        const recording = new PgRecording();
        const sent = replies.map(([statements, status]) => serverMessages(statements, status));
        for (const messages of sent) {
          recording.sent({ sql: 'SELECT 1', params: [] });
          for (const [event, message] of messages) recording.received(event, message);
        }
        const { signature, result } = recording.describe(new Redactor());
        const event = JSON.parse(JSON.stringify({ eid: 1, type: 'db.query', signature, result }));
        const playback = new PgPlayback(event, (record) => new Error(record.message));
        for (const messages of sent) assert.deepEqual(playback.next(), messages);
        assert.equal(playback.next(), undefined, 'nothing more than was recorded');
      },
    ),
  );
});

test('secret columns are redacted in the rows kept, booleans and nulls left as they are', () => {
  const recording = new PgRecording();
  recording.sent({ sql: 'SELECT email, password, has_password FROM users', params: [] });
  recording.received('rowDescription', { name: 'rowDescription', fields: [field('email'), field('password'), field('has_password', 16)] });
  recording.received('dataRow', { name: 'dataRow', fields: ['ann@example.com', 'hash', 't'] });
  recording.received('dataRow', { name: 'dataRow', fields: ['bob@example.com', null, 'f'] });
  recording.received('commandComplete', { name: 'commandComplete', text: 'SELECT 2' });
  const { result } = recording.describe(new Redactor().linking());
  const [[email, password, hasPassword], second] = result.results[0].rows;
  assert.deepEqual([email, hasPassword], ['ann@example.com', 't']);
  assert.match(password, /^\[REDACTED:[0-9a-f]{8}\]$/);
  assert.deepEqual(second, ['bob@example.com', null, 'f']);
});

test('a connection starts with the server parameters its session recorded', () => {
  const events = [
    {
      eid: 1,
      type: 'db.query',
      signature: { lib: 'pg' },
      result: { results: [], replies: [], server_parameters: { server_version: '15.4' } },
    },
  ];
  assert.deepEqual(
    startupReply(events).map(([name]) => name),
    ['parameterStatus', 'backendKeyData', 'readyForQuery'],
  );
  assert.equal(startupReply(events)[0][1].parameterValue, '15.4');
  assert.deepEqual(
    startupReply([]).map(([name]) => name),
    ['backendKeyData', 'readyForQuery'],
  );
});
