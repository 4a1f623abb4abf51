// The redaction canary: a distinct secret planted in every place a request can carry one, on a
// real app talking to a real upstream, PostgreSQL and Redis; then every byte recorded is searched
// for each of them. Replay must still match every call, its parameters redacted or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  APPS,
  REDIS_URL,
  UNREACHABLE_DATABASE_URL,
  cassetteFiles,
  createDatabase,
  readJson,
  redisKeyPrefix,
  request,
  startApp,
  startTripwire,
  startUpstream,
  tempDir,
} from './support/harness.js';

const APP = path.join(APPS, 'canary.mjs');

/** A secret no other place holds, named for where it is planted. */
const secret = (place) => `canary-${place}-${randomBytes(6).toString('hex')}`;

/** A JSON Web Token whose payload names `place`: found by its form, whatever it is named. */
function jwt(place) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: secret(place) })}.${randomBytes(16).toString('base64url')}`;
}

const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC${randomBytes(24).toString('base64')}\n-----END PRIVATE KEY-----`;
/** A card number that passes the Luhn check (a test number of the card networks). */
const CARD = '4111 1111 1111 1111';

/** Every file under `dir`, as text (bodies written base64 decoded too). */
function everythingWritten(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const text = fs.readFileSync(path.join(entry.parentPath ?? entry.path, entry.name), 'utf8');
      const decoded = [...text.matchAll(/"encoding": ?"base64",\s*"data": ?"([^"]*)"/g)].map((m) =>
        Buffer.from(m[1], 'base64').toString('latin1'),
      );
      return [text, ...decoded].join('\n');
    })
    .join('\n');
}

/** A distinct secret for every place: what the app is sent (`s`, `inbound`), what its upstream answers, and all of them by name. */
function plantSecrets() {
  const s = {
    email: `user-${randomBytes(4).toString('hex')}@example.com`,
    outboundToken: secret('outbound-bearer'),
    outboundApiKey: secret('outbound-api-key'),
    outboundJwt: jwt('outbound-custom-header'),
    upstreamPassword: secret('upstream-body'),
    sqlPassword: secret('sql-param-in-md5'),
    sqlToken: secret('sql-param-row-and-error-detail'),
    redisUpperPassword: secret('redis-upper-case'),
    redisLowerPassword: secret('redis-lower-case'),
    redisKeyedSecret: secret('redis-secret-key'),
    redisAuthPassword: secret('redis-auth'),
    responseCookieToken: secret('response-cookie'),
    responseToken: secret('response-body'),
    accessToken: secret('inbound-camel-case'),
    clientSecret: secret('inbound-client-secret'),
    privateKey: PRIVATE_KEY,
    card: CARD,
    note: `Bearer ${secret('inbound-bearer-in-text')}`,
  };
  const upstreamSecrets = {
    refresh: secret('upstream-refresh-token'),
    cookie: secret('upstream-cookie'),
    idToken: jwt('upstream-id-token'),
  };
  const inbound = {
    authorization: `Bearer ${secret('inbound-authorization')}`,
    cookie: `sid=${secret('inbound-cookie')}; theme=dark`,
    custom: jwt('inbound-custom-header'),
    queryKey: secret('inbound-query'),
    queryJwt: jwt('inbound-query-value'),
    formPassword: secret('inbound-form'),
    multipartPassword: secret('inbound-multipart'),
  };
  const planted = [
    ...Object.entries(s).filter(([name]) => name !== 'email'),
    ...Object.entries(upstreamSecrets),
    ...Object.entries(inbound),
  ].map(([name, value]) => [
    name,
    name === 'authorization' || name === 'note'
      ? value.replace(/^Bearer /, '')
      : name === 'cookie'
        ? value.slice(4, value.indexOf(';'))
        : value,
  ]);

  return { s, upstreamSecrets, inbound, planted };
}

/**
 * Records the canary requests on the real app and dependencies (`agentEnv` on top of record's),
 * replays them with every dependency out of reach, and checks replay answered each as live,
 * every call matched and nothing went out. Returns everything written.
 */
async function recordAndReplay(t, { s, upstreamSecrets, inbound }, agentEnv = {}) {
  const upstream = await startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('set-cookie', `upstream_session=${upstreamSecrets.cookie}; HttpOnly`);
    res.end(JSON.stringify({ refresh_token: upstreamSecrets.refresh, id_token: upstreamSecrets.idToken, card: CARD }));
  });
  const database = await createDatabase(t, 'CREATE TABLE canary_users (email text PRIMARY KEY, password text, api_token text UNIQUE)');
  const prefix = await redisKeyPrefix(t);
  const dir = tempDir(t);
  const env = { ...agentEnv, UPSTREAM_URL: upstream.url, DATABASE_URL: database.url, REDIS_URL, KEY_PREFIX: prefix };

  const boundary = '----canary';
  const requests = [
    [
      `/canary?api_key=${inbound.queryKey}&ref=${inbound.queryJwt}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: inbound.authorization,
          cookie: inbound.cookie,
          'x-correlation': inbound.custom,
        },
        body: JSON.stringify(s),
      },
    ],
    [
      '/form',
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `user=ann&password=${inbound.formPassword}`,
      },
    ],
    [
      '/multipart',
      {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: `--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nann\r\n--${boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\n${inbound.multipartPassword}\r\n--${boundary}--\r\n`,
      },
    ],
  ];

  const recording = await startApp(t, APP, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const live = [];
  for (const [url, options] of requests) live.push(await request(`${recording.url}${url}`, options));
  assert.equal(live[0].status, 200, live[0].text);
  assert.deepEqual(live[0].json().redis, [true, true, true, 'ERR'], 'the app read back what it wrote');
  assert.equal(live[0].json().duplicate, '23505', 'the unique violation happened');
  await recording.cassettes(requests.length);
  await recording.stop();
  assert.deepEqual(
    recording.stderr.filter((l) => l.includes('[WARN]')),
    [],
  );

  await upstream.close();
  const tripwire = await startTripwire(t, upstream.port);
  const replaying = await startApp(t, APP, {
    env: {
      ...env,
      DATABASE_URL: UNREACHABLE_DATABASE_URL,
      REDIS_URL: `redis://127.0.0.1:${tripwire.port}`,
      TIMETRACER_MODE: 'replay',
      TIMETRACER_CASSETTE: dir,
    },
  });
  for (const [i, [url, options]] of requests.entries()) {
    const replayed = await request(`${replaying.url}${url}`, options);
    assert.deepEqual([replayed.status, replayed.json()], [live[i].status, live[i].json()], url);
  }
  await replaying.waitForLine(/^timetracer replay POST \/canary /, 'stderr');
  const line = replaying.stderr.find((l) => l.startsWith('timetracer replay POST /canary '));
  assert.match(line, / matched=OK /, replaying.stderr.join('\n'));
  assert.deepEqual(
    replaying.stderr.filter((l) => l.includes('[MISS]')),
    [],
  );
  assert.equal(tripwire.connections, 0, 'nothing went out');
  return { dir, written: everythingWritten(dir) };
}

test('a secret planted in every place a request can carry one is found nowhere in what is written; replay still matches every call', async (t) => {
  const secrets = plantSecrets();
  const { written } = await recordAndReplay(t, secrets);
  const found = secrets.planted.filter(([, value]) => written.includes(value)).map(([name]) => name);
  assert.deepEqual(found, [], `secrets written in clear: ${found.join(', ')}`);
  assert.match(written, /\[REDACTED:[0-9a-f]{8}\]/, 'the cassettes were written, with their secrets redacted');
});

test("TIMETRACER_REDACT_FILE: the user's own names and patterns, a built-in pattern off, names for one library only", async (t) => {
  const secrets = plantSecrets();
  secrets.s.nickname = `nick-${randomBytes(6).toString('hex')}`;
  secrets.s.reference = `TT-REF-${randomBytes(6).toString('hex')}`;
  const policy = path.join(tempDir(t), 'redaction.json');
  fs.writeFileSync(
    policy,
    JSON.stringify({
      names: ['nickname'],
      patterns: ['TT-REF-[0-9a-f]{12}'],
      value_patterns: { card: false },
      libraries: { pg: { names: ['email'] } },
    }),
  );
  const { dir, written } = await recordAndReplay(t, secrets, { TIMETRACER_REDACT_FILE: policy });
  assert.ok(!written.includes(secrets.s.nickname), 'a name of the file');
  assert.ok(!written.includes(secrets.s.reference), 'a pattern of the file');
  assert.ok(written.includes(CARD.replace(/ /g, '')) || written.includes(CARD), 'card numbers are kept when their pattern is off');
  // email is a secret in pg's data only: kept in the request's body, redacted in the query's parameters.
  const [cassette] = cassetteFiles(dir)
    .map(readJson)
    .filter((c) => c.request.path === '/canary');
  assert.equal(cassette.request.body.data.email, secrets.s.email);
  const queries = cassette.events.filter((event) => event.signature.lib === 'pg' && event.signature.sql.includes('email'));
  assert.ok(queries.length >= 2);
  for (const query of queries) assert.ok(!JSON.stringify(query.signature.params).includes(secrets.s.email), query.signature.sql);
});
