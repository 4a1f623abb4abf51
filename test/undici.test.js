// The undici package, its lowest and highest supported majors (6, and 8, which needs Node
// 22.19+), through every entry point and beside the global fetch: recorded against a real local
// HTTP server, then replayed with that server stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import zlib from 'node:zlib';
import { APPS, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

const [major, minor] = process.versions.node.split('.').map(Number);
const NODE_FOR_UNDICI_8 = major > 22 || (major === 22 && minor >= 19);

const VERSIONS = [
  { major: 6, script: path.join(APPS, 'undici6', 'app.mjs') },
  {
    major: 8,
    script: path.join(APPS, 'undici8.mjs'),
    skip:
      !NODE_FOR_UNDICI_8 && `undici 8 needs Node 22.19 or later; this is ${process.version} (CI runs this test under Node 22, 24 and 26)`,
  },
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

/**
 * Node's own fetch (its bundled undici) beside an installed undici, with or without timetracer.
 * undici 8 dropped the classic handler API and reads its global dispatcher from a new symbol
 * (slot 2); it sets slot 1 as well for older copies. undici 6 sets and reads slot 1 only (undici 7
 * sets both and reads slot 1).
 * - `fetch(url, { dispatcher })` works only where both speak one handler API: the fetch of Node 20
 *   to 24 (undici 6 and 7) cannot drive an undici 8 Agent, nor Node 26's (undici 8) an undici 6
 *   one ("invalid onError method").
 * - The installed undici's setGlobalDispatcher reaches the global fetch unless it is undici 6 while
 *   Node's is 8 or later (Node 26's fetch reads slot 2, which undici 6 never sets): then the global
 *   fetch keeps Node's own dispatcher and the fetch instrumentation records its call.
 */
const BUNDLED_UNDICI_MAJOR = Number(process.versions.undici.split('.')[0]);
const sharesHandlerApi = (undiciMajor) => undiciMajor >= 8 === BUNDLED_UNDICI_MAJOR >= 8;
const sharesGlobalDispatcher = (undiciMajor) => undiciMajor >= 7 || BUNDLED_UNDICI_MAJOR < 8;
const routesFor = (undiciMajor) => (sharesHandlerApi(undiciMajor) ? [...ROUTES, ['/fetch-with-dispatcher', ['GET /json']]] : ROUTES);
/** The libraries a route's calls are recorded by, sorted. */
const libsOf = (undiciMajor, route, calls) =>
  route === '/global' && !sharesGlobalDispatcher(undiciMajor) ? ['fetch', 'undici'] : calls.map(() => 'undici');

/** 1 KB of bytes that are not text. */
const BINARY = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 151 + 7) % 256));
const LARGE = 'x'.repeat(200 * 1024);
const ENCODE = { gzip: zlib.gzipSync, br: zlib.brotliCompressSync, deflate: zlib.deflateSync };

async function api(t) {
  return startUpstream(t, async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const [, first, second] = req.url.split('/');
    switch (first) {
      case 'redirect':
        res.writeHead(302, { location: '/json' });
        return res.end();
      case 'binary':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(BINARY);
      case 'encoded':
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': second });
        return res.end(ENCODE[second](JSON.stringify({ hello: 'world', coding: second })));
      case 'chunked':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('one ');
        return setImmediate(() => {
          res.write('two ');
          setImmediate(() => res.end('three'));
        });
      case 'large':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(LARGE);
      case 'sse':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const n of [1, 2]) res.write(`data: event ${n}\n\n`);
        return res.end('data: event 3\n\n');
      case 'status':
        res.writeHead(Number(second), { 'content-type': 'text/plain' });
        return res.end(`status ${second}`);
      case 'slow':
        return undefined; // never answers: the client's headers timeout fires
      case 'hangup':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('half of it');
        return setImmediate(() => res.socket.destroy());
    }
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/echo')) return res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    res.end(JSON.stringify({ hello: 'world' }));
  });
}

/** Records each route with the API up, then replays each with it stopped. */
async function recordThenReplay(t, script, routes) {
  const upstream = await api(t);
  const dir = tempDir(t);
  const recording = await startApp(t, script, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, API_URL: upstream.url } });
  const live = [];
  for (const route of routes) live.push(await request(`${recording.url}${route}`));
  const files = await recording.cassettes(routes.length);
  await recording.stop();
  await upstream.close();
  const replaying = await startApp(t, script, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, API_URL: upstream.url } });
  const replayed = [];
  for (const route of routes) replayed.push(await request(`${replaying.url}${route}`));
  const cassette = (route) => readJson(files.find((f) => readJson(f).request.path === route));
  return { live, replayed, cassette, replaying };
}

for (const { major: undiciMajor, script, skip } of VERSIONS) {
  test(`undici ${undiciMajor}: every entry point is recorded once per call and replayed with the server stopped`, { skip }, async (t) => {
    const routes = routesFor(undiciMajor);
    const { live, replayed, cassette, replaying } = await recordThenReplay(
      t,
      script,
      routes.map(([route]) => route),
    );
    assert.deepEqual(
      live.map((r) => r.status),
      routes.map(() => 200),
    );
    const throughCustom = sharesGlobalDispatcher(undiciMajor);
    assert.deepEqual(
      JSON.parse(live[ROUTES.findIndex(([r]) => r === '/global')].text),
      { viaRequest: { hello: 'world' }, viaGlobalFetch: { hello: 'world' }, dispatched: throughCustom ? 2 : 1 },
      `the global fetch went ${throughCustom ? 'through' : 'around'} the custom global dispatcher`,
    );
    assert.equal(JSON.parse(live[ROUTES.findIndex(([r]) => r === '/error')].text).error.code, 'ECONNREFUSED');
    for (const [route, calls] of routes) {
      const { events } = cassette(route);
      const seen = events.map((e) => `${e.signature.method} ${e.signature.url.replace(/^[a-z]+:\/\/[^/]+/, '')}`);
      assert.deepEqual(seen.sort(), [...calls].sort(), `${route}: each call once`);
      assert.ok(events.every((e) => e.type === 'http.client'));
      assert.deepEqual(
        events.map((e) => e.signature.lib).sort(),
        libsOf(undiciMajor, route, calls),
        `${route}: recorded by the instrumentation of the undici that made each call`,
      );
    }
    for (const [i, [route]] of routes.entries())
      assert.deepEqual([replayed[i].status, replayed[i].text], [live[i].status, live[i].text], route);
    await replaying.waitForLine(new RegExp(`^timetracer replay GET ${routes.at(-1)[0]} `));
    const lines = replaying.stderr.filter((l) => l.startsWith('timetracer replay GET'));
    assert.equal(lines.length, routes.length);
    for (const line of lines) assert.match(line, /matched=OK/);
  });

  test(`undici ${undiciMajor}: bodies and failures replay as they happened live`, { skip }, async (t) => {
    const routes = ['/binary', '/encodings', '/chunked', '/upload', '/large', '/sse', '/statuses', '/dns', '/timeout', '/abort', '/hangup'];
    const { live, replayed, cassette } = await recordThenReplay(t, script, routes);
    const got = Object.fromEntries(routes.map((route, i) => [route, JSON.parse(live[i].text)]));
    assert.deepEqual(got['/binary'], { length: 1024, sha256: createHash('sha256').update(BINARY).digest('hex') });
    assert.deepEqual(
      got['/encodings'],
      ['gzip', 'br', 'deflate'].map((coding) => ({ hello: 'world', coding })),
    );
    assert.equal(got['/chunked'], 'one two three');
    assert.equal(got['/upload'].body, 'streamed request body');
    assert.deepEqual(got['/large'], { length: LARGE.length });
    assert.deepEqual(got['/sse'].events, ['data: event 1', 'data: event 2', 'data: event 3']);
    assert.deepEqual(got['/statuses'], [
      { statusCode: 404, text: 'status 404' },
      { statusCode: 503, text: 'status 503' },
    ]);
    assert.ok(['ENOTFOUND', 'EAI_AGAIN'].includes(got['/dns'].code), JSON.stringify(got['/dns']));
    assert.deepEqual(got['/timeout'], { name: 'HeadersTimeoutError', code: 'UND_ERR_HEADERS_TIMEOUT' });
    assert.equal(got['/abort'].name, 'AbortError');
    assert.equal(got['/hangup'].code, 'UND_ERR_SOCKET');

    const [binary] = cassette('/binary').events;
    assert.equal(binary.result.body.encoding, 'base64');
    const [large] = cassette('/large').events;
    assert.deepEqual([large.result.body.truncated, large.result.body.size_bytes], [true, LARGE.length]);
    assert.equal(large.result.body.sha256, createHash('sha256').update(LARGE).digest('hex'));

    for (const [i, route] of routes.entries()) {
      if (route === '/large') continue;
      assert.deepEqual([replayed[i].status, replayed[i].text], [live[i].status, live[i].text], route);
    }
    // A body kept only in part is never served as if it were whole.
    assert.match(JSON.parse(replayed[routes.indexOf('/large')].text).error, /truncated when recorded \(204800 bytes/);
  });
}
