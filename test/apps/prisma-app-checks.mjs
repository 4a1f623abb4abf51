// What the tests that run test/apps/prisma-app.mjs on each Prisma share (test/prisma.test.js,
// test/prisma-library-engine.test.js): a database with the app's tables, its routes, and the
// checks of what it answered live, of the cassettes it recorded and of its replay.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { readJson, request } from '../support/harness.js';

export const POSTGRES = 'postgresql://postgres@127.0.0.1:5432';

const TABLES = `
  CREATE TABLE "User" (id SERIAL PRIMARY KEY, email TEXT NOT NULL, name TEXT, born TIMESTAMP(3), balance DECIMAL(12, 2),
    visits BIGINT NOT NULL DEFAULT 0, avatar BYTEA, prefs JSONB);
  CREATE UNIQUE INDEX "User_email_key" ON "User" (email);
  CREATE TABLE "Post" (id SERIAL PRIMARY KEY, title TEXT NOT NULL, published BOOLEAN NOT NULL DEFAULT false,
    "authorId" INTEGER NOT NULL REFERENCES "User" (id) ON DELETE RESTRICT ON UPDATE CASCADE);
`;

export const ROUTES = [
  '/create',
  '/duplicate',
  '/read',
  '/update',
  '/transaction/array',
  '/transaction/interactive',
  '/raw',
  '/missing',
  '/delete',
  '/disconnect',
];

/** A database of the test's own with the app's tables (plain SQL: `prisma migrate` cannot run here); dropped afterwards. */
export async function database(t) {
  const name = `timetracer_prisma_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = `${POSTGRES}/${name}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(TABLES);
  await client.end();
  t.after(async () => {
    const cleanup = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  });
  return url;
}

/** Each route in turn: its status and JSON answer. */
export async function run(app) {
  const responses = [];
  for (const route of ROUTES) {
    const response = await request(`${app.url}${route}`);
    responses.push({ status: response.status, body: response.json() });
  }
  return responses;
}

/**
 * What Prisma `major` handed the app live, which replay must hand back too. `notFound`: the class
 * of `findUniqueOrThrow`'s error (Prisma 5 throws its subclass NotFoundError).
 */
export function assertLiveAnswers(live, { major, notFound = 'PrismaClientKnownRequestError' }) {
  for (const [i, { status }] of live.entries()) assert.equal(status, 200, `${ROUTES[i]}: ${JSON.stringify(live[i].body)}`);
  const [created, duplicate, read, updated, array, interactive, raw, missing, deleted] = live.map((r) => r.body);
  assert.deepEqual(created.born, { type: 'Date', value: '1990-05-17T00:00:00.000Z' });
  assert.deepEqual(created.balance, { type: 'Decimal', value: '1234.56' });
  assert.deepEqual(created.visits, { type: 'bigint', value: '9007199254740993' });
  assert.deepEqual(created.avatar.value, Buffer.from('Ann').toString('base64'));
  assert.deepEqual(created.prefs, { theme: 'dark', tags: ['a', 'b'] });
  assert.deepEqual(
    created.posts.map((p) => p.title),
    ['Earthsea', 'Tehanu'],
  );
  assert.deepEqual(
    [duplicate.class, duplicate.known, duplicate.code, duplicate.modelName],
    ['PrismaClientKnownRequestError', true, 'P2002', 'User'],
  );
  assert.match(duplicate.clientVersion, new RegExp(`^${major}\\.`));
  assert.deepEqual(read.unique, {
    name: 'Ann',
    balance: { type: 'Decimal', value: '1234.56' },
    visits: { type: 'bigint', value: '9007199254740993' },
    posts: [{ title: 'Tehanu' }],
  });
  assert.deepEqual(
    read.many.map((p) => [p.title, p.author.email]),
    [
      ['Tehanu', 'ann@example.com'],
      ['Earthsea', 'ann@example.com'],
    ],
  );
  assert.deepEqual(updated, {
    updated: { visits: { type: 'bigint', value: '9007199254740994' }, balance: { type: 'Decimal', value: '0.44' } },
    upsertCreated: { name: 'Bob' },
    upsertUpdated: { name: 'Bobby' },
  });
  assert.deepEqual(array, [2, { count: 1 }, 2]);
  assert.deepEqual(
    interactive.posts.map((p) => p.title),
    ['Bob writes'],
  );
  assert.deepEqual(raw.rows, [
    { email: 'ann@example.com', visits: { type: 'bigint', value: '9007199254740994' }, balance: { type: 'Decimal', value: '0.44' } },
  ]);
  assert.equal(raw.changed, 1);
  assert.deepEqual([missing.class, missing.known, missing.code], [notFound, true, 'P2025']);
  assert.deepEqual(deleted, { posts: 1, user: { email: 'bob@example.com' } });
}

/** The cassettes of the routes: Prisma's operations, one event each, and not the SQL run for them through pg. */
export function assertCassettes(files) {
  const cassettes = files.map((f) => readJson(f));
  const cassette = (route) => cassettes.find((c) => c.request.path === route);
  const events = cassettes.flatMap((c) => c.events);
  assert.equal(events.length, 18);
  assert.deepEqual(
    [...new Set(events.map((e) => `${e.type} ${e.signature.lib}`))],
    ['db.query prisma'],
    'no pg event beside the Prisma ones',
  );
  const [create] = cassette('/create').events;
  assert.deepEqual([create.signature.model, create.signature.action], ['User', 'create']);
  assert.equal(create.signature.args.data.balance, '1234.56');
  assert.deepEqual(create.result.decimals, [['balance']]);
  assert.deepEqual(
    cassette('/transaction/array').events.map((e) => e.signature.action),
    ['count', 'updateMany', 'count'],
    'one event per operation of the batch',
  );
  assert.deepEqual(
    cassette('/transaction/interactive').events.map((e) => e.signature.action),
    ['findUniqueOrThrow', 'create', 'findUnique'],
  );
  const [query, execute] = cassette('/raw').events;
  assert.deepEqual(
    [query.signature.action, query.signature.args.text],
    ['queryRaw', 'SELECT email, visits, balance FROM "User" WHERE visits > $1 ORDER BY email'],
  );
  assert.equal(execute.signature.action, 'executeRaw');
  const [failed] = cassette('/duplicate').events;
  assert.deepEqual(
    [failed.error.name, failed.error.code, failed.result.error_class],
    ['PrismaClientKnownRequestError', 'P2002', 'PrismaClientKnownRequestError'],
  );
}

/** Runs the routes on a replaying app: each answer is the live one, each request matched, none missed nor refused. */
export async function assertReplayedAsLive(replaying, live) {
  const replayed = await run(replaying);
  for (const [i, response] of replayed.entries()) assert.deepEqual(response, live[i], ROUTES[i]);
  await replaying.waitForLine(/^timetracer replay GET \/disconnect /);
  const lines = replaying.stderr.filter((l) => /^timetracer replay GET /.test(l));
  assert.equal(lines.length, ROUTES.length);
  for (const line of lines) assert.match(line, /matched=OK/);
  assert.ok(
    !replaying.stderr.some((l) => /MISS|ECONNREFUSED/.test(l)),
    `no miss, no connection attempted:\n${replaying.stderr.join('\n')}`,
  );
}
