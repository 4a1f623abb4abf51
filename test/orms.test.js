// ORMs on pg, end to end: a real app per ORM (inbound request -> ORM -> pg) recorded against
// PostgreSQL, then replayed with no database reachable, every response the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { APPS, UNREACHABLE_DATABASE_URL, createDatabase, readJson, startApp, tempDir, send } from './support/harness.js';

const SCHEMA = `
  CREATE TABLE authors (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE);
  CREATE TABLE posts (
    id serial PRIMARY KEY, author_id integer NOT NULL REFERENCES authors (id), title text NOT NULL,
    published_at timestamptz NOT NULL, meta jsonb NOT NULL, views integer NOT NULL DEFAULT 0
  );
  INSERT INTO authors (name, email) VALUES ('Ann', 'ann@example.com'), ('Bob', 'bob@example.com');
  INSERT INTO posts (author_id, title, published_at, meta, views) VALUES
    (1, 'First', '2024-01-02T03:04:05Z', '{"tags": ["intro"]}', 10),
    (1, 'Second', '2024-02-03T04:05:06.5Z', '{"tags": []}', 5),
    (2, 'Elsewhere', '2024-03-04T05:06:07Z', '{}', 7),
    (1, 'Third', '2024-04-05T06:07:08Z', '{"draft": true}', 0);
`;

const FIRST = { id: 1, authorId: 1, title: 'First', publishedAt: '2024-01-02T03:04:05.000Z', meta: { tags: ['intro'] }, views: 10 };
const SECOND = { id: 2, authorId: 1, title: 'Second', publishedAt: '2024-02-03T04:05:06.500Z', meta: { tags: [] }, views: 5 };
const THIRD = { id: 4, authorId: 1, title: 'Third', publishedAt: '2024-04-05T06:07:08.000Z', meta: { draft: true }, views: 0 };
const CREATED = { id: 5, authorId: 2, title: 'New', publishedAt: '2025-05-06T07:08:09.123Z', meta: { tags: ['a', 'b'], n: 1 }, views: 0 };
const WELCOME = { id: 6, authorId: 3, title: 'Hello', publishedAt: '2025-06-07T08:09:10.000Z', meta: { first: true }, views: 0 };

/** The requests each app gets, in order, and what every ORM answers live on a fresh database. */
const EXCHANGES = [
  [['GET', '/posts?author=1&limit=2'], 200, [THIRD, SECOND]],
  [['GET', '/posts/2'], 200, SECOND],
  [['GET', '/posts/99'], 404, { error: 'no such post' }],
  [['POST', '/posts', { authorId: 2, title: 'New', publishedAt: CREATED.publishedAt, meta: CREATED.meta }], 201, CREATED],
  [['PATCH', '/posts/1', { title: 'First, edited' }], 200, { ...FIRST, title: 'First, edited', views: 11 }],
  [
    [
      'POST',
      '/authors',
      { name: 'Cy', email: 'cy@example.com', firstPost: { title: 'Hello', publishedAt: WELCOME.publishedAt, meta: WELCOME.meta } },
    ],
    201,
    { author: { id: 3, name: 'Cy', email: 'cy@example.com' }, post: WELCOME },
  ],
  [
    ['GET', '/authors/1'],
    200,
    { id: 1, name: 'Ann', email: 'ann@example.com', posts: [{ ...FIRST, title: 'First, edited', views: 11 }, SECOND, THIRD] },
  ],
  [
    [
      'POST',
      '/authors',
      { name: 'Ann again', email: 'ann@example.com', firstPost: { title: 'Dup', publishedAt: WELCOME.publishedAt, meta: {} } },
    ],
    409,
    { error: 'email taken', code: '23505' },
  ],
];

/** The cassette of each exchange, in EXCHANGES order (the two POST /authors told apart by body). */
function cassettesByExchange(files) {
  const cassettes = files.map(readJson);
  return EXCHANGES.map(([[method, url, body]]) => {
    const { pathname, searchParams } = new URL(url, 'http://app');
    return cassettes.find(
      (c) =>
        c.request.method === method &&
        c.request.path === pathname &&
        searchParams.toString() === new URLSearchParams(c.request.query).toString() &&
        JSON.stringify(c.request.body?.data ?? null) === JSON.stringify(body ?? null),
    );
  });
}

/** Parameters as pg sent them; a RegExp stands for a value that depends on the local time zone. */
function assertParams(actual, expected, message) {
  assert.equal(actual.length, expected.length, message);
  for (const [i, value] of expected.entries()) {
    if (value instanceof RegExp) assert.match(actual[i], value, `${message}: params[${i}]`);
    else assert.deepEqual(actual[i], value, `${message}: params[${i}]`);
  }
}

/**
 * Records EXCHANGES through the ORM's app against a fresh database and checks the cassettes
 * against what the ORM is expected to send, then replays the same requests with the database
 * unreachable: every response must be the recorded one, every request matched=OK.
 *
 * `orm.statements`: per exchange, the first word of each statement, in order;
 * `orm.firstRequest`: every statement of the first request (the ORM's own connection set-up, then the list query);
 * `orm.createParams`: the parameters of the INSERT behind POST /posts;
 * `orm.connectionSetUp`: the ORM makes calls of its own on each new connection.
 */
async function recordAndReplay(t, orm) {
  const script = path.join(APPS, orm.app);
  const database = await createDatabase(t, SCHEMA);
  const dir = tempDir(t);

  const recording = await startApp(t, script, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: database.url } });
  const live = [];
  for (const [req] of EXCHANGES) live.push(await send(recording, req));
  const files = await recording.cassettes(EXCHANGES.length);
  await recording.stop();
  assert.deepEqual(
    live,
    EXCHANGES.map(([, status, body]) => ({ status, body })),
    'the app answers as every ORM app does',
  );

  const events = cassettesByExchange(files).map((cassette) => cassette.events);
  for (const event of events.flat()) {
    assert.equal(event.type, 'db.query');
    assert.equal(event.signature.lib, 'pg');
  }
  assert.deepEqual(
    events.map((list) => list.map((e) => e.signature.sql.match(/^\w+/)[0].toUpperCase())),
    orm.statements,
  );
  // Each cassette keeps the server's start-up parameters once: replay answers connects with them.
  for (const list of events) {
    const withParameters = list.filter((e) => e.result.server_parameters);
    assert.equal(withParameters.length, 1);
    assert.match(withParameters[0].result.server_parameters.server_version, /^\d+/);
  }
  assert.deepEqual(
    events[0].map((e) => ({ sql: e.signature.sql, params: e.signature.params })),
    orm.firstRequest,
  );
  assertParams(events[3][0].signature.params, orm.createParams, 'INSERT for POST /posts');

  const replaying = await startApp(t, script, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  for (const [i, [req]] of EXCHANGES.entries()) assert.deepEqual(await send(replaying, req), live[i], `${req[0]} ${req[1]}`);
  const replayLine = /^timetracer replay [A-Z]+ \//;
  await replaying.waitForLine(replayLine, 'stderr', { count: EXCHANGES.length });
  const lines = replaying.stderr.filter((line) => replayLine.test(line));
  assert.equal(lines.length, EXCHANGES.length, lines.join('\n'));
  for (const line of lines) assert.match(line, / matched=OK /);
  assert.deepEqual(
    replaying.stderr.filter((line) => /\[MISS\]|unused/.test(line)),
    [],
  );

  // A later request replayed on its own from its cassette file, in a fresh process: the calls the
  // ORM makes once per connection were recorded by the first request, and are borrowed from the
  // cassettes beside the file.
  const alone = EXCHANGES.findIndex(([[method, url]]) => method === 'GET' && url === '/authors/1');
  const file = files.find((f) => readJson(f).request.path === '/authors/1');
  const single = await startApp(t, script, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: file, DATABASE_URL: UNREACHABLE_DATABASE_URL },
  });
  assert.deepEqual(await send(single, EXCHANGES[alone][0]), live[alone]);
  const line = await single.waitForLine(/^timetracer replay GET \/authors\/1 /);
  assert.match(line, orm.connectionSetUp ? / borrowed=\d+ matched=OK / : / mocked=\d+ matched=OK /, single.stderr.join('\n'));
}

const CREATED_META_TEXT = JSON.stringify(CREATED.meta);

test('knex (CommonJS): queries recorded at pg and replayed with no database', async (t) => {
  const columns = '"id", "author_id" as "authorId", "title", "published_at" as "publishedAt", "meta", "views"';
  await recordAndReplay(t, {
    app: 'orm-knex.cjs',
    connectionSetUp: true,
    statements: [
      ['SELECT', 'SELECT'],
      ['SELECT'],
      ['SELECT'],
      ['INSERT'],
      ['UPDATE'],
      ['BEGIN', 'INSERT', 'INSERT', 'COMMIT'],
      ['SELECT'],
      ['BEGIN', 'INSERT', 'ROLLBACK'],
    ],
    // knex asks the server's version on the first connection it opens.
    firstRequest: [
      { sql: 'select version();', params: [] },
      { sql: `select ${columns} from "posts" where "author_id" = $1 order by "published_at" desc limit $2`, params: ['1', '2'] },
    ],
    createParams: ['2', CREATED_META_TEXT, /^2025-05-06T\d\d:08:09\.123[+-]\d\d:\d\d$/, 'New'],
  });
});

test('Sequelize (CommonJS): queries recorded at pg and replayed with no database', async (t) => {
  const session = "SET client_min_messages TO warning;SET TIME ZONE INTERVAL '+00:00' HOUR TO MINUTE;";
  await recordAndReplay(t, {
    app: 'orm-sequelize.cjs',
    connectionSetUp: true,
    statements: [
      ['SET', 'WITH', 'SET', 'SELECT'],
      ['SELECT'],
      ['SELECT'],
      ['INSERT'],
      ['UPDATE'],
      ['START', 'INSERT', 'INSERT', 'COMMIT'],
      ['SELECT'],
      ['START', 'INSERT', 'ROLLBACK'],
    ],
    // Sequelize sets up every connection it opens, reads the type OIDs on its first (a connection
    // of its own, closed again), then queries with values written into the SQL.
    firstRequest: [
      { sql: session, params: [] },
      {
        sql:
          `WITH ranges AS ( SELECT pg_range.rngtypid, pg_type.typname AS rngtypname, pg_type.typarray AS rngtyparray, ` +
          `pg_range.rngsubtype FROM pg_range LEFT OUTER JOIN pg_type ON pg_type.oid = pg_range.rngtypid)SELECT pg_type.typname, ` +
          `pg_type.typtype, pg_type.oid, pg_type.typarray, ranges.rngtypname, ranges.rngtypid, ranges.rngtyparray FROM ` +
          `pg_type LEFT OUTER JOIN ranges ON pg_type.oid = ranges.rngsubtype WHERE (pg_type.typtype IN('b', 'e'));`,
        params: [],
      },
      { sql: session, params: [] },
      {
        sql:
          'SELECT "id", "title", "published_at" AS "publishedAt", "meta", "views", "author_id" AS "authorId" ' +
          'FROM "posts" AS "post" WHERE "post"."author_id" = 1 ORDER BY "publishedAt" DESC LIMIT 2;',
        params: [],
      },
    ],
    createParams: ['New', '2025-05-06 07:08:09.123 +00:00', CREATED_META_TEXT, '0', '2'],
  });
});

test('Drizzle (ESM, node-postgres): queries recorded at pg and replayed with no database', async (t) => {
  await recordAndReplay(t, {
    app: 'orm-drizzle.mjs',
    statements: [
      ['SELECT'],
      ['SELECT'],
      ['SELECT'],
      ['INSERT'],
      ['UPDATE'],
      ['BEGIN', 'INSERT', 'INSERT', 'COMMIT'],
      ['SELECT'],
      ['BEGIN', 'INSERT', 'ROLLBACK'],
    ],
    firstRequest: [
      {
        sql: 'select "id", "author_id", "title", "published_at", "meta", "views" from "posts" where "posts"."author_id" = $1 order by "posts"."published_at" desc limit $2',
        params: ['1', '2'],
      },
    ],
    createParams: ['2', 'New', '2025-05-06T07:08:09.123Z', CREATED_META_TEXT],
  });
});
