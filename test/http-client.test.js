// Outbound HTTP end to end: apps call a real upstream through node:http, node:https and fetch;
// each scenario is recorded, then replayed with the upstream stopped (a call that reached the
// network would fail), and the app must answer exactly as it did live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { APPS, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

const CJS_APP = path.join(APPS, 'http-client.cjs');
const FETCH_APP = path.join(APPS, 'http-client-fetch.mjs');
const HTTPS_APP = path.join(APPS, 'http-client-https.mjs');
const CONCURRENCY_APP = path.join(APPS, 'http-client-concurrency.mjs');

/** The JSON an upstream answers with: enough to tell calls apart and see what arrived. */
function upstreamHandler() {
  let connections = 0;
  /** `/order/first` is answered only once `/order/release` arrives: completion order is fixed. */
  let releaseFirst;
  let released = false;
  let counted = 0;
  return (req, res) => {
    req.socket.connectionId ??= ++connections;
    const url = new URL(req.url, 'http://upstream');
    const [, kind, id] = url.pathname.split('/');
    const json = (status, value, headers = {}) => {
      const text = JSON.stringify(value);
      // Set by hand: Node leaves it out of a HEAD response, which must still tell the length.
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    };
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      switch (kind) {
        case 'items':
          return json(200, { id, conn: req.socket.connectionId, query: Object.fromEntries(url.searchParams) });
        case 'counter':
          return json(200, { count: ++counted });
        case 'echo':
          return json(200, {
            method: req.method,
            body: req.headers['content-type'] === 'application/json' ? JSON.parse(body) : body,
            transferEncoding: req.headers['transfer-encoding'] ?? null,
          });
        case 'stream':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.write('one\n', () => res.write('two\n', () => res.end('three\n')));
        case 'gzip':
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          return res.end(zlib.gzipSync(JSON.stringify({ compressed: true, items: [1, 2, 3] })));
        case 'status':
          res.writeHead(Number(id), id === '304' ? { etag: '"v1"' } : {});
          return res.end();
        case 'redirect':
          res.writeHead(302, { location: `/items/${id}` });
          return res.end();
        case 'order':
          if (id === 'first') {
            releaseFirst = () => json(200, { id });
            return released && releaseFirst();
          }
          json(200, { id });
          if (id === 'release') {
            released = true;
            releaseFirst?.();
          }
          return undefined;
        case 'partial':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.write('first part\n');
        case 'hang':
          return undefined;
        default:
          res.writeHead(404);
          return res.end();
      }
    });
  };
}

/** A URL nothing listens on: a port taken and released again. */
async function refusedUrl() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}/nothing-here`;
}

/** The cassette recorded for a request path (with query), out of those written. */
function cassetteFor(cassettes, pathWithQuery) {
  const url = new URL(pathWithQuery, 'http://app');
  const found = cassettes.filter(
    (c) => c.request.path === url.pathname && JSON.stringify(c.request.query) === JSON.stringify(Object.fromEntries(url.searchParams)),
  );
  assert.equal(found.length, 1, `one cassette for ${pathWithQuery}`);
  return found[0];
}

/** A key and self-signed certificate for localhost and 127.0.0.1, valid for a day, made for this test. */
function selfSignedCertificate(t) {
  const dir = tempDir(t, 'timetracer-tls-');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile, key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
}

/** A request to an HTTPS app, trusting `ca`: the answer in the shape of the harness's `request`. */
async function httpsRequest(url, ca) {
  const req = https.get(url, { ca });
  const [res] = await once(req, 'response');
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk;
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

const plainRequest = (app, p) => request(`${app.url}${p}`);

/** Requests `paths` of an app one after another, or all at once. */
async function requestAll(app, paths, { concurrent, send }) {
  if (concurrent) return Promise.all(paths.map((p) => send(app, p)));
  const responses = [];
  for (const p of paths) responses.push(await send(app, p));
  return responses;
}

/** Runs `app` in record mode through `paths`: the answers, the cassettes and their files. */
async function record(t, { app, env = {}, paths, concurrent = false, send = plainRequest }) {
  const dir = tempDir(t);
  const recording = await startApp(t, app, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const live = await requestAll(recording, paths, { concurrent, send });
  const files = await recording.cassettes(paths.length);
  await recording.stop();
  return { dir, files, live, cassettes: files.map(readJson), recording };
}

/** Runs `app` in replay mode from `cassette` (a file or directory) through `paths`, once each has its replay line. */
async function replay(t, { app, env = {}, cassette, paths, concurrent = false, send = plainRequest }) {
  const replaying = await startApp(t, app, { env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: cassette } });
  const replayed = await requestAll(replaying, paths, { concurrent, send });
  await replaying.waitForLine(/^timetracer replay [A-Z]+ \//, 'stderr', { count: paths.length });
  return { replayed, replaying };
}

/** Records `paths`, stops the upstreams, replays the same requests: both sets of answers and the cassettes. */
async function recordThenReplay(t, { upstreams, ...options }) {
  const recorded = await record(t, options);
  for (const upstream of upstreams) await upstream.close();
  return { ...recorded, ...(await replay(t, { ...options, cassette: recorded.dir })) };
}

/** A pattern matching exactly this line. */
function exactLine(text) {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

function answers(responses) {
  return responses.map((r) => [r.status, r.json()]);
}

test('node:http request and get with the global agent record each call and replay it offline', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const paths = ['/global/request?id=7', '/global/get?id=8'];
  const { live, replayed, cassettes, replaying } = await recordThenReplay(t, {
    app: CJS_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url },
    paths,
  });
  assert.deepEqual(
    answers(live).map(([, a]) => a.body.id),
    ['7', '8'],
  );
  for (const [p, id] of [
    [paths[0], '7'],
    [paths[1], '8'],
  ]) {
    const { events } = cassetteFor(cassettes, p);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event.type, 'http.client');
    assert.deepEqual(event.signature, { lib: 'http', method: 'GET', url: `${upstream.url}/items/${id}` });
    assert.equal(event.result.status, 200);
    assert.equal(event.result.headers['content-type'], 'application/json');
    assert.deepEqual(event.result.body.data, { id, conn: event.result.body.data.conn, query: {} });
    assert.equal(typeof event.start_offset_ms, 'number');
    assert.ok(event.duration_ms > 0);
    assert.equal(event.request.headers.host, new URL(upstream.url).host);
    assert.equal(event.request.body, null);
  }
  assert.deepEqual(answers(replayed), answers(live));
  assert.equal(replaying.stderr.filter((l) => /^timetracer replay GET \/global\/(request|get) mocked=1 matched=OK /.test(l)).length, 2);
});

test('a keep-alive agent: sequential calls over one socket, within one inbound request and across two, land in their own cassettes', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const paths = ['/keepalive?id=a', '/keepalive?id=b'];
  // At once: the agent has one socket, so one request's calls queue for the socket the other's free.
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: CJS_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url },
    paths,
    concurrent: true,
  });
  const calls = live.flatMap((r) => r.json());
  assert.equal(calls.length, 6);
  // The scenario is real: all six calls went over the one kept-alive socket.
  assert.equal(new Set(calls.map((c) => c.body.conn)).size, 1);
  for (const id of ['a', 'b']) {
    const { events } = cassetteFor(cassettes, `/keepalive?id=${id}`);
    assert.deepEqual(
      events.map((e) => e.signature.url),
      [1, 2, 3].map((n) => `${upstream.url}/items/${id}-${n}`),
    );
    assert.deepEqual(
      events.map((e) => e.result.body.data.id),
      [1, 2, 3].map((n) => `${id}-${n}`),
    );
  }
  assert.deepEqual(answers(replayed), answers(live));
});

test('node:http bodies: a chunked request body written in parts, a streamed chunked response, a gzip response the app decodes', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const paths = ['/chunked-upload', '/stream', '/gzip'];
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: CJS_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url },
    paths,
  });
  const [upload, stream, gzip] = live.map((r) => r.json());
  assert.deepEqual(upload.body, { method: 'POST', body: { parts: [1, 2, 3] }, transferEncoding: 'chunked' });
  assert.deepEqual(stream, { status: 200, body: 'one\ntwo\nthree\n', encoding: 'chunked' });
  assert.deepEqual(gzip.body, { compressed: true, items: [1, 2, 3] });
  assert.equal(gzip.contentEncoding, 'gzip');

  const [uploadEvent] = cassetteFor(cassettes, '/chunked-upload').events;
  assert.deepEqual(uploadEvent.request.body.data, { parts: [1, 2, 3] });
  assert.equal(uploadEvent.request.headers['transfer-encoding'], 'chunked');
  const [streamEvent] = cassetteFor(cassettes, '/stream').events;
  assert.equal(streamEvent.result.body.data, 'one\ntwo\nthree\n');
  assert.equal(streamEvent.result.headers['transfer-encoding'], 'chunked');
  const [gzipEvent] = cassetteFor(cassettes, '/gzip').events;
  assert.equal(gzipEvent.result.body.encoding, 'json');
  assert.equal(gzipEvent.result.body.content_encoding, 'gzip');
  assert.deepEqual(gzipEvent.result.body.data, { compressed: true, items: [1, 2, 3] });

  assert.deepEqual(answers(replayed), answers(live));
});

test('node:http HEAD, 204 and 304 responses replay with their recorded headers and no body', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: CJS_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url },
    paths: ['/statuses'],
  });
  const [head, noContent, notModified] = live[0].json();
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.ok(Number(head.length) > 0, 'HEAD tells the length of the body it does not send');
  assert.equal(noContent.status, 204);
  assert.equal(notModified.status, 304);
  assert.equal(notModified.etag, '"v1"');
  assert.deepEqual(
    cassetteFor(cassettes, '/statuses').events.map((e) => [e.signature.method, e.result.status, e.result.body]),
    [
      ['HEAD', 200, null],
      ['DELETE', 204, null],
      ['GET', 304, null],
    ],
  );
  assert.deepEqual(answers(replayed), answers(live));
});

test('node:http errors: a refused connection, an app-side timeout and the app giving up mid-body are recorded and replayed as the same errors', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const timeouts = ['/timeout?ms=150', '/timeout?ms=150&via=option', '/timeout?ms=150&via=agent'];
  const paths = ['/refused', ...timeouts, '/abort?by=req', '/abort?by=res'];
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: CJS_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url, REFUSED_URL: await refusedUrl() },
    paths,
  });
  const [refused, ...timedOut] = live.slice(0, 4).map((r) => r.json());
  const [abortedByReq, abortedByRes] = live.slice(4).map((r) => r.json());
  assert.equal(refused.error.code, 'ECONNREFUSED');
  for (const answer of timedOut)
    assert.deepEqual(answer, { error: { name: 'Error', code: 'ECONNRESET', message: 'socket hang up' }, waitedEnough: true });
  assert.deepEqual(abortedByReq, { status: 200, events: ['data first part\n', 'aborted', 'error ECONNRESET'] });
  assert.deepEqual(abortedByRes, { status: 200, events: ['data first part\n', 'aborted'] });

  const [refusedEvent] = cassetteFor(cassettes, '/refused').events;
  assert.equal(refusedEvent.error.code, 'ECONNREFUSED');
  assert.equal(refusedEvent.error.origin, 'dependency');
  assert.equal(refusedEvent.result, undefined);
  for (const p of timeouts) {
    const [event] = cassetteFor(cassettes, p).events;
    assert.deepEqual(
      [event.signature.url, event.error.code, event.error.origin, event.result],
      [`${upstream.url}/hang`, 'ECONNRESET', 'app', undefined],
      p,
    );
    assert.ok(event.duration_ms >= 150, p);
  }
  for (const p of paths.slice(4)) {
    const [event] = cassetteFor(cassettes, p).events;
    assert.deepEqual([event.result.body.data, event.error.code, event.error.origin], ['first part\n', 'ECONNRESET', 'app'], p);
  }

  // Replay: the refused call fails at once with the recorded code; the others are held open until
  // the app's own timer or destroy() ends them again (`waitedEnough`, the same events).
  assert.deepEqual(answers(replayed), answers(live));
});

test('node:https to an HTTPS upstream with a self-signed certificate trusted through `ca`; a miss goes live over TLS when not strict', async (t) => {
  const tls = selfSignedCertificate(t);
  const upstream = await startUpstream(t, upstreamHandler(), { tls });
  const env = { TLS_UPSTREAM_URL: upstream.url, TLS_CA_FILE: tls.certFile };
  const { dir, files, live, cassettes } = await record(t, { app: CJS_APP, env, paths: ['/https?id=9'] });
  assert.equal(live[0].json().body.id, '9');
  const [event] = cassetteFor(cassettes, '/https?id=9').events;
  assert.deepEqual(event.signature, { lib: 'http', method: 'GET', url: `${upstream.url}/items/9` });
  assert.equal(event.result.body.data.id, '9');

  const lenient = await replay(t, {
    app: CJS_APP,
    env: { ...env, TIMETRACER_STRICT_REPLAY: 'false' },
    cassette: files[0],
    paths: ['/https?id=10'],
  });
  assert.equal(lenient.replayed[0].json().body.id, '10');

  await upstream.close();
  const { replayed } = await replay(t, { app: CJS_APP, env, cassette: dir, paths: ['/https?id=9'] });
  assert.deepEqual(answers(replayed), answers(live));
});

test('an inbound https server is recorded like http, with its node:https and fetch calls', async (t) => {
  const tls = selfSignedCertificate(t);
  const tlsUpstream = await startUpstream(t, upstreamHandler(), { tls });
  const upstream = await startUpstream(t, upstreamHandler());
  const { live, replayed, cassettes, recording } = await recordThenReplay(t, {
    app: HTTPS_APP,
    upstreams: [tlsUpstream, upstream],
    env: { TLS_KEY_FILE: tls.keyFile, TLS_CERT_FILE: tls.certFile, TLS_UPSTREAM_URL: tlsUpstream.url, UPSTREAM_URL: upstream.url },
    paths: ['/items?id=5'],
    send: (app, p) => httpsRequest(`https://127.0.0.1:${app.port}${p}`, tls.cert),
  });
  assert.deepEqual([live[0].json().viaHttps.id, live[0].json().viaFetch.id], ['tls-5', 'plain-5']);
  assert.match(recording.stderr.join('\n'), /timetracer \[OK\] recorded GET \/items id=[0-9a-f]{4} status=200 .* deps=http\.client:2/);
  const cassette = cassetteFor(cassettes, '/items?id=5');
  assert.equal(cassette.response.status, 200);
  assert.deepEqual(cassette.response.body.data, live[0].json());
  assert.deepEqual(cassette.events.map((e) => [e.signature.lib, e.signature.url]).sort(), [
    ['fetch', `${upstream.url}/items/plain-5`],
    ['http', `${tlsUpstream.url}/items/tls-5`],
  ]);
  assert.deepEqual(answers(replayed), answers(live));
});

test('fetch: GET, POST with a JSON body, a redirect (one event per hop), HEAD and a gzip response', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const paths = ['/get?id=1', '/post?id=2', '/redirect?id=3', '/head', '/gzip'];
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: FETCH_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url },
    paths,
  });
  const [get, post, redirect, head, gzip] = live.map((r) => r.json());
  assert.equal(get.body.id, '1');
  assert.deepEqual(post.body, { method: 'POST', body: { hello: 'world', id: '2' }, transferEncoding: null });
  assert.deepEqual([redirect.redirected, redirect.body.id], [true, '3']);
  assert.deepEqual([head.status, head.body, Number(head.length) > 0], [200, '', true]);
  assert.deepEqual([gzip.body, gzip.contentEncoding], [{ compressed: true, items: [1, 2, 3] }, 'gzip']);

  const [getEvent] = cassetteFor(cassettes, paths[0]).events;
  assert.deepEqual(getEvent.signature, { lib: 'fetch', method: 'GET', url: `${upstream.url}/items/1` });
  assert.equal(getEvent.result.status, 200);
  assert.ok(getEvent.duration_ms > 0);
  const [postEvent] = cassetteFor(cassettes, paths[1]).events;
  assert.equal(postEvent.signature.method, 'POST');
  assert.equal(postEvent.signature.body_sha256, postEvent.request.body.sha256);
  assert.deepEqual(postEvent.request.body.data, { hello: 'world', id: '2' });
  assert.equal(postEvent.request.headers['content-type'], 'application/json');
  assert.deepEqual(
    cassetteFor(cassettes, paths[2]).events.map((e) => [e.signature.url, e.result.status, e.result.headers.location]),
    [
      [`${upstream.url}/redirect/3`, 302, '/items/3'],
      [`${upstream.url}/items/3`, 200, undefined],
    ],
  );
  const [gzipEvent] = cassetteFor(cassettes, paths[4]).events;
  assert.deepEqual([gzipEvent.result.body.content_encoding, gzipEvent.result.body.data], ['gzip', { compressed: true, items: [1, 2, 3] }]);

  assert.deepEqual(answers(replayed), answers(live));
});

test('fetch: concurrent calls in one inbound request replay by signature and n-th occurrence though they completed in another order', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: FETCH_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url },
    paths: ['/all'],
  });
  const bodies = live[0].json().map((r) => r.body);
  assert.deepEqual(
    bodies.slice(0, 3).map((b) => b.id),
    ['first', 'second', 'all'],
  );
  assert.deepEqual(
    bodies
      .slice(3)
      .map((b) => b.count)
      .sort(),
    [1, 2],
  );
  const events = cassetteFor(cassettes, '/all').events;
  const ended = (suffix) => {
    const event = events.find((e) => e.signature.url.endsWith(suffix));
    return event.start_offset_ms + event.duration_ms;
  };
  assert.equal(events.length, 6);
  assert.ok(ended('/order/first') > ended('/order/second'), 'the first call started first and ended last');
  // The two identical calls each get back their own recording, in the order they were made.
  assert.deepEqual(answers(replayed), answers(live));
});

test('fetch errors: a refused connection, an AbortSignal.timeout and an AbortController abort mid-body replay as the same errors', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const paths = ['/refused', '/timeout?ms=150', '/abort'];
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: FETCH_APP,
    upstreams: [upstream],
    env: { UPSTREAM_URL: upstream.url, REFUSED_URL: await refusedUrl() },
    paths,
  });
  const [refused, timedOut, aborted] = live.map((r) => r.json());
  assert.deepEqual([refused.error.message, refused.error.cause.code], ['fetch failed', 'ECONNREFUSED']);
  assert.deepEqual(timedOut, {
    error: { name: 'TimeoutError', code: 23, message: 'The operation was aborted due to timeout' },
    waitedEnough: true,
  });
  assert.deepEqual(aborted, {
    status: 200,
    first: 'first part\n',
    error: { name: 'AbortError', code: 20, message: 'This operation was aborted' },
  });

  const [refusedEvent] = cassetteFor(cassettes, paths[0]).events;
  assert.deepEqual([refusedEvent.error.code, refusedEvent.error.origin, refusedEvent.result], ['ECONNREFUSED', 'dependency', undefined]);
  const [timeoutEvent] = cassetteFor(cassettes, paths[1]).events;
  assert.deepEqual([timeoutEvent.error.name, timeoutEvent.error.origin, timeoutEvent.result], ['TimeoutError', 'app', undefined]);
  const [abortEvent] = cassetteFor(cassettes, paths[2]).events;
  assert.deepEqual([abortEvent.error.name, abortEvent.error.origin, abortEvent.result.body.data], ['AbortError', 'app', 'first part\n']);

  // The timed-out and aborted calls are held open on replay until the app's own timer and
  // controller end them again.
  assert.deepEqual(answers(replayed), answers(live));
});

for (const [app, lib] of [
  [CJS_APP, 'node:http'],
  [FETCH_APP, 'fetch'],
]) {
  test(`${lib}: a call unlike any recorded fails with TIMETRACER_REPLAY_MISS naming the difference, or goes live with TIMETRACER_STRICT_REPLAY=false`, async (t) => {
    const upstream = await startUpstream(t, upstreamHandler());
    const env = { UPSTREAM_URL: upstream.url };
    const { files } = await record(t, { app, env, paths: ['/miss?n=3'] });
    const call = `http.client POST ${upstream.url}/echo`;

    // One cassette file serves every request: the app now sends {"n":4} where it sent {"n":3}.
    const strict = await replay(t, { app, env, cassette: files[0], paths: ['/miss?n=4'] });
    const { error } = strict.replayed[0].json();
    const miss = lib === 'fetch' ? error.cause : error;
    assert.equal(miss.code, 'TIMETRACER_REPLAY_MISS');
    assert.match(miss.message, new RegExp(`${call} was not recorded; nearest: eid 1, body\\.n 4 != recorded 3`));
    if (lib === 'fetch') assert.deepEqual([error.name, error.message], ['TypeError', 'fetch failed']);
    // The unused line follows the replay line, maybe a moment later: wait for it.
    await strict.replaying.waitForLine(exactLine(`  unused: eid 1 ${call}`), 'stderr');
    const lines = strict.replaying.timetracerLines;
    assert.ok(lines.includes(`timetracer [MISS] ${call} not recorded; nearest: eid 1, body.n 4 != recorded 3`), lines.join('\n'));
    assert.ok(
      lines.some((l) => /^timetracer replay GET \/miss mocked=0 matched=MISS misses=1 unused=1 runtime=\d+ms$/.test(l)),
      lines.join('\n'),
    );

    // Not strict: the same miss reaches the running upstream, which echoes what it got.
    const lenient = await replay(t, { app, env: { ...env, TIMETRACER_STRICT_REPLAY: 'false' }, cassette: files[0], paths: ['/miss?n=4'] });
    assert.deepEqual(lenient.replayed[0].json().body, { method: 'POST', body: { n: 4 }, transferEncoding: null });
    assert.ok(
      lenient.replaying.timetracerLines.includes(
        `timetracer [MISS] ${call} not recorded; nearest: eid 1, body.n 4 != recorded 3; going live`,
      ),
    );
  });
}

test('200 concurrent inbound requests sharing sockets never mix their calls, and replay concurrently offline', async (t) => {
  const upstream = await startUpstream(t, upstreamHandler());
  const ids = Array.from({ length: 200 }, (_, i) => i);
  const paths = ids.map((i) => `/c/${i}`);
  const { live, replayed, cassettes } = await recordThenReplay(t, {
    app: CONCURRENCY_APP,
    upstreams: [upstream],
    // Every one of the 200 is to be recorded: a burst like this is what load shedding would thin out.
    env: { UPSTREAM_URL: upstream.url, TIMETRACER_SHED_LOAD: 'off' },
    paths,
    concurrent: true,
  });
  assert.equal(cassettes.length, 200);
  // The scenario is real: the 600 calls went over far fewer connections than requests.
  const connections = new Set(live.flatMap((r) => [r.json().viaHttp.conn, r.json().viaFetch.conn]));
  assert.ok(connections.size < 100, `${connections.size} connections`);
  for (const i of ids) {
    const { events } = cassetteFor(cassettes, `/c/${i}`);
    assert.deepEqual(
      events.map((e) => [e.signature.lib, e.signature.url]),
      [
        ['http', `${upstream.url}/items/http-${i}`],
        ['fetch', `${upstream.url}/items/fetch-${i}`],
        ['http', `${upstream.url}/echo`],
      ],
    );
    const mentioned = JSON.stringify(events).match(/(?:http|fetch|post)-\d+/g);
    assert.deepEqual([...new Set(mentioned)].sort(), [`fetch-${i}`, `http-${i}`, `post-${i}`], `cassette of request ${i}`);
  }
  assert.deepEqual(answers(replayed), answers(live));
});
