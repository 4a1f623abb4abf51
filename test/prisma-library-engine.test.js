// Prisma 5 and 6 on the classic query engine (runtime/library.js), prisma-client-js clients, against
// the real PostgreSQL at 127.0.0.1:5432: an app recorded, then replayed with PostgreSQL unreachable
// and no connection made.
//
// The engine's Node-API library (libquery_engine-debian-openssl-3.0.x.so.node) is a download
// these machines cannot make, and no npm package ships it. What they have is Prisma's own
// WebAssembly build of the same query engine, which @prisma/client ships in runtime/ and which
// runtime/library.js loads in place of the library for a client generated with
// PRISMA_CLIENT_FORCE_WASM (Prisma's switch for it); that engine queries through a driver
// adapter (@prisma/adapter-pg). So the apps are recorded on it, through the same client runtime,
// client class and engine class as with the library. Their cassettes are then replayed by the
// same app on a client generated for the Node-API library, given no adapter as most such apps
// are: the engine would load the file PRISMA_QUERY_ENGINE_LIBRARY names and connect to
// DATABASE_URL itself. The app prints each native library Node loads; the engine's never is, and
// the port DATABASE_URL names is a tripwire counting connections.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { APPS, readJson, request, startApp, startTripwire, tempDir } from './support/harness.js';

const POSTGRES = 'postgresql://postgres@127.0.0.1:5432';

const TABLES = `
  CREATE TABLE "User" (id SERIAL PRIMARY KEY, email TEXT NOT NULL, name TEXT, born TIMESTAMP(3), balance DECIMAL(12, 2),
    visits BIGINT NOT NULL DEFAULT 0, avatar BYTEA, prefs JSONB);
  CREATE UNIQUE INDEX "User_email_key" ON "User" (email);
  CREATE TABLE "Post" (id SERIAL PRIMARY KEY, title TEXT NOT NULL, published BOOLEAN NOT NULL DEFAULT false,
    "authorId" INTEGER NOT NULL REFERENCES "User" (id) ON DELETE RESTRICT ON UPDATE CASCADE);
`;

const ROUTES = [
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

const generated = tempDir(undefined, 'timetracer-prisma-library-');
after(() => fs.rmSync(generated, { recursive: true, force: true }));

/** Stands in for the engine's Node-API library: a file that is not one, so that loading it fails. */
const NOT_AN_ENGINE = path.join(generated, 'not-a-query-engine.so.node');
fs.writeFileSync(NOT_AN_ENGINE, 'not a Node-API library\n');

/**
 * Generates a major's clients: on the WebAssembly engine, `copied` (and for Prisma 5, `js` into
 * its @prisma/client) with PRISMA_CLIENT_FORCE_WASM, then `native` without it. Returns their
 * directories.
 */
function generate(major) {
  const dir = path.join(APPS, `prisma${major}`);
  const outputs = { copied: path.join(generated, `prisma${major}-copied`), native: path.join(generated, `prisma${major}-native`) };
  const env = {
    ...process.env,
    PRISMA_COPIED_OUTPUT: outputs.copied,
    PRISMA_NATIVE_OUTPUT: outputs.native,
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_QUERY_ENGINE_LIBRARY: NOT_AN_ENGINE,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    DATABASE_URL: `${POSTGRES}/nowhere`,
  };
  const schema = major === 5 ? 'schema.prisma' : 'library-engine.prisma';
  const prisma = (generators, extraEnv = {}) =>
    execFileSync(
      process.execPath,
      [
        path.join(dir, 'node_modules', 'prisma', 'build', 'index.js'),
        'generate',
        '--schema',
        schema,
        ...generators.flatMap((g) => ['--generator', g]),
      ],
      { cwd: dir, env: { ...env, ...extraEnv }, stdio: 'pipe' },
    );
  prisma(major === 5 ? ['js', 'copied'] : ['copied'], { PRISMA_CLIENT_FORCE_WASM: '1' });
  prisma(['native']);
  return outputs;
}

/** A database of the test's own with the two tables; dropped afterwards. */
async function database(t) {
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

async function run(app) {
  const responses = [];
  for (const route of ROUTES) {
    const response = await request(`${app.url}${route}`);
    responses.push({ status: response.status, body: response.json() });
  }
  return responses;
}

/** The app of a major on the client `client`, with the adapter or on its own (`adapter`: 'pg' or 'none'). */
function startPrismaApp(t, major, { client, adapter, env, waitForPort }) {
  return startApp(t, path.join(APPS, `prisma${major}`, 'library-engine.cjs'), {
    env: { ...env, PRISMA_CLIENT: client, PRISMA_ADAPTER: adapter, PRISMA_QUERY_ENGINE_LIBRARY: NOT_AN_ENGINE },
    waitForPort,
  });
}

const dlopens = (app) => app.stderr.filter((l) => l.startsWith('dlopen '));

const VARIANTS = [5, 6].flatMap((major) => {
  const outputs = generate(major);
  return [
    ...(major === 5 ? [{ major, generator: 'prisma-client-js in @prisma/client', client: '@prisma/client' }] : []),
    { major, generator: 'prisma-client-js with an output of its own', client: outputs.copied, native: outputs.native },
  ];
});

for (const { major, generator, client, native } of VARIANTS) {
  test(`Prisma ${major} classic engine, ${generator}: each operation is one db.query event, replayed with no connection`, async (t) => {
    const url = await database(t);
    const dir = tempDir(t);
    const recording = await startPrismaApp(t, major, {
      client,
      adapter: 'pg',
      env: { DATABASE_URL: url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir },
    });
    const live = await run(recording);
    const files = await recording.cassettes(ROUTES.length);
    await recording.stop();

    // What Prisma handed the app live, which replay must hand back too.
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
    // Prisma 5 throws its subclass NotFoundError there.
    assert.deepEqual(
      [missing.class, missing.known, missing.code],
      [major === 5 ? 'NotFoundError' : 'PrismaClientKnownRequestError', true, 'P2025'],
    );
    assert.deepEqual(deleted, { posts: 1, user: { email: 'bob@example.com' } });

    // The cassettes: Prisma's operations, and not the SQL the engine ran for them through pg.
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
    assert.deepEqual(create.result.value.visits, { $tt: 'BigInt', v: '9007199254740993' });
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

    /** Replays the cassettes with DATABASE_URL at a tripwire; asserts every response is the live one and no connection was made. */
    const replay = async (clientModule, adapter) => {
      const tripwire = await startTripwire(t);
      const replaying = await startPrismaApp(t, major, {
        client: clientModule,
        adapter,
        env: {
          DATABASE_URL: `postgresql://postgres@127.0.0.1:${tripwire.port}/nowhere`,
          TIMETRACER_MODE: 'replay',
          TIMETRACER_CASSETTE: dir,
        },
      });
      const replayed = await run(replaying);
      for (const [i, response] of replayed.entries()) assert.deepEqual(response, live[i], `${adapter}: ${ROUTES[i]}`);
      await replaying.waitForLine(/^timetracer replay GET \/disconnect /);
      const lines = replaying.stderr.filter((l) => /^timetracer replay GET /.test(l));
      assert.equal(lines.length, ROUTES.length);
      for (const line of lines) assert.match(line, /matched=OK/);
      assert.ok(!replaying.stderr.some((l) => /MISS|ECONNREFUSED/.test(l)), `no miss:\n${replaying.stderr.join('\n')}`);
      assert.equal(tripwire.connections, 0, 'no connection to the database');
      return replaying;
    };

    // Replay on the same client: neither the WebAssembly engine's adapter nor pg connects.
    await replay(client, 'pg');
    if (!native) return;

    // Replay on the Node-API engine, with no adapter: its library is never loaded.
    const onNative = await replay(native, 'none');
    assert.deepEqual(dlopens(onNative), [], 'no native library loaded');
  });
}

for (const major of [5, 6]) {
  test(`Prisma ${major} classic engine on its Node-API library: out of replay, the engine loads it as the client is made`, async (t) => {
    // What the replay above rules out, seen happening in record mode: the engine loads the file
    // PRISMA_QUERY_ENGINE_LIBRARY names. Here that fails, there being no such library to be had,
    // so this engine cannot be recorded here; how the app then fails is Prisma's (Prisma 5 on
    // Node 26 exits on the rejection nobody awaits), so only the load is asserted.
    const app = await startPrismaApp(t, major, {
      client: path.join(generated, `prisma${major}-native`),
      adapter: 'none',
      env: { DATABASE_URL: await database(t), TIMETRACER_MODE: 'record', TIMETRACER_DIR: tempDir(t) },
      waitForPort: false,
    });
    assert.equal(await app.waitForLine(/^dlopen /, 'stderr'), `dlopen ${NOT_AN_ENGINE}`);
  });
}
