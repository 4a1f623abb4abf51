// Redis through ioredis 5 and 6: an Express app recorded against the real Redis at
// 127.0.0.1:6379 (each test under a key prefix of its own), then replayed with Redis out of reach
// (port 1, where nothing listens: any connection attempt would fail) and its HTTP API stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { APPS, readJson, request, startApp, startUpstream, tempDir, send } from './support/harness.js';

const REDIS_PORT = 6379;
const UNREACHABLE_REDIS_PORT = 1;

const VERSIONS = [
  // ioredis 6 raises error replies as SimpleError, a ReplyError named "ReplyError".
  { major: 5, script: path.join(APPS, 'ioredis5', 'app.cjs'), errorClass: 'ReplyError' },
  { major: 6, script: path.join(APPS, 'ioredis6.cjs'), errorClass: 'SimpleError' },
];

const REQUESTS = [
  ['GET', '/strings'],
  ['POST', '/users/7', { name: 'Ann', password: 'hunter2' }],
  ['GET', '/pipeline'],
  ['GET', '/multi'],
  ['GET', '/lua'],
  ['GET', '/error'],
  ['GET', '/blocking'],
  ['GET', '/scan'],
  ['GET', '/call'],
  ['GET', '/profile/octocat'],
  ['GET', '/profile/octocat'],
  ['GET', '/pubsub'],
  ['GET', '/offline-queue-off'],
  ['POST', '/shutdown'],
];

/** A key prefix of the test's own, its keys deleted afterwards. */
function keyPrefix(t) {
  const prefix = `timetracer-test:${randomBytes(4).toString('hex')}:`;
  t.after(async () => {
    const redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
    await redis.connect();
    const keys = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 100 })) keys.push(...batch);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  return prefix;
}

async function profilesApi(t) {
  return startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ login: req.url.split('/').pop(), followers: 21594 }));
  });
}

for (const { major, script, errorClass } of VERSIONS) {
  test(`ioredis ${major}: every kind of command is recorded, then replayed with Redis unreachable`, async (t) => {
    const prefix = keyPrefix(t);
    const api = await profilesApi(t);
    const dir = tempDir(t);
    const env = { KEY_PREFIX: prefix, API_URL: api.url };
    const recording = await startApp(t, script, {
      env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, REDIS_PORT: String(REDIS_PORT) },
    });
    const live = [];
    for (const req of REQUESTS) live.push(await send(recording, req));
    const files = await recording.cassettes(REQUESTS.length);
    await recording.stop();

    // What ioredis handed the app live, which replay must hand back too.
    assert.deepEqual(live[0].body.greeting, { value: 'hello', type: 'string' });
    assert.deepEqual(live[0].body.buffer, { value: Buffer.from('hello').toString('base64'), type: 'Buffer' });
    assert.deepEqual(live[0].body.missing, { value: null, type: 'null' });
    assert.deepEqual(live[1].body, { fields: ['name', 'password', 'visits'], name: 'Ann', visits: '1', password: 'stored' });
    assert.deepEqual(live[3].body[1][0], { class: errorClass, name: 'ReplyError', message: 'ERR value is not an integer or out of range' });
    assert.deepEqual(live[4].body, { sum: 15, direct: [`${prefix}lua:a`, 'arg', '2'] });
    assert.equal(live[5].status, 500);
    assert.deepEqual(live[5].body.error, {
      class: errorClass,
      name: 'ReplyError',
      message: 'WRONGTYPE Operation against a key holding the wrong kind of value',
      command: 'hget',
    });
    assert.deepEqual(live[6].body, { popped: [`${prefix}queue`, 'job-1'], timedOut: null });
    assert.deepEqual(live[7].body, { count: 30, first: `${prefix}scan:0` });
    assert.deepEqual(live[8].body, { sent: 'OK', got: 'v', lazyPing: 'PONG', lazyStatus: 'ready' });
    assert.deepEqual([live[9].body.source, live[10].body.source], ['api', 'cache']);
    assert.deepEqual(live[11].body, {
      subscribed: 1,
      psubscribed: 2,
      receivers: 2,
      status: 'end',
      message: { from: `${prefix}news`, message: 'hello subscribers' },
      pmessage: { pattern: `${prefix}ne*`, from: `${prefix}news`, message: 'hello subscribers' },
    });
    assert.deepEqual(live[12].body, { early: "Stream isn't writeable and enableOfflineQueue options is false", later: 'hello' });
    assert.deepEqual(live[13].body, { quit: 'OK', status: 'ready' }, 'the socket closes after the reply');

    // The cassettes: one redis event per command, arguments as sent (key prefix included), replies as parsed.
    const cassette = (method, url) =>
      readJson(
        files.find((f) => {
          const c = readJson(f);
          return c.request.method === method && c.request.path === url;
        }),
      );
    assert.deepEqual(
      cassette('GET', '/offline-queue-off').events.map((e) => e.signature.command),
      ['get'],
      'the refused command was never sent',
    );
    const strings = cassette('GET', '/strings').events;
    assert.equal(strings[0].type, 'redis');
    assert.deepEqual(strings[0].signature, { lib: 'ioredis', command: 'set', args: [`${prefix}greeting`, 'hello', 'EX', '60'] });
    assert.deepEqual(strings[0].result, { reply: { text: 'OK' } });
    assert.ok(strings[0].duration_ms > 0 && strings[0].start_offset_ms >= 0);
    assert.deepEqual(
      cassette('GET', '/multi').events.map((e) => e.signature.command),
      ['set', 'multi', 'incr', 'incr', 'sadd', 'smembers', 'exec'],
    );
    assert.deepEqual(
      cassette('GET', '/pipeline').events.map((e) => e.signature.command),
      ['set', 'incr', 'get', 'lpush', 'lrange', 'hget'],
    );
    const wrongType = cassette('GET', '/error').events[1];
    assert.deepEqual(
      [wrongType.error.name, wrongType.error.message],
      ['ReplyError', 'WRONGTYPE Operation against a key holding the wrong kind of value'],
    );
    assert.deepEqual(
      cassette('GET', '/pubsub').events.map((e) => e.signature.command),
      ['subscribe', 'psubscribe', 'publish', 'message', 'pmessage'],
    );
    assert.deepEqual(
      cassette('GET', '/call').events.map((e) => e.signature.command),
      ['set', 'get', 'ping'],
      "the lazy client's connection set-up is not part of the request",
    );
    // The password is not written: not where it was sent, not where it was read back.
    const users = fs.readFileSync(
      files.find((f) => readJson(f).request.path === '/users/7'),
      'utf8',
    );
    assert.ok(!users.includes('hunter2'), 'no password in the cassette');
    assert.match(users, /"\[REDACTED:[0-9a-f]{8}\]"/);

    // Replay: Redis unreachable, the API stopped.
    await api.close();
    const replaying = await startApp(t, script, {
      env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, REDIS_PORT: String(UNREACHABLE_REDIS_PORT) },
    });
    await replaying.waitForLine(/^redis ready$/, 'stdout');
    for (const [i, req] of REQUESTS.entries()) {
      const replayed = await send(replaying, req);
      // /users/7 reads back the password its request sent: linked when recorded, the request's own in replay.
      assert.deepEqual(replayed, live[i], `${req[0]} ${req[1]}`);
    }
    await replaying.waitForLine(/^timetracer replay POST \/shutdown /);
    const lines = replaying.stderr.filter((l) => /^timetracer replay (GET|POST) /.test(l));
    assert.equal(lines.length, REQUESTS.length);
    for (const line of lines) assert.match(line, /matched=OK/);
    assert.ok(
      !replaying.stderr.some((l) => /ECONNREFUSED|connect E/.test(l)),
      `no connection was attempted:\n${replaying.stderr.join('\n')}`,
    );
  });
}

test('a command whose arguments differ from the recording misses, naming the nearest recorded command', async (t) => {
  const prefix = keyPrefix(t);
  const dir = tempDir(t);
  const env = { KEY_PREFIX: prefix, API_URL: 'http://127.0.0.1:1' };
  const recording = await startApp(t, VERSIONS[1].script, {
    env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, REDIS_PORT: String(REDIS_PORT) },
  });
  assert.deepEqual((await send(recording, ['GET', '/visit'])).body, { stored: 'OK' });
  const [file] = await recording.cassettes(1);
  await recording.stop();
  const recorded = readJson(file).events[0].signature.args[1];

  const replaying = await startApp(t, VERSIONS[1].script, {
    env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, REDIS_PORT: String(UNREACHABLE_REDIS_PORT) },
  });
  const missed = await request(`${replaying.url}/visit`);
  assert.equal(missed.status, 500);
  const miss = await replaying.waitForLine(/^timetracer \[MISS\] redis set /);
  assert.match(miss, new RegExp(`not recorded; nearest: eid 1, args\\[1\\] "at \\d+" != recorded "${recorded}"$`));
});

test('express-session with connect-redis over ioredis: logins and sessions replay without Redis', async (t) => {
  const prefix = keyPrefix(t);
  const dir = tempDir(t);
  const script = path.join(APPS, 'ioredis-session.cjs');
  const recording = await startApp(t, script, {
    env: { KEY_PREFIX: prefix, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, REDIS_PORT: String(REDIS_PORT) },
  });
  const flow = async (app) => {
    const login = await request(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ann' }),
    });
    const cookie = login.headers['set-cookie'].split(';')[0];
    const first = await request(`${app.url}/me`, { headers: { cookie } });
    const second = await request(`${app.url}/me`, { headers: { cookie } });
    return [login, first, second].map((r) => ({ status: r.status, body: r.json(), cookie: r.headers['set-cookie'] }));
  };
  const live = await flow(recording);
  const files = await recording.cassettes(3);
  await recording.stop();
  assert.deepEqual(
    live.map((r) => r.body),
    [{ user: 'ann' }, { user: 'ann', views: 1 }, { user: 'ann', views: 2 }],
  );
  const commands = files.map((f) => readJson(f)).map((c) => c.events.map((e) => e.signature.command));
  assert.deepEqual(commands.sort(), [['get', 'set'], ['get', 'set'], ['set']], 'the store reads and writes each session through ioredis');

  const replaying = await startApp(t, script, {
    env: { KEY_PREFIX: prefix, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, REDIS_PORT: String(UNREACHABLE_REDIS_PORT) },
  });
  assert.deepEqual(await flow(replaying), live);
});
