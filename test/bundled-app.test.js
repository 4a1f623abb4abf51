// An app bundled with esbuild, its libraries inside the bundle as a deployment ships them: the
// agent cannot hook pg and Express there, and says so in one line naming them and how to mark
// them external, while the app answers as it does without the agent and its fetch calls (a
// builtin's, hooked as ever) are recorded. Bundled plain, as an ES module, minified with a source
// map, minified, and minified without license comments (then the line comes at the bundle's
// first connection of its own); and with --packages=external, where pg and Express load from
// node_modules and are recorded, with no such line. In strict replay the line, said at start,
// explains the refused connection of the bundled pg.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { APPS, ROOT, createDatabase, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

const APP = path.join(APPS, 'bundled', 'app.mjs');
/** What an ES module bundle needs for the CommonJS libraries inside it to require Node's modules. */
const ESM_REQUIRE = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";
const HOOKED_INSIDE = ['pg', 'pg-pool', 'pg-protocol', 'express', 'router'];
/** Any line of the agent's about bundles. */
const BUNDLE_LINE = /^timetracer \[WARN\] .*\bbundle/;

/** The app bundled with these esbuild options, in a folder whose node_modules is this repository's. */
async function bundle(t, options) {
  const dir = tempDir(t, 'timetracer-bundle-');
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const outfile = path.join(dir, options.format === 'esm' ? 'app.mjs' : 'app.js');
  await esbuild.build({ entryPoints: [APP], bundle: true, platform: 'node', outfile, logLevel: 'silent', ...options });
  return outfile;
}

/** Runs the bundle in record mode against PostgreSQL and an upstream; asks it once. */
async function recordOne(t, outfile) {
  const db = await createDatabase(t, "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'ada');");
  const upstream = await startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  const dir = tempDir(t);
  const app = await startApp(t, outfile, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, TIMETRACER_LOG: 'debug', DATABASE_URL: db.url, UPSTREAM_URL: upstream.url },
  });
  const response = await request(`${app.url}/users/1`);
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.json(), { user: { id: 1, name: 'ada' }, profile: { path: '/profiles/1' } });
  const [cassette] = (await app.cassettes(1)).map(readJson);
  return { app, cassette, upstream, dir, env: { DATABASE_URL: db.url, UPSTREAM_URL: upstream.url } };
}

/** Only fetch's call is recorded, and no framework: pg and Express were not hooked. */
function assertOnlyFetchRecorded(cassette, upstream) {
  assert.deepEqual(
    cassette.events.map((event) => [event.type, event.signature.lib, event.signature.url]),
    [['http.client', 'fetch', `${upstream.url}/profiles/1`]],
  );
  assert.equal(cassette.session.framework, 'node:http');
  assert.equal(cassette.request.route, null);
}

/** The packages the line names and the flags it suggests, which must agree. */
function namedIn(line) {
  const named = line.match(/ bundles (.+?) \(/)[1].split(', ');
  const flags = [...line.matchAll(/--external:(\S+)/g)].map((match) => match[1]);
  assert.deepEqual(flags, named, line);
  assert.match(line, /--packages=external/);
  return named;
}

function assertOneBundleLine(app) {
  assert.equal(app.stderr.filter((line) => BUNDLE_LINE.test(line)).length, 1, app.stderr.join('\n'));
}

for (const [variant, options, source] of [
  ['bundled', {}, 'its module comments'],
  ['bundled as an ES module', { format: 'esm', banner: { js: ESM_REQUIRE } }, 'its module comments'],
  ['minified with a source map', { minify: true, sourcemap: true }, 'its source map'],
]) {
  test(`${variant}: one line names pg and Express as bundled, fetch is recorded`, async (t) => {
    const outfile = await bundle(t, options);
    const { app, cassette, upstream } = await recordOne(t, outfile);
    const line = await app.waitForLine(BUNDLE_LINE, 'stderr');
    assert.ok(line.includes(`${path.basename(outfile)} bundles `), line);
    assert.ok(line.includes(`(named by ${source})`), line);
    assert.deepEqual(namedIn(line), HOOKED_INSIDE);
    assert.doesNotMatch(line, /\b(http|https|fetch|undici|node:)\b/);
    assertOnlyFetchRecorded(cassette, upstream);
    assertOneBundleLine(app);
  });
}

test('strict replay of the bundle: the line at start explains why the connection of the pg inside is refused', async (t) => {
  const outfile = await bundle(t, {});
  const { app: recording, dir, env } = await recordOne(t, outfile);
  await recording.stop();
  const app = await startApp(t, outfile, { env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir } });
  // Said with no request made: at start.
  const line = await app.waitForLine(BUNDLE_LINE, 'stderr');
  assert.deepEqual(namedIn(line), HOOKED_INSIDE);
  const response = await request(`${app.url}/users/1`);
  assert.equal(response.status, 500);
  await app.waitForLine(
    new RegExp(`^timetracer \\[MISS\\] .*${path.basename(outfile)} connection to 127\\.0\\.0\\.1:5432 refused`),
    'stderr',
  );
  assertOneBundleLine(app);
});

test('minified: the line names what its license comments show, and says it may hold more', async (t) => {
  const outfile = await bundle(t, { minify: true });
  const { app, cassette, upstream } = await recordOne(t, outfile);
  const line = await app.waitForLine(BUNDLE_LINE, 'stderr');
  assert.ok(line.includes('(named by its license comments; being minified, it may hold more)'), line);
  // pg's files carry no license comment: only Express and its router are named.
  assert.deepEqual(namedIn(line), ['express', 'router']);
  assertOnlyFetchRecorded(cassette, upstream);
  assertOneBundleLine(app);
});

test('minified without license comments: the line comes at its first connection of its own, to PostgreSQL', async (t) => {
  const outfile = await bundle(t, { minify: true, legalComments: 'none' });
  const { app, cassette, upstream } = await recordOne(t, outfile);
  const line = await app.waitForLine(BUNDLE_LINE, 'stderr');
  assert.ok(line.includes(`${path.basename(outfile)} is a bundle whose own code opened a connection to 127.0.0.1:5432`), line);
  assert.match(line, /--packages=external/);
  // The fetch to the upstream went through the hooked builtin: not what the line is about.
  assert.ok(!line.includes(String(upstream.port)), line);
  assertOnlyFetchRecorded(cassette, upstream);
  assertOneBundleLine(app);
});

test('minified without license comments, connecting while it loads: the line comes at start', async (t) => {
  const outfile = await bundle(t, { minify: true, legalComments: 'none' });
  const db = await createDatabase(t);
  const app = await startApp(t, outfile, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: tempDir(t), DATABASE_URL: db.url, QUERY_AT_START: '1' },
  });
  // No request made: the connection the app opened before the bundle was read is the one named.
  const line = await app.waitForLine(BUNDLE_LINE, 'stderr');
  assert.ok(line.includes('is a bundle whose own code opened a connection to 127.0.0.1:5432'), line);
  assertOneBundleLine(app);
});

test('--packages=external: pg and Express load from node_modules and are recorded; no line about bundles', async (t) => {
  const outfile = await bundle(t, { packages: 'external' });
  const { app, cassette, upstream } = await recordOne(t, outfile);
  // Said in debug once the script has been read: from here on, no line about bundles would come.
  await app.waitForLine(/^timetracer \[DEBUG\] .*app\.js bundles no library timetracer hooks/, 'stderr');
  assert.deepEqual(
    cassette.events.map((event) => [event.type, event.signature.lib]),
    [
      ['db.query', 'pg'],
      ['http.client', 'fetch'],
    ],
  );
  assert.equal(cassette.events[1].signature.url, `${upstream.url}/profiles/1`);
  assert.equal(cassette.session.framework, 'express');
  assert.equal(cassette.request.route, '/users/:id');
  assert.deepEqual(
    app.stderr.filter((line) => / \[WARN\] /.test(line)),
    [],
  );
});
