// The process cassette: what an app does outside its requests (its start-up, a timer) is recorded
// per process against real PostgreSQL and Redis, and served in replay with both stopped (ports
// that count the connections made to them stand where they were).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  APPS,
  REDIS_URL,
  ROOT,
  cassetteFiles,
  createDatabase,
  processCassetteFiles,
  readJson,
  redisKeyPrefix,
  request,
  startApp,
  startTripwire,
  tempDir,
} from './support/harness.js';

const APP = path.join(APPS, 'boot-app.mjs');
const CLI = path.join(ROOT, 'bin', 'timetracer.mjs');
const SCHEMA = `
  CREATE TABLE events (id uuid PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL);
  CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
  INSERT INTO settings VALUES ('currency', 'EUR'), ('region', 'eu-west');
`;
const BOOT_CALLS = [
  "db.query SELECT to_regclass('public.events') IS NOT NULL AS ready",
  'db.query SELECT key, value FROM settings ORDER BY key',
  'redis get flags',
];

/** A database and Redis keys of the test's own, and the app's environment for them. */
async function services(t) {
  const database = await createDatabase(t, SCHEMA);
  const prefix = await redisKeyPrefix(t, { flags: JSON.stringify({ beta: true }) });
  return { DATABASE_URL: database.url, REDIS_URL, KEY_PREFIX: prefix, HEARTBEAT_MS: '50' };
}

const processCassetteOf = (dir) => processCassetteFiles(dir)[0];

/** A call in a line: its type and what identifies it, keys left out of Redis commands. */
function label(event) {
  const { signature } = event;
  if (signature.sql) return `${event.type} ${signature.sql}`;
  return `${event.type} ${signature.command} ${signature.args.map((arg) => String(arg).replace(/^[^:]+:[^:]+:/, '')).join(' ')}`;
}

/** What the tests ask: the settings loaded at start-up, two rows inserted, then the rows. */
async function requests(app) {
  const post = (name) =>
    request(`${app.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  return [await request(`${app.url}/settings`), await post('first'), await post('second'), await request(`${app.url}/events`)];
}

async function beats(app, count) {
  const line = await app.waitForLine(/^heartbeat \d+ /, 'stdout', { count });
  return line;
}

test(
  'an app that needs PostgreSQL and Redis at start-up and on a timer, and inserts rows carrying new Date() ' +
    'and randomUUID(), is recorded, then boots and replays every request identically with both stopped',
  async (t) => {
    const env = await services(t);
    const dir = tempDir(t);
    const recording = await startApp(t, APP, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
    await recording.waitForLine(
      /^timetracer process cassette: \S+PROCESS__timetracer__[0-9a-f]{8}\.json \(calls made outside requests; written again as the process runs\)$/,
      'stderr',
    );
    const atStartUp = readJson(processCassetteOf(dir));
    assert.deepEqual(
      atStartUp.events
        .map(label)
        .filter((call) => !/heartbeats|count/.test(call))
        .slice(0, 3),
      BOOT_CALLS,
      'written once the app listens, with what it did at start-up',
    );
    const live = await requests(recording);
    assert.deepEqual(live[0].json(), { settings: { currency: 'EUR', region: 'eu-west' }, flags: { beta: true } });
    assert.match(live[1].json().id, /^[0-9a-f-]{36}$/, 'a row carrying randomUUID() and new Date()');
    assert.deepEqual(
      live[3].json().map((row) => row.name),
      ['first', 'second'],
    );
    await beats(recording, 4);
    await recording.cassettes(live.length);
    await recording.stop();

    const cassette = readJson(processCassetteOf(dir));
    assert.equal(cassette.session.kind, 'process');
    assert.deepEqual([cassette.request, cassette.response], [null, null]);
    assert.equal(cassette.session.pid, recording.child.pid);
    const calls = cassette.events.map(label);
    assert.deepEqual(
      calls.filter((call) => BOOT_CALLS.includes(call)),
      BOOT_CALLS,
    );
    const recordedBeats = calls.filter((call) => call === 'redis incr heartbeats').length;
    assert.ok(recordedBeats >= 4, `${recordedBeats} heartbeats recorded`);
    const counts = calls.filter((call) => call === 'db.query SELECT count(*)::int AS n FROM events').length;
    assert.ok(
      counts === recordedBeats || counts === recordedBeats + 1,
      `${counts} counts for ${recordedBeats} beats (the app may stop between a beat's two calls)`,
    );
    assert.ok(
      cassette.events.every((event, i) => i === 0 || event.start_offset_ms >= cassette.events[i - 1].start_offset_ms),
      'in order, timed from the process start',
    );

    const [postgres, redis] = [await startTripwire(t), await startTripwire(t)];
    const replaying = await startApp(t, APP, {
      env: {
        ...env,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`,
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        TIMETRACER_MODE: 'replay',
        TIMETRACER_CASSETTE: dir,
      },
    });
    await replaying.waitForLine(/^timetracer replay mode: 4 cassette\(s\) and 1 process cassette\(s\) from /, 'stderr');
    assert.deepEqual(
      (await requests(replaying)).map((r) => [r.status, r.text]),
      live.map((r) => [r.status, r.text]),
      'every request identical, ids and timestamps included',
    );
    // The timer beats more often than it did while recording: past its recordings, each beat gets the last one again.
    const first = await beats(replaying, 1);
    assert.match(first, /^heartbeat 1 events=\d+ total=1$/);
    const last = await beats(replaying, recordedBeats + 3);
    assert.match(last, new RegExp(`^heartbeat ${recordedBeats + 3} events=\\d+ total=${recordedBeats}$`));
    assert.deepEqual(
      replaying.stderr.filter((line) => line.includes('[MISS]') || line.includes('[WARN]')),
      [],
    );
    assert.deepEqual({ postgres: postgres.connections, redis: redis.connections }, { postgres: 0, redis: 0 });

    // One request's cassette replayed alone finds the process cassette of its recording directory.
    const settingsCassette = cassetteFiles(dir).find((file) => path.basename(file).startsWith('GET__settings__'));
    const alone = await startApp(t, APP, {
      env: {
        ...env,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`,
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        TIMETRACER_MODE: 'replay',
        TIMETRACER_CASSETTE: settingsCassette,
      },
    });
    const replayedAlone = await request(`${alone.url}/settings`);
    assert.equal(replayedAlone.text, live[0].text);
    await beats(alone, 2);
    assert.deepEqual(
      alone.stderr.filter((line) => line.includes('[MISS]')),
      [],
    );
    assert.deepEqual({ postgres: postgres.connections, redis: redis.connections }, { postgres: 0, redis: 0 });

    // The CLI shows the process cassette as a kind of its own.
    const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const list = cli('list', '--dir', dir);
    assert.equal(list.status, 0, list.stderr);
    assert.match(
      list.stdout,
      /^\S+ \S+ +PROCESS +\(calls outside requests\) +- +\d+ms +db\.query:\d+,redis:\d+ +\S+PROCESS__timetracer__[0-9a-f]{8}\.json$/m,
    );
    const show = cli('show', processCassetteOf(dir));
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`^PROCESS  calls made outside requests  pid ${recording.child.pid}  ran `));
    assert.match(show.stdout, /^ +\+\S+ +\|[ █]+\| +\S+ +redis +incr \["\S+:heartbeats"\] +ok$/m);
    const diff = cli('diff', processCassetteOf(dir), settingsCassette);
    assert.equal(diff.status, 2);
    assert.match(
      diff.stderr,
      /^timetracer diff: \S+ is a process cassette \(calls made outside requests\); diff compares request cassettes, and timetracer show shows this one\n$/,
    );
  },
);

test('the process cassette survives SIGKILL with what the app did at start-up, and past its limit counts repeats instead of storing them', async (t) => {
  const env = await services(t);
  const killedDir = tempDir(t);
  const killed = await startApp(t, APP, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: killedDir } });
  await killed.waitForLine(/^timetracer process cassette: /, 'stderr');
  killed.child.kill('SIGKILL');
  await killed.exited;
  assert.deepEqual(
    readJson(processCassetteOf(killedDir))
      .events.map(label)
      .filter((call) => BOOT_CALLS.includes(call)),
    BOOT_CALLS,
  );

  const boundedDir = tempDir(t);
  const bounded = await startApp(t, APP, {
    env: { ...env, HEARTBEAT_MS: '20', TIMETRACER_MODE: 'record', TIMETRACER_DIR: boundedDir, TIMETRACER_PROCESS_MAX_EVENTS: '6' },
  });
  await beats(bounded, 12);
  await bounded.stop();
  const { events } = readJson(processCassetteOf(boundedDir));
  assert.equal(events.length, 6);
  const repeats = Object.fromEntries(events.filter((event) => event.repeats).map((event) => [label(event), event.repeats]));
  assert.ok(repeats['redis incr heartbeats'] >= 5, JSON.stringify(repeats));
  assert.ok(repeats['db.query SELECT count(*)::int AS n FROM events'] >= 5, JSON.stringify(repeats));
});
