// Determinism: what a request reads from the clock and randomness (through uuid, nanoid,
// crypto.randomUUID, jsonwebtoken, bcryptjs, Math.random, randomBytes, new Date() and Date.now())
// is recorded, and handed back on replay, so the calls that carry those values match and the
// responses are the same byte for byte, with PostgreSQL and Redis stopped (ports that count the
// connections made to them stand where they were).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  APPS,
  REDIS_URL,
  cassetteFiles,
  createDatabase,
  readJson,
  redisKeyPrefix,
  request,
  startApp,
  startTripwire,
  tempDir,
} from './support/harness.js';

const APP = path.join(APPS, 'determinism-app.mjs');
const COUNT_READS = path.join(APPS, 'preload', 'count-reads.mjs');
const SCHEMA = `CREATE TABLE accounts (
  id uuid PRIMARY KEY, short_id text NOT NULL, email text NOT NULL, js_hash text NOT NULL, native_hash text NOT NULL, rust_hash text NOT NULL,
  signed_claims text NOT NULL, created_at timestamptz NOT NULL, lucky double precision NOT NULL, web_id uuid NOT NULL, nonce text NOT NULL
)`;
const SALTED_HASH_LINE =
  "timetracer determinism: calls carry bcrypt hashes; a salt that native code draws itself (as @node-rs/bcrypt does) is out of timetracer's reach, so replay matches any bcrypt hash there";
const SIGN_UPS = [
  { email: 'ann@example.com', password: 'pw-ann' },
  { email: 'bob@example.com', password: 'pw-bob' },
];

async function session(app) {
  const post = (urlPath, body) =>
    request(`${app.url}${urlPath}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const responses = [];
  for (const body of SIGN_UPS) responses.push(await post('/signup', body));
  responses.push(await request(`${app.url}/accounts`));
  responses.push(await post('/login', SIGN_UPS[0]), await post('/login', { ...SIGN_UPS[1], password: 'wrong' }));
  return responses.map((r) => [r.status, r.text]);
}

/** How many clock and Math.random reads each package made (count-reads.mjs), asked for now. */
async function readsByPackage(app) {
  const before = app.stderr.filter((line) => line.startsWith('reads-by-package ')).length;
  app.child.kill('SIGUSR2');
  const line = await app.waitForLine(/^reads-by-package /, 'stderr', { count: before + 1 });
  return JSON.parse(line.slice('reads-by-package '.length));
}

async function recorded(t) {
  const database = await createDatabase(t, SCHEMA);
  const env = { DATABASE_URL: database.url, REDIS_URL, KEY_PREFIX: await redisKeyPrefix(t) };
  const dir = tempDir(t);
  const app = await startApp(t, APP, { preload: [COUNT_READS], env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const live = await session(app);
  const reads = await readsByPackage(app);
  await app.cassettes(SIGN_UPS.length + 3);
  await app.stop();
  return { env, dir, live, reads };
}

async function stoppedServices(t, env) {
  const [postgres, redis] = [await startTripwire(t), await startTripwire(t)];
  return {
    env: { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`, REDIS_URL: `redis://127.0.0.1:${redis.port}` },
    connections: () => ({ postgres: postgres.connections, redis: redis.connections }),
  };
}

test('ids, timestamps, tokens, salts and random values replay as recorded, so every call matches and every response is the same', async (t) => {
  const { env, dir, live, reads } = await recorded(t);
  assert.deepEqual(
    live.map(([status]) => status),
    [200, 200, 200, 200, 200],
  );
  const [ann] = [JSON.parse(live[0][1])];
  assert.match(ann.id, /^[0-9a-f-]{36}$/);
  assert.equal(ann.claims.exp - ann.claims.iat, 3600);

  // What each file read, in the cassette: the app's own file, and the libraries it called.
  const signup = cassetteFiles(dir)
    .map(readJson)
    .find((cassette) => cassette.request.path === '/signup' && cassette.request.body?.data?.email === ann.email);
  const readers = Object.keys(signup.reads).sort();
  assert.deepEqual(
    readers.map((file) => file.split('/').slice(0, 2).join('/')),
    ['node_modules/bcrypt', 'node_modules/bcryptjs', 'node_modules/jsonwebtoken', 'node_modules/nanoid', 'node_modules/uuid', 'test/apps'],
    readers.join(),
  );
  assert.deepEqual(Object.keys(signup.reads['test/apps/determinism-app.mjs']).sort(), ['bytes', 'clock', 'random', 'uuid']);
  assert.equal(signup.reads[readers.find((file) => file.startsWith('node_modules/uuid/'))].uuid[0], ann.id);
  assert.ok(
    Object.keys(signup.reads).every((file) => !file.includes('dist/src') && !file.includes('ioredis') && !file.includes('/pg')),
    "timetracer's own reads and the drivers' are not in it",
  );

  // A password checked against a hash read back under a column named as a secret: the hash is
  // redacted, and the check's outcome kept instead, so the login replays.
  assert.deepEqual(
    live.slice(-2).map(([, text]) => JSON.parse(text)),
    [{ ok: true }, { ok: false }],
  );
  const logins = cassetteFiles(dir)
    .map(readJson)
    .filter((cassette) => cassette.request.path === '/login');
  assert.ok(
    logins.every((cassette) => !JSON.stringify(cassette).includes('$2b$')),
    'no hash written',
  );
  assert.deepEqual(logins.map((cassette) => cassette.reads.bcrypt.check).sort(), [[0], [1]]);

  const stopped = await stoppedServices(t, env);
  const replaying = await startApp(t, APP, {
    preload: [COUNT_READS],
    env: { ...stopped.env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
  });
  assert.deepEqual(await session(replaying), live, 'the same responses, byte for byte');
  await replaying.waitForLine(/^timetracer replay POST \/login /, 'stderr', { count: 2 });
  const lines = replaying.stderr.filter((line) => /^timetracer replay (POST|GET) /.test(line));
  assert.equal(lines.length, 5);
  for (const line of lines) assert.match(line, /mocked=\d+ matched=OK runtime=/);
  assert.ok(replaying.stderr.includes(SALTED_HASH_LINE), replaying.stderr.join('\n'));
  assert.deepEqual(stopped.connections(), { postgres: 0, redis: 0 });

  // The driver read the clock live (a deadline for each blocking pop) and not at all in replay,
  // where the pop is answered without running ioredis's own code: the app's values did not move.
  const replayReads = await readsByPackage(replaying);
  assert.ok(reads.ioredis >= SIGN_UPS.length, JSON.stringify(reads));
  assert.equal(replayReads.ioredis ?? 0, 0, JSON.stringify(replayReads));
});

test('reads past the recording are live and said once per request; TIMETRACER_DETERMINISM=off leaves every read live', async (t) => {
  const { env, dir, live } = await recorded(t);
  const stopped = await stoppedServices(t, env);

  const more = await startApp(t, APP, { env: { ...stopped.env, EXTRA_READS: '2', TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir } });
  assert.deepEqual(await session(more), live, 'reads after the recorded ones change nothing the app sent or answered');
  const line = await more.waitForLine(/^timetracer replay POST \/signup /, 'stderr');
  assert.match(line, /matched=OK live-reads=2 runtime=/);
  assert.equal(more.stderr[more.stderr.indexOf(line) + 1], '  determinism: 2 clock reads past the recording, answered live');

  const off = await startApp(t, APP, {
    env: { ...stopped.env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, TIMETRACER_DETERMINISM: 'off' },
  });
  const [status] = (await session(off))[0];
  assert.equal(status, 500, 'the first call carrying a new id misses');
  await off.waitForLine(
    /^timetracer \[MISS\] redis rpush \S+ not recorded; nearest: eid 1, args\[1\] "[0-9a-f-]{36}" != recorded "[0-9a-f-]{36}"$/,
    'stderr',
  );
  assert.deepEqual(stopped.connections(), { postgres: 0, redis: 0 });
});
