// The undici package, its lowest and highest supported majors (6, and 8, which needs Node
// 22.19+), through every entry point and beside the global fetch: recorded against a real local
// HTTP server, then replayed with that server stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { APPS, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

const [major, minor] = process.versions.node.split('.').map(Number);
const NODE_FOR_UNDICI_8 = major > 22 || (major === 22 && minor >= 19);

const VERSIONS = [
  { major: 6, script: path.join(APPS, 'undici6', 'app.mjs') },
  { major: 8, script: path.join(APPS, 'undici8.mjs'), skip: !NODE_FOR_UNDICI_8 && `undici 8 needs Node 22.19 or later; this is ${process.version} (CI runs this test under Node 22 and 24)` },
];

/** Each route, and the calls it makes: each is recorded once, whatever the layers above the Client. */
const ROUTES = [
  ['/request', ['GET /json']],
  ['/fetch', ['GET /json']],
  ['/stream', ['GET /json']],
  ['/pool', ['POST /echo?name=a', 'POST /echo?name=b', 'POST /echo?name=c']],
  ['/client', ['PUT /echo']],
  ['/agent', ['GET /json']],
  ['/interceptors', ['GET /redirect', 'GET /json']],
  ['/global', ['GET /json', 'GET /json']],
  ['/error', ['GET /refused']],
];

async function api(t) {
  return startUpstream(t, async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/json' });
      return res.end();
    }
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/echo')) return res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    res.end(JSON.stringify({ hello: 'world' }));
  });
}

for (const { major: undiciMajor, script, skip } of VERSIONS) {
  test(`undici ${undiciMajor}: every entry point is recorded once per call and replayed with the server stopped`, { skip }, async (t) => {
    const upstream = await api(t);
    const dir = tempDir(t);
    const recording = await startApp(t, script, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, API_URL: upstream.url } });
    const live = [];
    for (const [route] of ROUTES) live.push(await request(`${recording.url}${route}`));
    const files = await recording.cassettes(ROUTES.length);
    await recording.stop();

    assert.deepEqual(live.map((r) => r.status), ROUTES.map(() => 200));
    assert.deepEqual(JSON.parse(live[7].text), { viaRequest: { hello: 'world' }, viaGlobalFetch: { hello: 'world' }, dispatched: 2 }, 'the global fetch went through the custom global dispatcher');
    assert.equal(JSON.parse(live[8].text).error.code, 'ECONNREFUSED');
    for (const [route, calls] of ROUTES) {
      const cassette = readJson(files.find((f) => readJson(f).request.path === route));
      if (cassette.events.some((e) => typeof e.signature.url !== 'string')) assert.fail(`${route}: ${JSON.stringify(cassette.events)}`);
      const seen = cassette.events.map((e) => `${e.signature.method} ${e.signature.url.replace(/^[a-z]+:\/\/[^/]+/, '')}`);
      assert.deepEqual(seen.sort(), [...calls].sort(), `${route}: each call once: ${JSON.stringify(cassette.events.map((e) => e.signature))}`);
      assert.ok(cassette.events.every((e) => e.type === 'http.client' && e.signature.lib === 'undici'), `${route}: recorded by the undici instrumentation`);
    }

    await upstream.close();
    const replaying = await startApp(t, script, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, API_URL: upstream.url } });
    for (const [i, [route]] of ROUTES.entries()) {
      const replayed = await request(`${replaying.url}${route}`);
      assert.deepEqual([replayed.status, replayed.text], [live[i].status, live[i].text], route);
    }
    await replaying.waitForLine(/^timetracer replay GET \/error /);
    const lines = replaying.stderr.filter((l) => l.startsWith('timetracer replay GET'));
    assert.equal(lines.length, ROUTES.length);
    for (const line of lines) assert.match(line, /matched=OK/);
  });
}
