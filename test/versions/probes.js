// How each package a declared range names is tested: the probe app that uses it (apps/), what
// else it needs installed, the services it talks to, and what each request must leave in its
// cassette. A package without a probe of its own is tested through the package that installs it
// (`carriedBy`), or by the test files named (`testedBy`).

/** The upstream's answer for a user (see `upstreamHandler`). */
const user = (login) => ({ login, followers: 12 });

/** A password the probes' accounts have, and its hashes as each library writes them. */
const PASSWORD = 'correct horse';
const BCRYPT_HASH = '$2b$04$UCIXL3C6W4Yof3E/kG.nKum8aY3LeSn2yDrS8FQaeAjA3n5E6Kfua';
const ARGON2_HASH = '$argon2id$v=19$m=1024,t=2,p=1$088lOe31hEUSOPTztN6hZQ$bcuNTlJGt9HvWKClPCYxg8uAGbhN9OO4rPzh78vE8Sc';

/**
 * The upstream every probe may call: users by name, and accounts whose password hash is `hash`
 * under a field named as a secret.
 */
export function upstreamHandler({ hash } = {}) {
  return (req, res) => {
    const [, kind, name] = req.url.split('/');
    res.setHeader('content-type', 'application/json');
    if (kind === 'users') return res.end(JSON.stringify(user(name)));
    if (kind === 'accounts' && hash) return res.end(JSON.stringify({ name, password: hash }));
    res.statusCode = 404;
    res.end('{}');
  };
}

/** A framework's probe: a route calling the upstream through fetch, and one whose handler fails. */
function frameworkProbe(app, framework, error, extra = {}) {
  return {
    app,
    framework,
    requests: [
      { method: 'GET', path: '/user/ada', status: 200, route: '/user/:name', events: ['http.client fetch'], answer: user('ada') },
      { method: 'GET', path: '/crash', status: 500, route: '/crash', events: [], error },
    ],
    ...extra,
  };
}

/** A password library's probe: a login with the right password and one with a wrong one. */
function passwordProbe(library, hash) {
  const login = (name, password, ok) => ({
    method: 'POST',
    path: '/login',
    body: { name, password },
    status: 200,
    events: ['http.client fetch'],
    answer: { ok },
    reads: { [library]: { check: [ok ? 1 : 0] } },
  });
  return {
    app: 'password-check.cjs',
    env: { PASSWORD_LIBRARY: library },
    upstream: { hash },
    requests: [login('ada', PASSWORD, true), login('grace', 'wrong horse', false)],
  };
}

const GRAPHQL_USER = 'query GetUser($name: String!) { user(name: $name) { login followers } }';

/**
 * Probes by package name (`node`: Node's own modules). `with`: other packages installed beside
 * it, each the lowest or the highest version of its range as the package under test is the
 * lowest or the highest of its (graphql-http has served node:http since 1.16); `services`: what
 * it needs besides the upstream (postgres, redis, mongo); `env`: its settings. Each request: what
 * is sent, the status and JSON answered, the events its cassette must hold (`type lib`, in
 * order), for frameworks the route and the error noted, and the outcomes kept (`reads`).
 */
export const PROBES = {
  node: {
    app: 'node-http.cjs',
    label: 'node:http, fetch',
    requests: [
      {
        method: 'GET',
        path: '/users',
        status: 200,
        events: ['http.client http', 'http.client fetch'],
        answer: [user('ada'), user('grace')],
      },
    ],
  },
  undici: {
    app: 'undici.cjs',
    requests: [{ method: 'GET', path: '/users/ada', status: 200, events: ['http.client undici'], answer: user('ada') }],
  },
  pg: {
    app: 'pg.cjs',
    services: ['postgres'],
    requests: [
      { method: 'GET', path: '/sum', status: 200, events: ['db.query pg'], answer: { sum: 42 } },
      { method: 'GET', path: '/ratio', status: 500, events: ['db.query pg'], answer: { error: 'division by zero', code: '22012' } },
    ],
  },
  'pg-pool': { carriedBy: 'pg' },
  'pg-protocol': { carriedBy: 'pg' },
  ioredis: {
    app: 'ioredis.cjs',
    services: ['redis'],
    requests: [{ method: 'GET', path: '/greeting', status: 200, events: ['redis ioredis', 'redis ioredis'], answer: { value: 'hello' } }],
  },
  mongodb: {
    app: 'mongodb.cjs',
    services: ['mongo'],
    requests: [{ method: 'POST', path: '/users', body: { name: 'ada' }, status: 200, events: ['mongodb mongodb', 'mongodb mongodb'] }],
  },
  bson: { carriedBy: 'mongodb' },
  '@prisma/client': { testedBy: 'test/prisma*.test.js', installedIn: ['test/apps/prisma5', 'test/apps/prisma6', '.'] },
  express: frameworkProbe('express.cjs', 'express', 'express handler failed'),
  router: frameworkProbe('express.cjs', 'express', 'express handler failed', { label: 'router (Express 5)', with: { express: '>=5 <6' } }),
  fastify: frameworkProbe('fastify.cjs', 'fastify', 'fastify handler failed'),
  koa: frameworkProbe('koa.cjs', 'koa', 'koa handler failed', { with: { '@koa/router': '>=12 <16' } }),
  hono: frameworkProbe('hono.cjs', 'hono', 'hono handler failed', { with: { '@hono/node-server': '>=1 <3' } }),
  '@nestjs/core': frameworkProbe('nestjs.mjs', 'nestjs', 'nestjs handler failed', {
    with: { '@nestjs/common': '>=12 <13', '@nestjs/platform-express': '>=12 <13', 'reflect-metadata': '>=0.2 <0.3', rxjs: '>=7.8 <8' },
  }),
  graphql: {
    app: 'graphql.cjs',
    framework: 'graphql',
    with: { 'graphql-http': '>=1.16 <2' },
    requests: [
      {
        method: 'POST',
        path: '/graphql',
        body: { query: GRAPHQL_USER, variables: { name: 'ada' } },
        status: 200,
        route: 'query GetUser',
        events: ['http.client fetch'],
        answer: { data: { user: user('ada') } },
      },
      {
        method: 'POST',
        path: '/graphql',
        body: { query: 'query Crash { crash }' },
        status: 200,
        route: 'query Crash',
        events: [],
        error: 'graphql resolver failed',
      },
    ],
  },
  argon2: passwordProbe('argon2', ARGON2_HASH),
  bcrypt: passwordProbe('bcrypt', BCRYPT_HASH),
  '@node-rs/bcrypt': passwordProbe('@node-rs/bcrypt', BCRYPT_HASH),
};
