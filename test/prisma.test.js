// Prisma 6 and 7 with @prisma/adapter-pg against the real PostgreSQL at 127.0.0.1:5432, each
// with the clients of both generators (prisma-client-js, in @prisma/client and with an output of
// its own, and prisma-client compiled to ES modules): an app recorded, then replayed with
// PostgreSQL unreachable.
//
// The set-up is the suite's own, so `npm test` works on a fresh clone: `prisma generate` runs
// with PRISMA_SCHEMA_ENGINE_BINARY and PRISMA_QUERY_ENGINE_LIBRARY pointing at any executable
// (their downloads fail on these machines, and the client engine uses neither), and each test's
// tables are created with plain SQL in a database of its own (`prisma migrate` cannot run here).
// Prisma 6 runs with the client engine too (`engineType = "client"`): its classic engine is one
// of those downloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { APPS, ROOT, readJson, request, startApp, tempDir } from './support/harness.js';

const POSTGRES = 'postgresql://postgres@127.0.0.1:5432';
const UNREACHABLE_DATABASE_URL = 'postgresql://postgres@127.0.0.1:1/nowhere';

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

/**
 * Generates a major's three clients: prisma-client-js into its @prisma/client and into
 * generated/copied, prisma-client into generated/ts (then compiled to generated/js).
 */
function generate(major) {
  const dir = path.join(APPS, `prisma${major}`);
  const packages = major === 6 ? path.join(dir, 'node_modules') : path.join(ROOT, 'node_modules');
  const env = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    DATABASE_URL: UNREACHABLE_DATABASE_URL,
  };
  const generated = path.join(dir, 'generated');
  fs.rmSync(generated, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(packages, 'prisma', 'build', 'index.js'), 'generate', '--schema', 'schema.prisma'], {
    cwd: dir,
    env,
    stdio: 'pipe',
  });
  fs.writeFileSync(path.join(generated, 'package.json'), '{ "type": "module" }\n');
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--outDir',
      path.join(generated, 'js'),
      '--rootDir',
      path.join(generated, 'ts'),
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--noCheck',
      path.join(generated, 'ts', 'client.ts'),
    ],
    { stdio: 'pipe' },
  );
}

generate(6);
generate(7);

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

const VARIANTS = [6, 7].flatMap((major) => [
  { major, generator: 'prisma-client-js', script: path.join(APPS, `prisma${major}`, 'js.cjs') },
  { major, generator: 'prisma-client-js with an output of its own', script: path.join(APPS, `prisma${major}`, 'copied.cjs') },
  { major, generator: 'prisma-client', script: path.join(APPS, `prisma${major}`, 'ts.mjs') },
]);

for (const { major, generator, script } of VARIANTS) {
  test(`Prisma ${major}, ${generator}: each operation is one db.query event, replayed with PostgreSQL unreachable`, async (t) => {
    const url = await database(t);
    const dir = tempDir(t);
    const recording = await startApp(t, script, { env: { DATABASE_URL: url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
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
    assert.deepEqual(duplicate.adapterError, [true, 'UniqueConstraintViolation'], 'meta.driverAdapterError is an Error with its cause');
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
    assert.deepEqual([missing.class, missing.code], ['PrismaClientKnownRequestError', 'P2025']);
    assert.deepEqual(deleted, { posts: 1, user: { email: 'bob@example.com' } });

    // The cassettes: Prisma's operations, and not the SQL the adapter ran for them through pg.
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

    // Replay: PostgreSQL unreachable.
    const replaying = await startApp(t, script, {
      env: { DATABASE_URL: UNREACHABLE_DATABASE_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
    });
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
  });
}

test('Prisma: fields named as secrets are not written, in arguments or in rows read back, and still match on replay', async (t) => {
  const url = await database(t);
  const dir = tempDir(t);
  const script = path.join(APPS, 'prisma7', 'ts.mjs');
  const env = { TIMETRACER_REDACT: 'name' };
  const recording = await startApp(t, script, { env: { ...env, DATABASE_URL: url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const live = [];
  for (const route of ['/create', '/read']) live.push((await request(`${recording.url}${route}`)).json());
  const files = await recording.cassettes(2);
  await recording.stop();
  assert.equal(live[1].unique.name, 'Ann');
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!/"name": "Ann"/.test(text), `${path.basename(file)} holds no name`);
  }
  const [create] = readJson(files.find((f) => readJson(f).request.path === '/create')).events;
  // Linked: the name the app wrote reads as the name it got back.
  assert.match(create.signature.args.data.name, /^\[REDACTED:[0-9a-f]{8}\]$/);
  assert.equal(create.result.value.name, create.signature.args.data.name);

  const replaying = await startApp(t, script, {
    env: { ...env, DATABASE_URL: UNREACHABLE_DATABASE_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
  });
  const created = (await request(`${replaying.url}/create`)).json();
  const read = (await request(`${replaying.url}/read`)).json();
  assert.deepEqual(
    { ...read.unique, name: 'Ann' },
    live[1].unique,
    'the app reads back "[REDACTED]" where it read the name, and nothing else changes',
  );
  assert.equal(read.unique.name, '[REDACTED]');
  assert.equal(created.posts.length, 2);
  await replaying.waitForLine(/^timetracer replay GET \/read /);
  for (const line of replaying.stderr.filter((l) => /^timetracer replay GET /.test(l))) assert.match(line, /matched=OK/);
});
