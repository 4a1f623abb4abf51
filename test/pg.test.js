// PostgreSQL through pg: recorded against the real server, replayed with no database reachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  APPS,
  UNREACHABLE_DATABASE_URL,
  createDatabase,
  processCassetteFiles,
  readJson,
  request,
  startApp,
  send,
  tempDir,
} from './support/harness.js';

const APP = path.join(APPS, 'pg-app.mjs');

const SCHEMA = `
  CREATE TABLE users (
    id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE NOT NULL, created_at timestamptz NOT NULL,
    balance numeric(12,2) NOT NULL, avatar bytea, tags text[], profile jsonb, visits bigint NOT NULL DEFAULT 0
  );
  INSERT INTO users (name, email, created_at, balance, avatar, tags, profile, visits) VALUES
    ('Ann', 'ann@example.com', '2024-01-02T03:04:05Z', 100.50, '\\x00ff10', '{admin,staff}', '{"theme":"dark"}', 9007199254740993),
    ('Bob', 'bob@example.com', '2024-02-03T04:05:06Z', 20.00, NULL, '{}', NULL, 1);
  CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, password text NOT NULL, api_key text NOT NULL);
`;

const REQUESTS = [
  ['GET', '/users/1'],
  [
    'POST',
    '/users',
    {
      name: 'Cy',
      email: 'cy@example.com',
      createdAt: '2025-05-06T07:08:09.123Z',
      balance: '3.50',
      avatar: 'cafe',
      tags: ['new'],
      profile: { a: [1, 2] },
    },
  ],
  ['GET', '/callback'],
  ['POST', '/transfer'],
  ['GET', '/prepared'],
  ['GET', '/cursor'],
  ['GET', '/stream'],
  ['GET', '/duplicate'],
  ['GET', '/array-mode'],
  ['GET', '/custom-types'],
  ['GET', '/own-client'],
  ['GET', '/multi'],
];

test('pg queries in every form are recorded and replayed with no database', async (t) => {
  const database = await createDatabase(t, SCHEMA);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: database.url } });
  await recording.waitForLine(/^startup query: ok$/);
  const live = [];
  for (const req of REQUESTS) live.push(await send(recording, req));
  const files = await recording.cassettes(REQUESTS.length);
  await recording.stop();

  // What pg handed the app live: the types replay must hand back too.
  const [ann] = live[0].body.rows;
  assert.deepEqual(Object.fromEntries(Object.entries(ann).map(([k, v]) => [k, v.type])), {
    id: 'number',
    name: 'string',
    email: 'string',
    created_at: 'Date',
    balance: 'string',
    avatar: 'Buffer',
    tags: 'Array',
    profile: 'object',
    visits: 'string',
  });
  assert.equal(ann.visits.value, '9007199254740993', 'bigint stays a string, exact');
  assert.deepEqual(live[7].body.error, {
    class: 'DatabaseError',
    code: '23505',
    detail: 'Key (email)=(ann@example.com) already exists.',
    constraint: 'users_email_key',
    table: 'users',
    severity: 'ERROR',
    message: 'duplicate key value violates unique constraint "users_email_key"',
  });
  assert.deepEqual(live[5].body, [[1, 2, 3], [4, 5, 6], [7]]);
  assert.equal(live[9].body.balance.type, 'number', 'the per-query type parser ran');

  // The cassettes: SQL, parameters as pg converted them, fields and rows as PostgreSQL sent them.
  const cassette = (url) => readJson(files.find((f) => readJson(f).request.path === url));
  const [select] = cassette('/users/1').events;
  assert.equal(select.type, 'db.query');
  assert.deepEqual(select.signature, { lib: 'pg', sql: 'SELECT * FROM users WHERE id = $1', params: ['1'] });
  assert.deepEqual(select.result.results[0].fields.map((f) => [f.name, f.dataTypeID]).slice(0, 5), [
    ['id', 23],
    ['name', 25],
    ['email', 25],
    ['created_at', 1184],
    ['balance', 1700],
  ]);
  assert.equal(select.result.results[0].command, 'SELECT 1');
  assert.ok(select.duration_ms > 0 && select.start_offset_ms >= 0);
  const [insert] = cassette('/users').events;
  assert.match(insert.signature.params[2], /^2025-05-06T\d\d:08:09\.123[+-]\d\d:\d\d$/, 'a Date parameter is kept as pg sent it');
  assert.ok(
    Buffer.isBuffer(insert.signature.params[4]) === false && insert.signature.params[4].$tt === 'Buffer',
    'a Buffer parameter is kept as bytes',
  );
  const duplicate = cassette('/duplicate').events[0];
  assert.deepEqual(
    [duplicate.error.code, duplicate.error.fields.constraint, duplicate.error.fields.detail],
    ['23505', 'users_email_key', 'Key (email)=(ann@example.com) already exists.'],
  );
  assert.deepEqual(
    cassette('/transfer').events.map((e) => e.signature.sql),
    [
      'BEGIN',
      'UPDATE users SET balance = balance - $1 WHERE id = $2',
      'UPDATE users SET balance = balance + $1 WHERE id = $2',
      'SELECT id, balance FROM users ORDER BY id',
      'COMMIT',
    ],
  );

  // The query at start-up, outside any request, is in the process cassette.
  const [processFile] = processCassetteFiles(dir);
  assert.ok(processFile, 'a process cassette was written');
  const processCassette = readJson(processFile);
  assert.deepEqual([processCassette.session.kind, processCassette.request, processCassette.response], ['process', null, null]);
  assert.deepEqual(
    processCassette.events.map((e) => e.signature.sql).filter((sql) => sql.startsWith('SELECT count')),
    ['SELECT count(*) FROM users'],
  );

  // Replay with no database: a connection attempt would be refused.
  const replaying = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  await replaying.waitForLine(/^startup query: ok$/);
  for (const [i, req] of REQUESTS.entries()) assert.deepEqual(await send(replaying, req), live[i], `${req[0]} ${req[1]}`);
  await replaying.waitForLine(/^timetracer replay GET \/multi /);
  const lines = replaying.stderr.filter((l) => l.startsWith('timetracer replay GET') || l.startsWith('timetracer replay POST'));
  assert.equal(lines.length, REQUESTS.length);
  for (const line of lines) assert.match(line, /matched=OK/);
});

test('concurrent requests queued on a one-connection pool keep their own queries (CommonJS app, callbacks)', async (t) => {
  const database = await createDatabase(t);
  const dir = tempDir(t);
  const app = path.join(APPS, 'pg-pool.cjs');
  const ids = Array.from({ length: 20 }, (_, i) => i);
  const recording = await startApp(t, app, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: database.url } });
  const live = await Promise.all(ids.map((id) => request(`${recording.url}/?id=${id}`)));
  const files = await recording.cassettes(ids.length);
  await recording.stop();
  for (const file of files) {
    const cassette = readJson(file);
    const id = cassette.request.query.id;
    assert.deepEqual(
      cassette.events.map((e) => e.signature.params[0]),
      [`first-${id}`, `second-${id}`],
    );
  }
  const replaying = await startApp(t, app, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  const replayed = await Promise.all(ids.map((id) => request(`${replaying.url}/?id=${id}`)));
  assert.deepEqual(
    replayed.map((r) => r.text),
    live.map((r) => r.text),
  );
});

test('a parameter the app makes up anew (randomUUID) replays as recorded; with TIMETRACER_DETERMINISM=off it misses, naming the parameter; TIMETRACER_LIVE_PLUGINS=pg runs pg live', async (t) => {
  const database = await createDatabase(t, SCHEMA);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: database.url } });
  const live = await send(recording, ['GET', '/random-param']);
  await recording.cassettes(1);
  await recording.stop();
  const recordedId = live.body[0].request_id;

  const replaying = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  assert.deepEqual(await send(replaying, ['GET', '/random-param']), live, 'the app got the recorded uuid again');
  await replaying.waitForLine(/^timetracer replay GET \/random-param mocked=1 matched=OK runtime=/);

  const undetermined = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, TIMETRACER_DETERMINISM: 'off', DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  const missed = await send(undetermined, ['GET', '/random-param']);
  assert.equal(missed.body.error.code, 'TIMETRACER_REPLAY_MISS');
  const miss = await undetermined.waitForLine(/^timetracer \[MISS\] db\.query SELECT \$1::text AS request_id/);
  assert.match(miss, new RegExp(`nearest: eid 1, params\\[0\\] "[0-9a-f-]{36}" != recorded "${recordedId}"$`));
  await undetermined.waitForLine(/^timetracer replay GET \/random-param mocked=0 matched=MISS misses=1 unused=1/);

  // With pg live the start-up query and the request's query reach the real database.
  const live2 = await startApp(t, APP, {
    env: {
      TIMETRACER_MODE: 'replay',
      TIMETRACER_CASSETTE: dir,
      TIMETRACER_LIVE_PLUGINS: 'pg',
      TIMETRACER_DETERMINISM: 'off',
      DATABASE_URL: database.url,
    },
  });
  await live2.waitForLine(/^startup query: ok$/);
  const fresh = await send(live2, ['GET', '/random-param']);
  assert.notEqual(fresh.body[0].request_id, recordedId);
});

test('secrets written into SQL or read back in columns named as secrets are not written', async (t) => {
  const database = await createDatabase(t, SCHEMA);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: database.url } });
  const requests = [
    ['POST', '/accounts'],
    ['GET', '/accounts/check'],
    ['GET', '/accounts/keys'],
  ];
  const live = [];
  for (const req of requests) live.push(await send(recording, req));
  const files = await recording.cassettes(requests.length);
  await recording.stop();
  assert.deepEqual(
    live.map((r) => r.status),
    [200, 200, 200],
  );
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const secret of ['hunter2-pass', 'key-123-secret']) assert.ok(!text.includes(secret), `${secret} in ${path.basename(file)}`);
  }
  // Linked: the key read back reads as the key written, and not as the password.
  const linked = /^\[REDACTED:[0-9a-f]{8}\]$/;
  const insert = readJson(files.find((f) => f.includes('POST__accounts'))).events[0];
  const [email, password, apiKey] = insert.signature.params;
  assert.equal(email, 'ann@example.com');
  assert.match(password, linked);
  assert.match(apiKey, linked);
  assert.notEqual(password, apiKey);
  const keys = readJson(files.find((f) => f.includes('accounts_keys'))).events[0];
  assert.deepEqual(keys.result.results[0].rows, [['ann@example.com', apiKey]]);

  // Redacted the same way on replay, the calls still match; what the app read back is redacted.
  const replaying = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  assert.deepEqual(await send(replaying, requests[0]), live[0]);
  assert.deepEqual(await send(replaying, requests[1]), live[1]);
  assert.deepEqual(await send(replaying, requests[2]), { status: 200, body: [{ email: 'ann@example.com', api_key: '[REDACTED]' }] });
});
