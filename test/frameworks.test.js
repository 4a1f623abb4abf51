// Express 4 and 5, Fastify 4 and 5, Hono 4 (CommonJS and ES modules), NestJS 12 (on Express and on Fastify), Koa 2 and
// GraphQL Yoga apps, each run as a user runs it: what only the framework knows (its name, the
// route template or GraphQL operation, the error a handler raised) reaches the cassettes, the body
// the framework parsed is recorded, and replay serves the same responses with the upstream stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { APPS, cassetteFiles, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

// unrouted: the framework is named even for a request no route matched (Fastify 5's channel only
// covers route handlers, so its 404s stay plain node:http; Nest's 404s are its adapter's).
const FRAMEWORKS = [
  {
    name: 'Express 4',
    script: path.join(APPS, 'express4', 'app.cjs'),
    pkg: 'express',
    major: 4,
    framework: 'express',
    client: 'http',
    crash: 'express 4 handler crashed',
    mounted: true,
    unrouted: true,
  },
  {
    name: 'Express 5',
    script: path.join(APPS, 'express5.mjs'),
    pkg: 'express',
    major: 5,
    framework: 'express',
    client: 'fetch',
    crash: 'express 5 handler rejected',
    mounted: true,
    unrouted: true,
  },
  {
    name: 'Fastify 4',
    script: path.join(APPS, 'fastify4', 'app.cjs'),
    pkg: 'fastify',
    major: 4,
    framework: 'fastify',
    client: 'http',
    crash: 'fastify 4 handler rejected',
    mounted: true,
    unrouted: true,
  },
  {
    name: 'Fastify 5',
    script: path.join(APPS, 'fastify.cjs'),
    pkg: 'fastify',
    major: 5,
    framework: 'fastify',
    client: 'http',
    crash: 'fastify handler rejected',
    mounted: false,
    unrouted: false,
  },
  {
    name: 'Hono 4 (CommonJS)',
    script: path.join(APPS, 'hono.cjs'),
    pkg: 'hono',
    major: 4,
    framework: 'hono',
    client: 'http',
    crash: 'hono handler rejected',
    // Answered by the sub-app's own onError.
    moreCrashes: [{ path: '/reports/crash', message: 'hono sub-app handler crashed' }],
    mounted: true,
    unrouted: true,
  },
  // Its ES build, patched through Node's module hooks: the app's package.json lists hono. A request
  // no route matched, and the error a sub-app's own onError answers, go unnoted there (below).
  {
    name: 'Hono 4 (ES modules)',
    script: path.join(APPS, 'hono-esm', 'app.mjs'),
    pkg: 'hono',
    major: 4,
    framework: 'hono',
    client: 'fetch',
    crash: 'hono ES module handler rejected',
    mounted: true,
    unrouted: false,
  },
  // One Nest application on each of its HTTP adapters.
  ...['Express', 'Fastify'].map((adapter) => ({
    name: `NestJS 12 on ${adapter}`,
    script: path.join(APPS, 'nestjs', `${adapter.toLowerCase()}.mjs`),
    pkg: '@nestjs/core',
    major: 12,
    framework: 'nestjs',
    client: 'fetch',
    crash: 'nestjs handler threw',
    mounted: true,
    unrouted: false,
  })),
  {
    name: 'Koa 2',
    script: path.join(APPS, 'koa.mjs'),
    pkg: 'koa',
    major: 2,
    framework: 'koa',
    client: 'fetch',
    crash: 'koa middleware rejected',
    mounted: false,
    unrouted: true,
  },
];

const ITEM = { name: 'widget', qty: 2 };

/**
 * The major version of `pkg` as the app at `script` resolves it: the package.json above the file
 * it resolves to (not every package exports its package.json).
 */
function installedMajor(script, pkg) {
  let dir = path.dirname(createRequire(script).resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json')) || readJson(path.join(dir, 'package.json')).name !== pkg) dir = path.dirname(dir);
  return Number(readJson(path.join(dir, 'package.json')).version.split('.')[0]);
}

/** What each app is asked, with the route template the framework matched. */
function requestsFor({ mounted, unrouted, crash, moreCrashes = [] }) {
  return [
    { method: 'GET', path: '/user/ada', route: '/user/:name', upstream: { method: 'GET', path: '/users/ada' } },
    ...(mounted
      ? [{ method: 'GET', path: '/v1/user/grace', route: '/v1/user/:name', upstream: { method: 'GET', path: '/users/grace' } }]
      : []),
    { method: 'POST', path: '/items', route: '/items', body: ITEM, upstream: { method: 'POST', path: '/items' } },
    { method: 'GET', path: '/crash', route: '/crash', crash },
    ...moreCrashes.map(({ path: crashPath, message }) => ({ method: 'GET', path: crashPath, route: crashPath, crash: message })),
    ...(unrouted ? [{ method: 'GET', path: '/nowhere', route: null }] : []),
  ];
}

function send(app, { method, path: urlPath, body }) {
  return request(
    `${app.url}${urlPath}`,
    body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
}

async function sendAll(app, requests) {
  const responses = [];
  for (const spec of requests) responses.push(await send(app, spec));
  return responses;
}

/** Users by name, and an items endpoint that stores what it is sent. */
function frameworkUpstream(t) {
  return startUpstream(t, (req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/items') res.end(JSON.stringify({ id: 7, stored: JSON.parse(body) }));
      else res.end(JSON.stringify({ login: req.url.split('/')[2], followers: 12 }));
    });
  });
}

/** The answer the app relays from the upstream for a request. */
function upstreamAnswer(spec) {
  return spec.upstream.method === 'POST' ? { id: 7, stored: spec.body } : { login: spec.upstream.path.split('/')[2], followers: 12 };
}

/**
 * Runs the app at `script` recording, against `upstream`, sends it `requests` and stops it: its
 * answers, the cassettes it wrote (one a request), where, and the app (for its lines).
 */
async function record(t, script, upstream, requests) {
  const dir = tempDir(t);
  const recording = await startApp(t, script, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  const live = await sendAll(recording, requests);
  await recording.cassettes(requests.length);
  await recording.stop();
  const cassettes = cassetteFiles(dir).map(readJson);
  assert.equal(cassettes.length, requests.length);
  return { dir, live, cassettes, recording };
}

/** Closes the upstream, replays `dir` and sends `requests` again: the app answers as it did live. */
async function replayOffline(t, script, upstream, { dir, live }, requests) {
  await upstream.close();
  const replaying = await startApp(t, script, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, UPSTREAM_URL: upstream.url } });
  const replayed = await sendAll(replaying, requests);
  assert.deepEqual(
    replayed.map((r) => [r.status, r.text]),
    live.map((r) => [r.status, r.text]),
  );
  return replaying;
}

for (const fw of FRAMEWORKS) {
  test(`${fw.name}: records framework, route template, parsed body and handler error, then replays offline`, async (t) => {
    // The app must load the major version under test (Express 4 comes from its own workspace).
    assert.equal(installedMajor(fw.script, fw.pkg), fw.major);

    const upstream = await frameworkUpstream(t);
    const requests = requestsFor(fw);
    const recorded = await record(t, fw.script, upstream, requests);
    const { live, cassettes, recording } = recorded;
    for (const [i, spec] of requests.entries()) {
      const label = `${spec.method} ${spec.path}`;
      const cassette = cassettes.find((c) => c.request.method === spec.method && c.request.path === spec.path);
      assert.ok(cassette, `a cassette for ${label}`);
      assert.equal(cassette.session.framework, fw.framework, label);
      assert.equal(cassette.request.route, spec.route, label);
      assert.equal(cassette.response.status, live[i].status, label);
      if (spec.body !== undefined) assert.deepEqual(cassette.request.body?.data, spec.body, `${label}: the body the app read`);

      if (spec.upstream) {
        const answer = upstreamAnswer(spec);
        assert.equal(live[i].status, spec.method === 'POST' ? 201 : 200, label);
        assert.deepEqual(live[i].json(), answer, label);
        assert.deepEqual(cassette.response.body.data, answer, label);
        assert.equal(cassette.response.error, undefined, label);
        assert.equal(cassette.events.length, 1, label);
        const [event] = cassette.events;
        assert.equal(event.type, 'http.client', label);
        assert.deepEqual(
          [event.signature.lib, event.signature.method, event.signature.url],
          [fw.client, spec.upstream.method, `${upstream.url}${spec.upstream.path}`],
          label,
        );
        assert.deepEqual(event.result.body.data, answer, label);
        if (spec.body !== undefined) assert.deepEqual(event.request.body.data, spec.body, `${label}: the body sent on`);
      } else if (spec.crash) {
        assert.equal(live[i].status, 500, label);
        assert.equal(cassette.response.error?.message, spec.crash, label);
        assert.deepEqual(cassette.events, [], label);
      } else {
        assert.equal(live[i].status, 404, label);
        assert.equal(cassette.response.error, undefined, label);
      }
    }
    assert.ok(
      recording.stderr.some((line) => line.startsWith('timetracer [ERROR] recorded GET /crash ')),
      recording.stderr.join('\n'),
    );
    assert.ok(
      recording.stderr.some((line) => line.startsWith('timetracer [OK] recorded GET /user/ada ')),
      recording.stderr.join('\n'),
    );

    const replaying = await replayOffline(t, fw.script, upstream, recorded, requests);
    for (const spec of requests) {
      const mocked = spec.upstream ? 1 : 0;
      await replaying.waitForLine(
        new RegExp(`^timetracer replay ${spec.method} ${spec.path} mocked=${mocked} matched=OK runtime=\\d+ms$`),
        'stderr',
      );
    }
  });
}

/** A GraphQL request as a client sends it: POST /graphql with a JSON body. */
function graphqlRequest(query, { operationName, variables } = {}) {
  return { method: 'POST', path: '/graphql', body: { query, ...(operationName && { operationName }), ...(variables && { variables }) } };
}

const GRAPHQL_REQUESTS = [
  {
    ...graphqlRequest('query GetUser($name: String!) { user(name: $name) { login followers } }', {
      operationName: 'GetUser',
      variables: { name: 'ada' },
    }),
    route: 'query GetUser',
    upstream: { method: 'GET', path: '/users/ada' },
    data: { user: { login: 'ada', followers: 12 } },
  },
  {
    ...graphqlRequest('mutation AddItem($name: String!, $qty: Int!) { addItem(name: $name, qty: $qty) { id stored { name qty } } }', {
      variables: ITEM,
    }),
    route: 'mutation AddItem',
    upstream: { method: 'POST', path: '/items', body: ITEM },
    data: { addItem: { id: 7, stored: ITEM } },
  },
  {
    ...graphqlRequest('{ user(name: "grace") { login } }'),
    route: 'query',
    upstream: { method: 'GET', path: '/users/grace' },
    data: { user: { login: 'grace' } },
  },
  { ...graphqlRequest('query Crash { crash }'), route: 'query Crash', crash: 'graphql resolver failed' },
];

test('GraphQL Yoga: records the operation as the route and the error a resolver raised, then replays offline', async (t) => {
  const script = path.join(APPS, 'graphql-yoga.mjs');
  assert.equal(installedMajor(script, 'graphql'), 16);
  const upstream = await frameworkUpstream(t);
  const requests = [...GRAPHQL_REQUESTS, { method: 'GET', path: '/nowhere' }];
  const recorded = await record(t, script, upstream, requests);
  const { live, cassettes, recording } = recorded;
  for (const [i, spec] of GRAPHQL_REQUESTS.entries()) {
    const cassette = cassettes.find((c) => c.request.path === '/graphql' && c.request.body?.data.query === spec.body.query);
    assert.ok(cassette, `a cassette for ${spec.route}`);
    assert.equal(cassette.session.framework, 'graphql', spec.route);
    assert.equal(cassette.request.route, spec.route);
    assert.equal(live[i].status, 200, spec.route);
    if (spec.crash) {
      // Yoga masks the error in its answer; the cassette keeps the one the resolver threw.
      assert.deepEqual(live[i].json().data, { crash: null });
      assert.notEqual(live[i].json().errors[0].message, spec.crash);
      assert.equal(cassette.response.error?.message, spec.crash);
      assert.deepEqual(cassette.events, []);
    } else {
      assert.deepEqual(live[i].json(), { data: spec.data }, spec.route);
      assert.equal(cassette.response.error, undefined, spec.route);
      assert.deepEqual(
        cassette.events.map((e) => [e.type, e.signature.lib, e.signature.method, e.signature.url]),
        [['http.client', 'fetch', spec.upstream.method, `${upstream.url}${spec.upstream.path}`]],
        spec.route,
      );
      if (spec.upstream.body) assert.deepEqual(cassette.events[0].request.body.data, spec.upstream.body, spec.route);
    }
  }
  const unrouted = cassettes.find((c) => c.request.path === '/nowhere');
  assert.deepEqual([unrouted.session.framework, unrouted.request.route, unrouted.response.status], ['node:http', null, 404]);
  assert.equal(
    recording.stderr.filter((line) => line.startsWith('timetracer [ERROR] recorded POST /graphql ')).length,
    1,
    recording.stderr.join('\n'),
  );
  assert.equal(
    recording.stderr.filter((line) => line.startsWith('timetracer [OK] recorded POST /graphql ')).length,
    3,
    recording.stderr.join('\n'),
  );

  const replaying = await replayOffline(t, script, upstream, recorded, requests);
  await replaying.waitForLine(/^timetracer replay POST \/graphql mocked=1 matched=OK runtime=\d+ms$/, 'stderr', { count: 3 });
  await replaying.waitForLine(/^timetracer replay POST \/graphql mocked=0 matched=OK runtime=\d+ms$/, 'stderr');
});

// Hono's ES build declares `compose` const, so it cannot be replaced as the CommonJS build's is:
// what only compose sees goes unnoted in an ES module app.
test('Hono 4 as an ES module app: what only compose sees goes unnoted (the error a sub-app onError answers, a request no route matched)', async (t) => {
  const script = path.join(APPS, 'hono-esm', 'app.mjs');
  const upstream = await frameworkUpstream(t);
  const requests = [
    { method: 'GET', path: '/reports/crash' },
    { method: 'GET', path: '/nowhere' },
  ];
  const { live, cassettes, recording } = await record(t, script, upstream, requests);
  assert.deepEqual(
    live.map((r) => r.status),
    [500, 404],
  );
  assert.deepEqual(live[0].json(), { failed: true });
  assert.deepEqual(
    requests.map((spec) => {
      const { session, request, response } = cassettes.find((c) => c.request.path === spec.path);
      return [session.framework, request.route, response.status, response.error];
    }),
    [
      ['hono', '/reports/crash', 500, undefined],
      ['node:http', null, 404, undefined],
    ],
  );
  assert.deepEqual(
    recording.stderr.filter((line) => line.startsWith('timetracer [WARN]')),
    [],
  );
});

// Node's module hooks cost every module an app loads: they are registered only for an app whose
// package.json lists a package hooked as ES modules. hono.mjs's nearest package.json is this
// repository's, which has Hono among its development tools only.
test('Hono 4 as an ES module app that does not list hono among its dependencies: recorded and replayed as a node:http server', async (t) => {
  const script = path.join(APPS, 'hono.mjs');
  assert.equal(installedMajor(script, 'hono'), 4);
  const upstream = await frameworkUpstream(t);
  const requests = [
    { method: 'GET', path: '/user/ada' },
    { method: 'GET', path: '/crash' },
  ];
  const recorded = await record(t, script, upstream, requests);
  const { live, cassettes } = recorded;
  assert.deepEqual(
    live.map((r) => r.status),
    [200, 500],
  );
  assert.deepEqual(live[0].json(), upstreamAnswer({ upstream: { method: 'GET', path: '/users/ada' } }));

  assert.deepEqual(
    requests.map((spec) => {
      const { session, request, response, events } = cassettes.find((c) => c.request.path === spec.path);
      return [session.framework, request.route, response.status, response.error, events.map((e) => [e.signature.lib, e.signature.url])];
    }),
    [
      ['node:http', null, 200, undefined, [['fetch', `${upstream.url}/users/ada`]]],
      ['node:http', null, 500, undefined, []],
    ],
  );

  const replaying = await replayOffline(t, script, upstream, recorded, requests);
  await replaying.waitForLine(/^timetracer replay GET \/user\/ada mocked=1 matched=OK runtime=\d+ms$/, 'stderr');
});
