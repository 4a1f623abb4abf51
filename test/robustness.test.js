// The agent never breaks the app it is loaded into: bad configuration, missing or corrupt
// cassettes, an unwritable directory, crashes; and nothing secret is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { APPS, cassetteFiles, readJson, request, runCommand, startApp, startTripwire, startUpstream, tempDir } from './support/harness.js';

const APP = path.join(APPS, 'robust.cjs');

/** Every file under `dir`, hidden ones too. */
function allFiles(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

/** `expected` is the exact line, or a pattern where part of it varies. */
function assertLine(actual, expected) {
  if (typeof expected === 'string') assert.equal(actual, expected);
  else assert.match(actual, expected);
}

function dataUpstream(t) {
  return startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/session')) res.end(JSON.stringify({ token: 'upstream-token-value' }));
    else if (req.url === '/big') res.end(JSON.stringify({ filler: 'x'.repeat(512 * 1024) }));
    else res.end(JSON.stringify({ url: req.url, note: 'from upstream' }));
  });
}

test('a bad configuration value prints one line and the app runs as without the agent', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const policies = tempDir(t);
  const policyFile = (name, policy) => {
    fs.writeFileSync(path.join(policies, name), JSON.stringify(policy));
    return path.join(policies, name);
  };
  for (const [env, line] of [
    [
      { TIMETRACER_MODE: 'recrod' },
      'timetracer [WARN] TIMETRACER_MODE="recrod" is not valid; use one of: off, record, replay. timetracer stays off.',
    ],
    [
      { TIMETRACER_MODE: 'record', TIMETRACER_SAMPLE_RATE: 'half' },
      'timetracer [WARN] TIMETRACER_SAMPLE_RATE="half" is not valid; use a number from 0 to 1. timetracer stays off.',
    ],
    [
      { TIMETRACER_MODE: 'replay', TIMETRACER_ALLOW_CONNECT: '127.0.0.1:5432,db:port' },
      'timetracer [WARN] TIMETRACER_ALLOW_CONNECT lists "db:port", which is not an address; use host:port, [IPv6]:port, ' +
        "*:port, a host alone (any port) or a socket file's path, separated by commas. timetracer stays off.",
    ],
    [
      { TIMETRACER_MODE: 'record', TIMETRACER_REDACT_FILE: '/nonexistent/redaction.json' },
      'timetracer [WARN] TIMETRACER_REDACT_FILE="/nonexistent/redaction.json" cannot be read (ENOENT). timetracer stays off.',
    ],
    [
      { TIMETRACER_MODE: 'record', TIMETRACER_REDACT_FILE: policyFile('bad-pattern.json', { patterns: ['ok', '(unclosed'] }) },
      /^timetracer \[WARN\] TIMETRACER_REDACT_FILE="\S+bad-pattern\.json" has a pattern that is not a regular expression: "\(unclosed" \(.+\)\. timetracer stays off\.$/,
    ],
    [
      {
        TIMETRACER_MODE: 'record',
        TIMETRACER_REDACT_FILE: policyFile('bad-library.json', { libraries: { postgres: { names: ['pin'] } } }),
      },
      /^timetracer \[WARN\] TIMETRACER_REDACT_FILE names unknown plugin\(s\) postgres; use any of: .*pg.*\. timetracer stays off\.$/,
    ],
    [
      { TIMETRACER_MODE: 'replay', TIMETRACER_LIVE_PLUGINS: 'postgres' },
      /^timetracer \[WARN\] TIMETRACER_LIVE_PLUGINS names unknown plugin\(s\) postgres; use any of: http, fetch, undici, pg, ioredis, mongodb, prisma\. timetracer stays off\.$/,
    ],
  ]) {
    const app = await startApp(t, APP, { env: { ...env, TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
    const response = await request(`${app.url}/data?id=7`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.json().value, { url: '/data?id=7', note: 'from upstream' }, 'the call went to the real upstream');
    await app.stop();
    assert.equal(app.timetracerLines.length, 1, app.timetracerLines.join('\n'));
    assertLine(app.timetracerLines[0], line);
  }
  assert.deepEqual(cassetteFiles(dir), []);
});

test('with the mode unset the agent patches nothing', async (t) => {
  const app = await startApp(t, path.join(APPS, 'report-patches.mjs'), { waitForPort: false });
  await app.waitForLine(/^patched /, 'stdout');
  assert.deepEqual(app.stdout, ['patched http.request=false http.Server.emit=false fetch=false']);
  assert.deepEqual(app.stderr, []);
});

test('a missing or corrupt cassette gives one clear line; the app keeps serving', async (t) => {
  const dir = tempDir(t);
  const corrupt = path.join(dir, 'corrupt.json');
  fs.writeFileSync(corrupt, '{"schema_version": "1.0", "session": ');
  for (const [cassette, line] of [
    [
      path.join(dir, 'nowhere.json'),
      `timetracer [WARN] TIMETRACER_CASSETTE=${path.join(dir, 'nowhere.json')}: no such file or directory; every dependency call will be a miss`,
    ],
    [corrupt, /^timetracer \[WARN\] .*corrupt\.json is not valid JSON \(.*\); every dependency call will be a miss$/],
  ]) {
    const app = await startApp(t, APP, {
      env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: cassette, UPSTREAM_URL: 'http://127.0.0.1:45678' },
    });
    const response = await request(`${app.url}/data`);
    assert.equal(response.status, 500, 'the dependency call failed and the app handled it');
    assert.match(response.text, /app error: fetch failed \(TIMETRACER_REPLAY_MISS\)/);
    assert.equal((await request(`${app.url}/health`)).text, 'ok', 'the app still serves');
    await app.stop();
    const warnings = app.stderr.filter((l) => l.includes('[WARN]'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assertLine(warnings[0], line);
  }
});

test('bad files in a cassette directory are each skipped with a line saying why; the others still replay, nothing goes live', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  const live = await request(`${recording.url}/data?id=3`);
  const [file] = await recording.cassettes(1);
  await recording.stop();
  const good = readJson(file);
  const variant = (change) => JSON.stringify(change(structuredClone(good)));
  const deep = (depth) => '['.repeat(depth) + ']'.repeat(depth);
  const bad = {
    'broken.json': ['not json at all', /is not valid JSON/],
    'method-number.json': [
      variant((c) => ({ ...c, request: { ...c.request, method: 5 } })),
      /is not a usable cassette: request\.method is not a string$/,
    ],
    'recorded-at-number.json': [
      variant((c) => ({ ...c, session: { ...c.session, recorded_at: 1764900000000 } })),
      /is not a usable cassette: session\.recorded_at is not a string$/,
    ],
    'event-without-lib.json': [
      variant((c) => ({ ...c, events: [{ ...c.events[0], signature: {} }] })),
      /is not a usable cassette: events\[0\]\.signature\.lib is not a string$/,
    ],
    'deep.json': [
      variant((c) => ({ ...c, events: [{ ...c.events[0], result: '@DEEP@' }] })).replace('"@DEEP@"', deep(5000)),
      /is not a usable cassette: nests deeper than 200 levels$/,
    ],
    'bomb.json.gz': [zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024, ' ')), /bomb\.json\.gz unzips to more than 64 MiB$/],
  };
  for (const [name, [content]] of Object.entries(bad)) fs.writeFileSync(path.join(dir, name), content);
  await upstream.close();
  const tripwire = await startTripwire(t, upstream.port);
  const replaying = await startApp(t, APP, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, UPSTREAM_URL: upstream.url } });
  assert.equal((await request(`${replaying.url}/data?id=3`)).text, live.text);
  const skipped = replaying.stderr.filter((line) => line.startsWith('timetracer [WARN] skipped '));
  assert.equal(skipped.length, Object.keys(bad).length, skipped.join('\n'));
  for (const [name, [, reason]] of Object.entries(bad)) {
    const line = skipped.find((l) => l.includes(path.join(dir, name)));
    assert.ok(line, `a line names ${name}`);
    assert.match(line, reason);
  }
  assert.equal(tripwire.connections, 0);
});

test('replay reads a cassette when a request needs it: a bad one is named when its request comes, and is a miss that never goes live', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  const live = await request(`${recording.url}/data?id=3`);
  await request(`${recording.url}/data?id=4`);
  const [file] = await recording.cassettes(2);
  await recording.stop();
  // Named as recording names a GET /status-only cassette, and not JSON.
  const bad = path.join(path.dirname(file), 'GET__status-only__0badf00d.json');
  fs.writeFileSync(bad, '{"schema_version": "1.0", "session": ');
  await upstream.close();
  const tripwire = await startTripwire(t, upstream.port);
  const replaying = await startApp(t, APP, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, UPSTREAM_URL: upstream.url } });
  const isSkipLine = (line) => line.startsWith('timetracer [WARN] skipped ');
  assert.equal((await request(`${replaying.url}/data?id=3`)).text, live.text);
  assert.deepEqual(replaying.stderr.filter(isSkipLine), [], 'a cassette no request asked for is not read');
  const missed = await request(`${replaying.url}/status-only`);
  assert.equal(missed.status, 500);
  await replaying.waitForLine(/^timetracer \[WARN\] skipped /, 'stderr');
  const skipped = replaying.stderr.filter(isSkipLine);
  assert.equal(skipped.length, 1, skipped.join('\n'));
  assert.match(skipped[0], new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`));
  assert.equal(tripwire.connections, 0);
});

test('recording sheds load on its own while the event loop lags: it says so once, records fewer requests, and records as configured once calm', async (t) => {
  const BURST = 100;
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const app = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  // One slow request lags the event loop, but recording fewer requests would not help: nothing is shed.
  assert.equal((await request(`${app.url}/busy?ms=300`)).status, 200);
  // Bursts of requests whose handlers hold the event loop: the app is struggling. A burst that
  // straddles two of the shedder's one-second looks may show it neither: another burst, then.
  const shedding = () => app.stderr.some((line) => line.includes('recording sheds load'));
  let bursts = 0;
  while (!shedding() && bursts < 5) {
    bursts++;
    const burst = await Promise.all(Array.from({ length: BURST }, () => request(`${app.url}/busy?ms=5`)));
    assert.ok(burst.every((response) => response.status === 200));
    if (!shedding())
      await app.waitForLine(/^timetracer \[WARN\] recording sheds load/, 'stderr', { timeoutMs: 2_500 }).catch(() => undefined);
  }
  await app.waitForLine(/^timetracer \[WARN\] recording sheds load: the event loop ran \d+ ms late; recording 1 request in 2 /, 'stderr');
  assert.ok(
    app.stderr.some((line) => / recorded GET \/busy .*total=3\d\dms/.test(line)),
    'the slow request alone was recorded',
  );
  const REQUESTS = 24;
  for (let i = 0; i < REQUESTS; i++) assert.equal((await request(`${app.url}/data?id=${i}`)).status, 200);
  await app.waitForLine(/^timetracer recording is calm again: recording as configured$/, 'stderr');
  await app.stop();
  const recorded = app.stderr.filter((line) => / recorded GET \/data /.test(line)).length;
  assert.ok(recorded < REQUESTS, `${recorded} of ${REQUESTS} requests recorded while shedding`);
  assert.equal(app.stderr.filter((line) => line.includes('recording sheds load')).length, 1, 'said once');
  const sent = 1 + bursts * BURST + REQUESTS;
  const recordedAll = app.stderr.filter((line) => / recorded GET /.test(line)).length;
  assert.ok(
    app.stderr.includes(`timetracer [WARN] ${sent - recordedAll} request(s) were left unrecorded while recording shed load`),
    app.stderr.join('\n'),
  );
});

test('a cassette directory that cannot be made gives one line at start, and the app runs as without the agent', async (t) => {
  const upstream = await dataUpstream(t);
  const blocker = path.join(tempDir(t), 'a-file');
  fs.writeFileSync(blocker, 'not a directory');
  for (const [dir, cause] of [
    [path.join(blocker, 'cassettes'), `ENOTDIR: not a directory, mkdir '${path.join(blocker, 'cassettes')}'`],
    // Node's own recursive mkdir loops for ever on this one, a core spinning while the app runs.
    ['/proc/self/nope', "ENOENT: no such file or directory, mkdir '/proc/self/nope'"],
  ]) {
    const app = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
    await app.waitForLine(/cannot be written/, 'stderr');
    const response = await request(`${app.url}/data?id=1`);
    assert.equal(response.status, 200);
    assert.equal(response.json().value.url, '/data?id=1');
    await app.stop();
    assert.deepEqual(app.timetracerLines, [
      `timetracer [WARN] TIMETRACER_DIR=${JSON.stringify(dir)} cannot be written (${cause}). timetracer stays off.`,
    ]);
  }
});

test('a cassette directory that goes bad while recording loses no response; one line says why, once', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = path.join(tempDir(t), 'cassettes');
  const app = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  // Someone cleans up and leaves a file where the folder was.
  fs.rmSync(dir, { recursive: true });
  fs.writeFileSync(dir, 'not a directory');
  for (let i = 0; i < 5; i++) {
    const response = await request(`${app.url}/data?id=${i}`);
    assert.equal(response.status, 200);
    assert.equal(response.json().value.url, `/data?id=${i}`);
  }
  await app.waitForLine(/could not write a cassette/, 'stderr');
  await app.stop();
  const warnings = app.stderr.filter((l) => l.includes('[WARN]'));
  assert.equal(warnings.length, 2, warnings.join('\n'));
  // The code once, as Node's message already begins with it.
  assert.match(
    warnings[0],
    /^timetracer \[WARN\] could not write a cassette \(ENOTDIR: not a directory, \w+ '[^']+'\); the app carries on, cassettes are not being kept$/,
  );
  assert.equal(warnings[1], 'timetracer [WARN] 5 cassette(s) could not be written');
});

test('writes that fail part-way (a full disk) leave no partial or temporary file behind', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const app = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  // Files of the app's process may grow to 1 KiB, less than a cassette: each write fails after
  // its first KiB, as on a disk that fills (EFBIG here, ENOSPC there: the same path).
  const limited = await runCommand('prlimit', ['--pid', String(app.child.pid), '--fsize=1024:1024']);
  assert.equal(limited.code, 0, limited.stderr);
  for (let i = 0; i < 5; i++) assert.equal((await request(`${app.url}/data?id=${i}`)).status, 200);
  await app.waitForLine(/could not write a cassette/, 'stderr');
  await app.stop();
  assert.deepEqual(allFiles(dir), [], 'no cassette, whole or in part, and no temporary file');
  assert.ok(app.stderr.includes('timetracer [WARN] 5 cassette(s) could not be written'), app.stderr.join('\n'));
  assert.match(app.stderr.join('\n'), /could not write a cassette \(EFBIG: file too large, write\)/);
});

test('a handler that crashes the process still leaves its cassette, with the error', async (t) => {
  const upstream = await dataUpstream(t);
  for (const [route, message, deps] of [
    ['/sync-crash', 'sync crash in handler', 0],
    ['/async-crash', 'crash after an upstream call', 1],
  ]) {
    const dir = tempDir(t);
    const app = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
    await assert.rejects(request(`${app.url}${route}`), 'the client sees the connection drop');
    const { code } = await app.exited;
    assert.equal(code, 1, 'the process died as it would without the agent');
    const [file] = cassetteFiles(dir);
    assert.ok(file, `a cassette was written for ${route}`);
    const cassette = readJson(file);
    assert.equal(cassette.response.status, 0, 'no response was sent');
    assert.equal(cassette.response.error.message, message);
    assert.equal(cassette.events.length, deps);
    assert.match(app.stderr.join('\n'), new RegExp(`timetracer \\[ERROR\\] recorded GET ${route} id=\\w{4} status=none`));
  }
});

test('a crash with a value that throws when looked at ends the app as without the agent, and still leaves its cassette', async (t) => {
  const upstream = await dataUpstream(t);
  for (const kind of ['error', 'proxy']) {
    const route = `/hostile-crash?kind=${kind}`;
    const crash = async (env, register) => {
      const app = await startApp(t, APP, { register, env: { ...env, UPSTREAM_URL: upstream.url } });
      await assert.rejects(request(`${app.url}${route}`));
      return { ...(await app.exited), output: app.stderr.filter((line) => !app.timetracerLines.includes(line)), app };
    };
    const without = await crash({}, false);
    const dir = tempDir(t);
    const withAgent = await crash({ TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir }, true);
    assert.deepEqual([withAgent.code, withAgent.signal], [without.code, without.signal], kind);
    assert.deepEqual(withAgent.output, without.output, `${kind}: the app's own last words are unchanged`);
    assert.deepEqual(
      withAgent.app.stderr.filter((l) => l.includes('[WARN]')),
      [],
      kind,
    );
    const [file] = cassetteFiles(dir);
    assert.ok(file, `${kind}: the cassette was written`);
    const { response, events } = readJson(file);
    assert.deepEqual([response.status, events.length], [0, 1], `${kind}: no response was sent, after one upstream call`);
    // The proxy makes Node's own rejection handling throw, outside the request: nothing to tie to it.
    if (kind === 'error') assert.deepEqual(response.error, { name: 'Error', message: '(timetracer could not read it)' });
  }
});

test('secrets are redacted in request, response and dependency data', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const app = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url, TIMETRACER_REDACT: 'user' },
  });
  await request(`${app.url}/login?token=query-token-value`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic inbound-auth-value', cookie: 'sid=inbound-cookie-value' },
    body: JSON.stringify({ user: 'ann-the-user', password: 'hunter2-password' }),
  });
  const [file] = await app.cassettes(1);
  const text = fs.readFileSync(file, 'utf8');
  for (const secret of [
    'query-token-value',
    'inbound-auth-value',
    'inbound-cookie-value',
    'hunter2-password',
    'abc123secret',
    'upstream-token-value',
    'ann-the-user',
  ]) {
    assert.ok(!text.includes(secret), `${secret} must not be written`);
  }
  const cassette = JSON.parse(text);
  // Each secret is linked (a keyed hash: the same secret reads the same); headers keep their shape.
  const linked = /^\[REDACTED:[0-9a-f]{8}\]$/;
  assert.match(cassette.request.headers.authorization, /^Basic \[REDACTED:[0-9a-f]{8}\]$/);
  assert.match(cassette.request.headers.cookie, /^sid=\[REDACTED:[0-9a-f]{8}\]$/);
  assert.equal(cassette.request.query.token, '[REDACTED]', 'never linked: replay finds the cassette by its query');
  const { user, password } = cassette.request.body.data;
  assert.match(user, linked);
  assert.match(password, linked);
  assert.notEqual(user, password);
  assert.match(cassette.response.headers['set-cookie'], /^session=\[REDACTED:[0-9a-f]{8}\]; HttpOnly$/);
  // Dependency calls link theirs too; a query parameter is never linked, in or out.
  assert.equal(cassette.events[0].signature.url, `${upstream.url}/session?token=%5BREDACTED%5D`);
  assert.match(cassette.events[0].request.headers.authorization, /^Bearer \[REDACTED:[0-9a-f]{8}\]$/);
});

test('excluded paths, errors-only and sampling decide what is kept', async (t) => {
  const upstream = await dataUpstream(t);
  const cases = [
    [{}, ['/data', '/fail']],
    [{ TIMETRACER_ERRORS_ONLY: 'true' }, ['/fail']],
    [{ TIMETRACER_SAMPLE_RATE: '0' }, []],
    [{ TIMETRACER_EXCLUDE_PATHS: '/data' }, ['/fail', '/health']],
  ];
  for (const [env, kept] of cases) {
    const dir = tempDir(t);
    const app = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url, ...env } });
    for (const route of ['/health', '/data', '/fail']) await request(`${app.url}${route}`);
    await app.stop();
    const paths = cassetteFiles(dir)
      .map((file) => readJson(file).request.path)
      .sort();
    assert.deepEqual(paths, kept, JSON.stringify(env));
  }
});

test('gzip cassettes are written and replayed', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, TIMETRACER_COMPRESSION: 'gzip', UPSTREAM_URL: upstream.url },
  });
  const live = await request(`${recording.url}/data?id=9`);
  const [file] = await recording.cassettes(1);
  assert.ok(file.endsWith('.json.gz'));
  await recording.stop();
  await upstream.close();
  const replaying = await startApp(t, APP, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: file, UPSTREAM_URL: upstream.url } });
  assert.equal((await request(`${replaying.url}/data?id=9`)).text, live.text);
});

test('cassettes still being written when the process ends are written first, however it ends; the app decides how', async (t) => {
  const upstream = await dataUpstream(t);
  for (const [how, env, expected] of [
    ['SIGTERM', {}, { code: null, signal: 'SIGTERM' }],
    ['SIGINT', {}, { code: null, signal: 'SIGINT' }],
    // The app handles SIGTERM itself: it decides when and with what code.
    ['SIGTERM', { ON_SIGTERM: 'exit-3' }, { code: 3, signal: null }],
  ]) {
    const dir = tempDir(t);
    const app = await startApp(t, APP, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
    await Promise.all(Array.from({ length: 20 }, (_, i) => request(`${app.url}/data?id=${i}`)));
    app.child.kill(how);
    assert.deepEqual(await app.exited, expected, `${how} ${JSON.stringify(env)}`);
    assert.equal(cassetteFiles(dir).length, 20, `${how} ${JSON.stringify(env)}`);
    assert.deepEqual(
      app.stderr.filter((l) => l.includes('[WARN]')),
      [],
    );
  }
});

test('the end of the process waits for cassettes no longer than TIMETRACER_FLUSH_TIMEOUT_MS, and says what it gave up', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  // 16 bodies of 4 MiB kept whole and gzipped: seconds of the writer's thread, far past the wait allowed.
  const app = await startApp(t, APP, {
    env: {
      TIMETRACER_MODE: 'record',
      TIMETRACER_DIR: dir,
      TIMETRACER_COMPRESSION: 'gzip',
      TIMETRACER_MAX_BODY_KB: '8192',
      TIMETRACER_FLUSH_TIMEOUT_MS: '200',
      UPSTREAM_URL: upstream.url,
      ON_SIGTERM: 'exit-3',
    },
  });
  const sent = 16;
  for (let i = 0; i < sent; i++) assert.equal((await request(`${app.url}/huge?mb=4`)).status, 200);
  app.child.kill('SIGTERM');
  // From when the app takes the signal: it decides to exit, and the agent may hold that up 200 ms.
  await app.waitForLine(/^stopping$/, 'stdout');
  const stopping = performance.now();
  assert.deepEqual(await app.exited, { code: 3, signal: null }, 'the exit the app decided');
  const waitedMs = performance.now() - stopping;
  // One cassette being built when the time is up still finishes: a fraction of a second here.
  assert.ok(waitedMs < 1_500, `the process ended ${Math.round(waitedMs)} ms after the app began to stop`);
  const written = cassetteFiles(dir).filter((file) => file.includes('GET__huge')).length;
  const count = (pattern) => Number(app.stderr.map((line) => pattern.exec(line)?.[1]).find(Boolean) ?? 0);
  const unfinished = count(
    /^timetracer \[WARN\] (\d+) cassette\(s\) were still being written when the process ended, after waiting 200 ms \(TIMETRACER_FLUSH_TIMEOUT_MS\)$/,
  );
  const unbuilt = count(
    /^timetracer \[WARN\] (\d+) request\(s\) still open when the process ended were not recorded, for want of time \(TIMETRACER_FLUSH_TIMEOUT_MS\)$/,
  );
  assert.ok(written < sent, `the wait was cut short (${written} of ${sent} written)`);
  // The process cassette may be among the unfinished.
  assert.ok(written + unfinished + unbuilt >= sent, `every cassette not written is counted:\n${app.stderr.join('\n')}`);
});

test('a response whose body the app never reads is recorded as far as it came, and replays the same', async (t) => {
  const upstream = await dataUpstream(t);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  const live = await request(`${recording.url}/status-only`);
  assert.equal(live.text, 'http 200, fetch 200 application/json');
  // Stopping the app writes the cassette at once instead of after the calls' grace period.
  await recording.stop();
  const [file] = cassetteFiles(dir);
  const events = readJson(file).events;
  assert.deepEqual(
    events.map((e) => [e.signature.lib, e.result.status, e.error.name, e.error.origin]),
    [
      ['http', 200, 'UnreadResponse', 'app'],
      ['fetch', 200, 'UnreadResponse', 'app'],
    ],
  );
  await upstream.close();
  const replaying = await startApp(t, APP, { env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir, UPSTREAM_URL: upstream.url } });
  assert.equal((await request(`${replaying.url}/status-only`)).text, live.text);
});
