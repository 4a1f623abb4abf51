// Every way users start their app loads the agent before the app: `--import`, NODE_OPTIONS,
// `--require` for CommonJS-only setups, tsx, Node's own type stripping, `npm start`, nodemon, pm2
// in cluster mode, and an ES module app with top-level await. Each is recorded against real
// PostgreSQL and a real upstream, then replayed with both out of reach: the same answers, and
// not one connection to either. The app is installed as users install it: a project folder whose
// node_modules holds timetracer and pg.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  APPS,
  ROOT,
  cassetteFiles,
  createDatabase,
  freePort,
  processCassetteFiles,
  readJson,
  request,
  runCommand,
  spawnApp,
  startTripwire,
  startUpstream,
  tempDir,
} from './support/harness.js';

const BIN = path.join(ROOT, 'node_modules', '.bin');
const NAMES = ['ada', 'grace', 'linus', 'barbara'];
const [major, minor] = process.versions.node.split('.').map(Number);

/** A project folder as users have one: the app's files, and timetracer and pg in node_modules. */
function project(t, scripts = {}) {
  const dir = tempDir(t, 'timetracer-project-');
  for (const file of fs.readdirSync(path.join(APPS, 'start'))) fs.copyFileSync(path.join(APPS, 'start', file), path.join(dir, file));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'timetracer'));
  fs.symlinkSync(path.join(ROOT, 'node_modules', 'pg'), path.join(dir, 'node_modules', 'pg'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'greeter', private: true, scripts }));
  return dir;
}

function upstreamUsers(t) {
  return startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ login: req.url.split('/')[2], followers: req.url.length }));
  });
}

/** The answers without the worker's pid, which differs from one process to the next. */
function answers(responses) {
  return responses.map(({ status, text }) => {
    assert.equal(status, 200, text);
    const { worker, ...rest } = JSON.parse(text);
    assert.equal(typeof worker, 'number');
    return rest;
  });
}

async function askAll(url, names = NAMES) {
  const responses = [];
  for (const name of names) responses.push(await request(`${url}/hello/${name}`));
  return responses;
}

/**
 * Records the app as `start(env)` starts it, then replays it the same way with PostgreSQL and the
 * upstream out of reach; `processCassettes`: how many processes called out before serving.
 */
async function recordsAndReplays(t, start, { processCassettes = 0 } = {}) {
  const db = await createDatabase(t);
  const upstream = await upstreamUsers(t);
  const dir = tempDir(t);
  const recording = await start({ TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: db.url, UPSTREAM_URL: upstream.url });
  const live = await askAll(recording.url);
  await recording.cassettes(NAMES.length);
  await recording.stop();

  const cassettes = cassetteFiles(dir).map(readJson);
  assert.deepEqual(cassettes.map((c) => c.request.path).sort(), NAMES.map((name) => `/hello/${name}`).sort());
  for (const cassette of cassettes) {
    assert.deepEqual(
      cassette.events.map((e) => [e.type, e.signature.lib]),
      [
        ['db.query', 'pg'],
        ['http.client', 'fetch'],
      ],
      cassette.request.path,
    );
  }
  assert.equal(processCassetteFiles(dir).length, processCassettes);

  await upstream.close();
  const [web, postgres] = [await startTripwire(t, upstream.port), await startTripwire(t)];
  const replaying = await start({
    TIMETRACER_MODE: 'replay',
    TIMETRACER_CASSETTE: dir,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`,
    UPSTREAM_URL: upstream.url,
  });
  const replayed = await askAll(replaying.url);
  assert.deepEqual(answers(replayed), answers(live));
  for (const name of NAMES) {
    await replaying.waitForLine(new RegExp(`^timetracer replay GET /hello/${name} mocked=2 matched=OK runtime=\\d+ms$`), 'stderr');
  }
  assert.deepEqual([web.connections, postgres.connections], [0, 0]);
  return { live, cassettes };
}

test('node --import timetracer/register: an ES module app with top-level await, its boot query replayed too', async (t) => {
  const dir = project(t);
  const { live } = await recordsAndReplays(
    t,
    (env) => spawnApp(t, process.execPath, ['--import', 'timetracer/register', 'app.mjs'], { cwd: dir, env }),
    { processCassettes: 1 },
  );
  assert.match(live[0].json().greeting, /^hello from tt_/);
});

test('NODE_OPTIONS=--import timetracer/register', async (t) => {
  const dir = project(t);
  await recordsAndReplays(t, (env) =>
    spawnApp(t, process.execPath, ['app.cjs'], { cwd: dir, env: { ...env, NODE_OPTIONS: '--import timetracer/register' } }),
  );
});

test('node --require timetracer/register: a CommonJS-only setup', async (t) => {
  const dir = project(t);
  await recordsAndReplays(t, (env) => spawnApp(t, process.execPath, ['--require', 'timetracer/register', 'app.cjs'], { cwd: dir, env }));
});

test('--require with an s3:// location: one line, and the app runs without the agent', async (t) => {
  const dir = project(t);
  const app = await spawnApp(t, process.execPath, ['--require', 'timetracer/register', 'app.cjs'], {
    cwd: dir,
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: 's3://bucket/cassettes', DATABASE_URL: (await createDatabase(t)).url },
  });
  assert.deepEqual(app.timetracerLines, [
    'timetracer [WARN] TIMETRACER_DIR="s3://bucket/cassettes" needs --import timetracer/register: a --require preload cannot wait for S3. timetracer stays off.',
  ]);
});

test('tsx: a TypeScript app', async (t) => {
  const dir = project(t);
  const { live } = await recordsAndReplays(t, (env) =>
    spawnApp(t, path.join(BIN, 'tsx'), ['--import', 'timetracer/register', 'app.ts'], { cwd: dir, env }),
  );
  assert.equal(live[0].json().greeting, 'hello from TypeScript');
});

const typeStripping = major > 22 || (major === 22 && minor >= 6);
test("Node's own type stripping: a TypeScript app", {
  skip: !typeStripping && `Node ${process.versions.node} cannot run TypeScript (22.6 and later can)`,
}, async (t) => {
  const dir = project(t);
  // On by default from 22.18 and 23.6; before, behind a flag.
  const flags = process.features.typescript ? [] : ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'];
  await recordsAndReplays(t, (env) =>
    spawnApp(t, process.execPath, [...flags, '--import', 'timetracer/register', 'app.ts'], { cwd: dir, env }),
  );
});

test('npm start', async (t) => {
  const dir = project(t, { start: 'node --import timetracer/register app.cjs' });
  await recordsAndReplays(t, (env) => spawnApp(t, 'npm', ['start', '--silent'], { cwd: dir, env }));
});

test('nodemon', async (t) => {
  const dir = project(t);
  await recordsAndReplays(t, (env) =>
    spawnApp(t, path.join(BIN, 'nodemon'), ['--quiet', '--exec', `"${process.execPath}" --import timetracer/register`, 'app.cjs'], {
      cwd: dir,
      env,
    }),
  );
});

test('pm2 in cluster mode: each worker records its own cassettes and replay serves each worker', async (t) => {
  const dir = project(t);
  const pm2Home = tempDir(t, 'timetracer-pm2-');
  const pm2 = (...args) => runCommand(path.join(BIN, 'pm2'), args, { env: { ...process.env, PM2_HOME: pm2Home } });
  t.after(() => pm2('kill'));
  const db = await createDatabase(t);
  const upstream = await upstreamUsers(t);
  const dir2 = tempDir(t);
  const port = await freePort();

  /** Starts two workers (`wait_ready`: pm2 returns once both listen), asks, stops them (SIGINT), returns what they said. */
  const run = async (env) => {
    const ecosystem = path.join(dir, 'ecosystem.config.cjs');
    const app = {
      name: 'greeter',
      script: 'app.cjs',
      cwd: dir,
      exec_mode: 'cluster',
      instances: 2,
      node_args: '--import timetracer/register',
      wait_ready: true,
      env: { ...env, PORT: String(port) },
    };
    fs.writeFileSync(ecosystem, `module.exports = ${JSON.stringify({ apps: [app] })};`);
    const started = await pm2('start', ecosystem);
    assert.equal(started.code, 0, started.stderr + started.stdout);
    // At once: one connection each, which the cluster hands to its workers in turn.
    const responses = await Promise.all([...NAMES, ...NAMES].map((name) => request(`http://127.0.0.1:${port}/hello/${name}`)));
    const stopped = await pm2('delete', 'greeter');
    assert.equal(stopped.code, 0, stopped.stderr + stopped.stdout);
    const logs = fs
      .readdirSync(path.join(pm2Home, 'logs'))
      .filter((file) => file.startsWith('greeter-error'))
      .map((file) => fs.readFileSync(path.join(pm2Home, 'logs', file), 'utf8'));
    fs.rmSync(path.join(pm2Home, 'logs'), { recursive: true });
    return { responses, logs };
  };

  const recorded = await run({ TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir2, DATABASE_URL: db.url, UPSTREAM_URL: upstream.url });
  const workers = new Set(recorded.responses.map((r) => r.json().worker));
  assert.equal(workers.size, 2, 'both workers served');
  const files = cassetteFiles(dir2);
  assert.equal(files.length, 2 * NAMES.length, 'one cassette per request, none overwritten');
  const cassettes = files.map(readJson);
  assert.deepEqual(new Set(cassettes.map((c) => c.response.body.data.worker)), workers, 'each worker wrote its own');
  assert.equal(new Set(cassettes.map((c) => c.session.id)).size, files.length);

  await upstream.close();
  const [web, postgres] = [await startTripwire(t, upstream.port), await startTripwire(t)];
  const replayed = await run({
    TIMETRACER_MODE: 'replay',
    TIMETRACER_CASSETTE: dir2,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`,
    UPSTREAM_URL: upstream.url,
  });
  assert.deepEqual(answers(replayed.responses), answers(recorded.responses));
  assert.equal(new Set(replayed.responses.map((r) => r.json().worker)).size, 2, 'both workers replayed');
  const served = replayed.logs.map((log) => log.match(/^timetracer replay GET \/hello\/\w+ mocked=2 matched=OK/gm)?.length ?? 0);
  assert.equal(served.length, 2, 'a log per worker');
  assert.ok(
    served.every((count) => count > 0) && served[0] + served[1] === 2 * NAMES.length,
    `each worker served from cassettes:\n${replayed.logs.join('\n')}`,
  );
  assert.deepEqual([web.connections, postgres.connections], [0, 0]);
});
