// Record a plain node:http app's requests, then replay them with the upstream stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { APPS, ROOT, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

function itemsUpstream(t) {
  return startUpstream(t, (req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/echo') res.end(JSON.stringify({ echoed: JSON.parse(body) }));
      else res.end(JSON.stringify({ id: req.url.split('/')[2], name: `item ${req.url.split('/')[2]}` }));
    });
  });
}

test('records node:http and fetch calls, then replays them with the upstream stopped', async (t) => {
  const dir = tempDir(t);
  const upstream = await itemsUpstream(t);
  const recording = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url },
  });
  const live = [
    await request(`${recording.url}/via-http/1`),
    await request(`${recording.url}/via-fetch/2`),
    await request(`${recording.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":3}' }),
  ];
  const files = await recording.cassettes(3);
  await recording.stop();

  const viaHttp = readJson(files.find((f) => f.includes('via-http')));
  assert.equal(viaHttp.request.method, 'GET');
  assert.equal(viaHttp.request.path, '/via-http/1');
  assert.equal(viaHttp.response.status, 200);
  assert.equal(viaHttp.events.length, 1);
  assert.equal(viaHttp.events[0].type, 'http.client');
  assert.equal(viaHttp.events[0].signature.url, `${upstream.url}/items/1`);
  assert.deepEqual(viaHttp.events[0].result.body.data, { id: '1', name: 'item 1' });
  assert.match(
    recording.stderr.join('\n'),
    /timetracer \[OK\] recorded GET \/via-http\/1 id=[0-9a-f]{4} status=200 total=\d+ms deps=http\.client:1/,
  );

  await upstream.close();
  const replaying = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, UPSTREAM_URL: upstream.url },
  });
  const replayed = [
    await request(`${replaying.url}/via-http/1`),
    await request(`${replaying.url}/via-fetch/2`),
    await request(`${replaying.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":3}' }),
  ];
  assert.deepEqual(
    replayed.map((r) => [r.status, r.text]),
    live.map((r) => [r.status, r.text]),
  );
  // The upstream is stopped: a call that reached the network would have failed with ECONNREFUSED.
  await replaying.waitForLine(/^timetracer replay POST \/echo mocked=1 matched=OK runtime=\d+ms$/);
});

test('TIMETRACER_LIVE_PLUGINS lets one library go live while the others replay', async (t) => {
  const dir = tempDir(t);
  let generation = 'recorded';
  const upstream = await startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: req.url.split('/')[2], generation }));
  });
  const recording = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url },
  });
  await request(`${recording.url}/via-http/1`);
  await request(`${recording.url}/via-fetch/2`);
  await recording.cassettes(2);
  await recording.stop();

  generation = 'live';
  const replaying = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, TIMETRACER_LIVE_PLUGINS: 'fetch', UPSTREAM_URL: upstream.url },
  });
  assert.deepEqual(
    (await request(`${replaying.url}/via-http/1`)).json(),
    { id: '1', generation: 'recorded' },
    'node:http served from the cassette',
  );
  assert.deepEqual((await request(`${replaying.url}/via-fetch/2`)).json(), { id: '2', generation: 'live' }, 'fetch went to the upstream');
  // The fetch recording was not expected to be used, so it is not reported as unused.
  await replaying.waitForLine(/^timetracer replay GET \/via-fetch\/2 mocked=0 matched=OK runtime=\d+ms$/);
  await replaying.stop();

  const quiet = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, TIMETRACER_LOG: 'quiet', UPSTREAM_URL: upstream.url },
  });
  assert.deepEqual((await request(`${quiet.url}/via-fetch/2`)).json(), { id: '2', generation: 'recorded' });
  await quiet.stop();
  assert.deepEqual(quiet.timetracerLines, [], 'TIMETRACER_LOG=quiet prints no per-request lines');
});

test('TIMETRACER_REPLAY_DIR writes each replayed request as a cassette, naming the one it was replayed from', async (t) => {
  const dir = tempDir(t);
  const replayDir = tempDir(t);
  const upstream = await startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: req.url.split('/')[2] }));
  });
  const recording = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url },
  });
  await request(`${recording.url}/via-fetch/5`);
  const [recorded] = await recording.cassettes(1);
  await recording.stop();
  await upstream.close();

  const replaying = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, TIMETRACER_REPLAY_DIR: replayDir, UPSTREAM_URL: upstream.url },
  });
  await request(`${replaying.url}/via-fetch/5`);
  await request(`${replaying.url}/via-http/6`);
  await replaying.waitForLine(/^ {2}replayed: /, 'stderr', { count: 2 });
  const written = replaying.stderr.filter((l) => l.startsWith('  replayed: '));
  const [served, missed] = written.map((line) => readJson(path.resolve(ROOT, line.slice('  replayed: '.length))));
  assert.equal(path.resolve(ROOT, served.session.replay_of), recorded);
  assert.deepEqual(served.response.body, readJson(recorded).response.body);
  assert.deepEqual(
    served.events.map((e) => [e.eid, e.signature.url]),
    [[1, `${upstream.url}/items/5`]],
  );
  assert.equal(missed.session.replay_of, undefined, 'no cassette was recorded for /via-http/6');
  assert.equal(missed.response.status, 500);
  assert.equal(missed.events[0].error.code, 'TIMETRACER_REPLAY_MISS');
});
