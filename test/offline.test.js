// Replay stays offline on every Node line: with each dependency stopped (a port that counts the
// connections made to it stands where the dependency was), a replay opens no connection, also
// when an instrumentation cannot attach (it says so in one line, and strict replay refuses that
// library's calls as misses) and for a library timetracer does not cover at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  APPS,
  REDIS_URL,
  createDatabase,
  readJson,
  redisKeyPrefix,
  request,
  startApp,
  startTripwire,
  startUpstream,
  tempDir,
} from './support/harness.js';

const APP = path.join(APPS, 'offline.mjs');
const LOCK_FETCH_DISPATCHER = path.join(APPS, 'preload', 'lock-fetch-dispatcher.mjs');
const IOREDIS_4_APP = path.join(APPS, 'ioredis4', 'app.mjs');
const NODE_REDIS_APP = path.join(APPS, 'node-redis.mjs');

function jsonUpstream(t) {
  return startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
}

const warnings = (app) => app.stderr.filter((line) => line.startsWith('timetracer [WARN]'));

test('a replay opens no connection to any dependency: node:http, fetch, undici, pg and ioredis', async (t) => {
  const upstream = await jsonUpstream(t);
  const database = await createDatabase(t);
  const env = { UPSTREAM_URL: upstream.url, DATABASE_URL: database.url, REDIS_URL, KEY_PREFIX: await redisKeyPrefix(t) };
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const live = await request(`${recording.url}/all`);
  assert.equal(live.status, 200, live.text);
  const [file] = await recording.cassettes(1);
  await recording.stop();
  const libs = readJson(file).events.map((event) => event.signature.lib);
  assert.deepEqual(libs.filter((lib) => lib !== 'pg').sort(), ['fetch', 'http', 'ioredis', 'undici']);
  assert.ok(libs.includes('pg'));

  await upstream.close();
  const [web, postgres, redis] = [await startTripwire(t, upstream.port), await startTripwire(t), await startTripwire(t)];
  const replaying = await startApp(t, APP, {
    env: {
      ...env,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      TIMETRACER_MODE: 'replay',
      TIMETRACER_CASSETTE: dir,
    },
  });
  const replayed = await request(`${replaying.url}/all`);
  assert.deepEqual([replayed.status, replayed.json()], [200, live.json()]);
  await replaying.waitForLine(/^timetracer replay GET \/all mocked=\d+ matched=OK /);
  assert.deepEqual(
    { upstream: web.connections, postgres: postgres.connections, redis: redis.connections },
    { upstream: 0, postgres: 0, redis: 0 },
  );
  assert.deepEqual(warnings(replaying), []);
});

test('a fetch whose dispatcher cannot be wrapped: one line, and strict replay refuses its calls without a connection', async (t) => {
  const upstream = await jsonUpstream(t);
  const env = { UPSTREAM_URL: upstream.url };
  const notInstrumented =
    /^timetracer \[WARN\] fetch is not instrumented: could not replace the global dispatcher under Symbol\.for\('undici\.globalDispatcher\.\d+'\) \(.*read only.*\); /;
  const dir = tempDir(t);
  const recording = await startApp(t, APP, {
    preload: [LOCK_FETCH_DISPATCHER],
    env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir },
  });
  const live = await request(`${recording.url}/fetch`);
  assert.deepEqual([live.status, live.json()], [200, { path: '/fetch' }], 'the app works as without the agent');
  const [file] = await recording.cassettes(1);
  await recording.stop();
  assert.deepEqual(readJson(file).events, []);
  assert.equal(warnings(recording).length, 1, warnings(recording).join('\n'));
  assert.match(warnings(recording)[0], new RegExp(`${notInstrumented.source}its calls are not recorded$`));

  await upstream.close();
  const tripwire = await startTripwire(t, upstream.port);
  const strict = await startApp(t, APP, {
    preload: [LOCK_FETCH_DISPATCHER],
    env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
  });
  for (let i = 0; i < 2; i++) {
    const refused = await request(`${strict.url}/fetch`);
    assert.deepEqual([refused.status, refused.json()], [500, { error: 'fetch failed', code: 'TIMETRACER_REPLAY_MISS' }]);
  }
  await strict.waitForLine(/^timetracer replay GET \/fetch mocked=0 matched=MISS misses=1 /, 'stderr', { count: 2 });
  assert.equal(warnings(strict).length, 1, warnings(strict).join('\n'));
  assert.match(warnings(strict)[0], new RegExp(`${notInstrumented.source}strict replay refuses its calls as misses$`));
  assert.equal(tripwire.connections, 0);

  // The tripwire does see a call that goes out: without strict replay, the same call goes live.
  const lenient = await startApp(t, APP, {
    preload: [LOCK_FETCH_DISPATCHER],
    env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, TIMETRACER_STRICT_REPLAY: 'false' },
  });
  assert.equal((await request(`${lenient.url}/fetch`)).status, 500);
  assert.match(warnings(lenient)[0], new RegExp(`${notInstrumented.source}its calls go live$`));
  assert.equal(tripwire.connections, 1);
});

test('a library version it does not instrument (ioredis 4): one line, and strict replay refuses its connection', async (t) => {
  const prefix = await redisKeyPrefix(t, { greeting: 'hello' });
  const notSupported =
    /^timetracer \[WARN\] ioredis is not instrumented: ioredis 4\.\d+\.\d+ at \S+ioredis4\/node_modules\/ioredis is not a version it supports \(>=5 <7\); /;
  const dir = tempDir(t);
  const recording = await startApp(t, IOREDIS_4_APP, {
    env: { KEY_PREFIX: prefix, REDIS_URL, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir },
  });
  const live = await request(recording.url);
  assert.deepEqual([live.status, live.json()], [200, { value: 'hello' }], 'the app works as without the agent');
  await recording.cassettes(1);
  await recording.stop();
  assert.equal(warnings(recording).length, 1, warnings(recording).join('\n'));
  assert.match(warnings(recording)[0], new RegExp(`${notSupported.source}its calls are not recorded$`));

  const tripwire = await startTripwire(t);
  const replaying = await startApp(t, IOREDIS_4_APP, {
    env: { KEY_PREFIX: prefix, REDIS_URL: `redis://127.0.0.1:${tripwire.port}`, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
  });
  const replayed = await request(replaying.url);
  assert.equal(replayed.status, 500, replayed.text);
  // Refused as a stopped server refuses, which the client knows how to handle.
  await replaying.waitForLine(/^redis error: ECONNREFUSED$/, 'stdout');
  await replaying.waitForLine(
    new RegExp(
      `^timetracer \\[MISS\\] ioredis connection to 127\\.0\\.0\\.1:${tripwire.port} refused; ioredis is not instrumented \\(ioredis 4\\.`,
    ),
    'stderr',
  );
  assert.match(warnings(replaying)[0], new RegExp(`${notSupported.source}strict replay refuses its calls as misses$`));
  assert.equal(tripwire.connections, 0);
});

test('a library timetracer does not cover (node-redis): strict replay refuses its connection, naming it, unless TIMETRACER_ALLOW_CONNECT lists the address', async (t) => {
  const prefix = await redisKeyPrefix(t, { greeting: 'hello' });
  const dir = tempDir(t);
  const recording = await startApp(t, NODE_REDIS_APP, {
    env: { KEY_PREFIX: prefix, REDIS_URL, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir },
  });
  const live = await request(recording.url);
  assert.deepEqual([live.status, live.json()], [200, { value: 'hello' }]);
  await recording.cassettes(1);
  await recording.stop();

  const tripwire = await startTripwire(t);
  const address = `127.0.0.1:${tripwire.port}`;
  const replay = (env = {}) =>
    startApp(t, NODE_REDIS_APP, {
      env: { KEY_PREFIX: prefix, REDIS_URL: `redis://${address}`, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, ...env },
    });
  const strict = await replay();
  const refused = await request(strict.url);
  assert.deepEqual([refused.status, refused.json().code], [500, 'ECONNREFUSED']);
  await strict.waitForLine(
    new RegExp(
      `^timetracer \\[MISS\\] @redis/client connection to ${address.replaceAll('.', '\\.')} refused; timetracer instruments no library that opened ` +
        `it \\(@redis/client\\), and strict replay lets no such connection out; TIMETRACER_ALLOW_CONNECT=${address.replaceAll('.', '\\.')} would$`,
    ),
    'stderr',
  );
  await strict.waitForLine(/^timetracer replay GET \/ mocked=0 matched=MISS misses=1 /, 'stderr');
  assert.equal(tripwire.connections, 0);

  const allowed = await replay({ TIMETRACER_ALLOW_CONNECT: `localhost:6380, ${address}` });
  assert.equal((await request(allowed.url)).status, 500, 'the tripwire drops the connection it lets through');
  assert.ok(tripwire.connections >= 1, 'the listed address was reached');
  assert.deepEqual(
    allowed.stderr.filter((line) => line.includes('refused')),
    [],
  );
});
