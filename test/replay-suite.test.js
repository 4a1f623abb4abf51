// `timetracer replay`: recorded traffic as a regression suite. The same cassettes pass against the
// code they were recorded from, and fail, each with what differs, against code that answers
// otherwise, no longer makes a call, or makes one more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, ROOT, cassetteFiles, request, runNode, startApp, startTripwire, startUpstream, tempDir } from './support/harness.js';

const APP = path.join(APPS, 'suite-app.mjs');
const LOGIN_APP = path.join(APPS, 'login-app.mjs');
const CLI = path.join(ROOT, 'bin', 'timetracer.mjs');
const ITEMS = {
  '/items/1': { id: 1, price: 10 },
  '/items/2': { id: 2, price: 5 },
  '/users/1': { name: 'Ann' },
  '/users/1/avatar': { url: 'a.png' },
};

/** `timetracer replay <dir> [...options] -- node suite-app.mjs` with VARIANT in its environment. */
function replaySuite(dir, { variant, options = [], env = {}, app = APP } = {}) {
  return runNode([CLI, 'replay', dir, ...options, '--', process.execPath, app], {
    env: { ...process.env, NO_COLOR: '1', TIMETRACER_MODE: undefined, ...env, ...(variant && { VARIANT: variant }) },
  });
}

/** The three requests recorded against a live API; then the API is stopped, unless `keepApi`. */
async function recorded(t, env = {}, { keepApi = false } = {}) {
  const upstream = await startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(ITEMS[req.url] ?? {}));
  });
  const dir = tempDir(t);
  const app = await startApp(t, APP, { env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url } });
  for (const route of ['/price', '/summary', '/profile']) assert.equal((await request(`${app.url}${route}`)).status, 200);
  await app.cassettes(3);
  await app.stop();
  if (keepApi) return { dir, env: { ...env, UPSTREAM_URL: upstream.url } };
  await upstream.close();
  // Where the API was, a port that counts connections: the suite runs offline.
  const tripwire = await startTripwire(t, upstream.port);
  return { dir, env: { ...env, UPSTREAM_URL: upstream.url }, tripwire };
}

test('the recorded requests pass against the code they were recorded from, offline', async (t) => {
  const { dir, env, tripwire } = await recorded(t);
  const run = await replaySuite(dir, { env });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^timetracer replay: 3 recorded request\(s\) from /);
  for (const route of ['/price', '/summary', '/profile']) assert.match(run.stdout, new RegExp(`^  PASS  GET ${route}  200$`, 'm'));
  assert.match(run.stdout, /^3 passed, 0 failed$/m);
  assert.equal(tripwire.connections, 0);

  // The run is kept beside the cassettes for the dashboard: its report, and the replays it names.
  const runFolder = /^the run \(report and replayed cassettes\): (\S+);/m.exec(run.stdout)?.[1];
  assert.ok(runFolder, run.stdout);
  const report = JSON.parse(fs.readFileSync(path.resolve(ROOT, runFolder, 'report.json'), 'utf8'));
  assert.deepEqual([report.passed, report.failed, report.results.length], [3, 0, 3]);
  for (const result of report.results) {
    assert.ok(fs.existsSync(path.join(dir, result.file)), `${result.file} is the recorded cassette, relative to the cassette directory`);
    assert.equal(JSON.parse(fs.readFileSync(path.resolve(ROOT, runFolder, result.replayed), 'utf8')).session.replay_of !== undefined, true);
  }
  const again = await replaySuite(dir, { env });
  assert.match(
    again.stdout,
    /^timetracer replay: 3 recorded request\(s\) from /,
    'the replays the first run kept are not taken for recordings',
  );
});

test('a token and a session cookie, redacted when recorded, are sent as the app answers them in the run', async (t) => {
  const dir = tempDir(t);
  const app = await startApp(t, LOGIN_APP, { env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const login = await request(`${app.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'ann' }),
  });
  const token = login.json().access_token;
  const cookie = login.headers['set-cookie'].split(';')[0];
  assert.equal((await request(`${app.url}/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.equal((await request(`${app.url}/cart`, { headers: { cookie } })).status, 200);
  const files = await app.cassettes(3);
  await app.stop();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    // Nor the random bytes they were made from: those reads are left out, and drawn live in replay.
    const forms = [token, Buffer.from(token, 'hex').toString('base64'), cookie.slice('sid='.length)];
    assert.ok(
      forms.every((form) => !text.includes(form)),
      `${file} holds no secret`,
    );
  }

  // Without determinism the replayed app makes new tokens: only the ones it answers can work.
  const run = await replaySuite(dir, { app: LOGIN_APP, env: { TIMETRACER_DETERMINISM: 'off' } });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^2 secret\(s\) redacted when recorded were sent as the app answered them in this run/m);
  for (const line of ['POST /login  200', 'GET /me  200', 'GET /cart  200']) assert.match(run.stdout, new RegExp(`^  PASS  ${line}$`, 'm'));
});

test('a changed response, a call no longer made and an extra call each fail their request, showing what differs', async (t) => {
  const { dir, env, tripwire } = await recorded(t);

  const changed = await replaySuite(dir, { variant: 'changed-response', env });
  assert.equal(changed.code, 1);
  assert.match(
    changed.stdout,
    /^ {2}FAIL {2}GET \/price {2}200\n {8}body\.price: 10 → 20\n {8}recorded: \S+GET__price__[0-9a-f]{8}\.json$/m,
  );
  assert.match(changed.stdout, /^2 passed, 1 failed$/m);

  const skipped = await replaySuite(dir, { variant: 'skip-call', env });
  assert.equal(skipped.code, 1);
  assert.match(
    skipped.stdout,
    /^ {2}FAIL {2}GET \/summary {2}200\n {8}body\.total: 15 → 10\n {8}removed call \(recorded only, eid 2\): http\.client GET http:\/\/127\.0\.0\.1:\d+\/items\/2$/m,
  );
  const allowed = await replaySuite(dir, { variant: 'skip-call', env, options: ['--allow-unused', '--ignore', 'total'] });
  assert.equal(allowed.code, 0, 'with --allow-unused, and the total it changes ignored, the call left out does not fail');

  const extra = await replaySuite(dir, { variant: 'extra-call', env, options: ['--json'] });
  assert.equal(extra.code, 1);
  const report = JSON.parse(extra.stdout);
  assert.deepEqual([report.passed, report.failed], [2, 1]);
  const profile = report.results.find((result) => result.request === 'GET /profile');
  assert.equal(profile.passed, false);
  assert.deepEqual(profile.status, { recorded: 200, replayed: 502 }, 'the extra call missed, and the app answered so');
  assert.deepEqual(
    profile.failures
      .filter((failure) => failure.kind.startsWith('call.'))
      .map((failure) => [failure.kind, failure.call.replace(/:\d+/, ':PORT')]),
    [['call.added', 'http.client GET http://127.0.0.1:PORT/users/1/avatar']],
  );
  const text = await replaySuite(dir, { variant: 'extra-call', env });
  assert.match(
    text.stdout,
    /^ {8}added call \(replay only, eid 2\): http\.client GET \S+\/users\/1\/avatar\n {12}http\.client GET \S+\/users\/1\/avatar was not recorded; nearest: eid 1, url /m,
  );
  assert.equal(tripwire.connections, 0, 'the extra call missed, offline');
});

test('--learn finds the fields that differ between two replays of the same code, and later runs ignore exactly those', async (t) => {
  const quiet = await recorded(t);
  const none = await replaySuite(quiet.dir, { env: quiet.env, options: ['--learn'] });
  assert.equal(none.code, 0, none.stderr);
  assert.match(
    none.stdout,
    /^No noise: two replays of the same code answered alike, call for call \(\S+timetracer\.noise\.json lists nothing\)\.$/m,
  );
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(quiet.dir, 'timetracer.noise.json'), 'utf8')).ignore, []);

  const noisy = await recorded(t, { NOISY: '1' });
  const before = await replaySuite(noisy.dir, { env: noisy.env });
  assert.equal(before.code, 1);
  assert.match(before.stdout, /^ {2}FAIL {2}GET \/price {2}200\n {8}body\.took_ns: \d+ → \d+$/m);
  const learned = await replaySuite(noisy.dir, { env: noisy.env, options: ['--learn'] });
  assert.match(
    learned.stdout,
    /^1 field\(s\) differed between two replays of the same code, now ignored by later runs \(\S+\):\n {2}body\.took_ns$/m,
  );
  const after = await replaySuite(noisy.dir, { env: noisy.env });
  assert.equal(after.code, 0, after.stdout);
  assert.match(after.stdout, /^ignoring what timetracer\.noise\.json marks as noise: body\.took_ns$/m);
  assert.equal(noisy.tripwire.connections, 0);
});

test('--update records the failing requests again against the live API, says what changed, and leaves the others be', async (t) => {
  const { dir, env } = await recorded(t, {}, { keepApi: true });
  const before = Object.fromEntries(cassetteFiles(dir).map((file) => [file, fs.readFileSync(file, 'utf8')]));
  const misses = await replaySuite(dir, { variant: 'changed-response', env, options: ['--update=misses'] });
  assert.equal(misses.code, 1, 'a changed response is no miss: nothing recorded again');
  assert.deepEqual(Object.keys(before).sort(), cassetteFiles(dir).sort());

  const run = await replaySuite(dir, { variant: 'changed-response', env, options: ['--update'] });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(
    run.stdout,
    /^Recorded again against the live dependencies: 1 cassette\(s\)\n {2}\S+GET__price__[0-9a-f]{8}\.json → \S+GET__price__[0-9a-f]{8}\.json\n {8}body\.price: 10 → 20$/m,
  );
  assert.match(run.stdout, /The suite again, with the new recordings:\n[\s\S]*^3 passed, 0 failed$/m);
  const after = cassetteFiles(dir);
  assert.equal(after.length, 3);
  const kept = after.filter((file) => before[file] === fs.readFileSync(file, 'utf8'));
  assert.deepEqual(
    kept.map((file) => path.basename(file).split('__')[1]).sort(),
    ['profile', 'summary'],
    'the passing cassettes are untouched',
  );
});

test('bad command lines are one line and exit 2', async (t) => {
  const dir = tempDir(t);
  for (const [args, message] of [
    [[], /^timetracer replay: name a cassette file or directory/],
    [[dir], /^timetracer replay: name the command that starts the app after --/],
    [[path.join(dir, 'nothing'), '--', 'node', 'x.js'], /^timetracer replay: no cassette file or directory at /],
    [[dir, '--', 'node', 'x.js'], /holds no request cassettes$/],
  ]) {
    const { code, stderr } = await runNode([CLI, 'replay', ...args]);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr.trim(), message);
    assert.equal(stderr.trim().split('\n').length, 1);
  }
});

test('timetracer/test: one node:test test per cassette, named by method, route and status, failing with what differs', async (t) => {
  const { dir, env } = await recorded(t);
  // Beside these tests, so that `timetracer/test` resolves as it does in a project that installed it.
  const copy = path.join(ROOT, 'test', `.suite-${process.pid}.test.mjs`);
  fs.writeFileSync(
    copy,
    [
      "import { replayCassettes } from 'timetracer/test';",
      `replayCassettes(${JSON.stringify(dir)}, { start: [process.execPath, ${JSON.stringify(APP)}] });`,
    ].join('\n'),
  );
  t.after(() => fs.rmSync(copy, { force: true }));
  // NODE_TEST_CONTEXT would make it report to this runner rather than print TAP.
  const { code, stdout: tap } = await runNode(['--test', '--test-reporter=tap', copy], {
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...env, VARIANT: 'changed-response' },
  });
  assert.equal(code, 1, tap);
  assert.match(tap, /^ok \d+ - GET \/summary → 200 \(GET__summary__[0-9a-f]{8}\.json\)$/m);
  assert.match(tap, /^ok \d+ - GET \/profile → 200 /m);
  assert.match(tap, /^not ok \d+ - GET \/price → 200 \(GET__price__[0-9a-f]{8}\.json\)$/m);
  assert.match(tap, /GET \/price replayed unlike its recording \(\S+\)\n\s+body\.price: 10 → 20/);
});
