// Prisma 6 and 7 with @prisma/adapter-pg against the real PostgreSQL at 127.0.0.1:5432, each
// with the clients of both generators (prisma-client-js, in @prisma/client and with an output of
// its own, and prisma-client compiled to ES modules): an app recorded, then replayed with
// PostgreSQL unreachable.
//
// The set-up is the suite's own, so `npm test` works on a fresh clone: `prisma generate` runs
// with PRISMA_SCHEMA_ENGINE_BINARY and PRISMA_QUERY_ENGINE_LIBRARY pointing at any executable
// (their downloads fail on these machines, and the client engine uses neither), and each test's
// tables are created with plain SQL in a database of its own (`prisma migrate` cannot run here).
// Prisma 6 runs with the client engine too (`engineType = "client"`): its classic engine is one
// of those downloads (test/prisma-library-engine.test.js runs that engine's runtime on Prisma's
// WebAssembly build of it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROUTES, assertCassettes, assertLiveAnswers, assertReplayedAsLive, database, run } from './apps/prisma-app-checks.mjs';
import { compilePrismaClient } from './apps/prisma-client-compile.mjs';
import { APPS, ROOT, readJson, request, startApp, tempDir } from './support/harness.js';

const UNREACHABLE_DATABASE_URL = 'postgresql://postgres@127.0.0.1:1/nowhere';

/**
 * Generates a major's three clients: prisma-client-js into its @prisma/client and into
 * generated/copied, prisma-client into generated/ts (then compiled to generated/js).
 */
function generate(major) {
  const dir = path.join(APPS, `prisma${major}`);
  const packages = major === 6 ? path.join(dir, 'node_modules') : path.join(ROOT, 'node_modules');
  const env = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    DATABASE_URL: UNREACHABLE_DATABASE_URL,
  };
  const generated = path.join(dir, 'generated');
  // Only this test's outputs: test/prisma-library-engine.test.js generates beside them.
  for (const output of ['copied', 'ts', 'js']) fs.rmSync(path.join(generated, output), { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(packages, 'prisma', 'build', 'index.js'), 'generate', '--schema', 'schema.prisma'], {
    cwd: dir,
    env,
    stdio: 'pipe',
  });
  compilePrismaClient(path.join(generated, 'ts'), path.join(generated, 'js'));
}

generate(6);
generate(7);

const VARIANTS = [6, 7].flatMap((major) => [
  { major, generator: 'prisma-client-js', script: path.join(APPS, `prisma${major}`, 'js.cjs') },
  { major, generator: 'prisma-client-js with an output of its own', script: path.join(APPS, `prisma${major}`, 'copied.cjs') },
  { major, generator: 'prisma-client', script: path.join(APPS, `prisma${major}`, 'ts.mjs') },
]);

for (const { major, generator, script } of VARIANTS) {
  test(`Prisma ${major}, ${generator}: each operation is one db.query event, replayed with PostgreSQL unreachable`, async (t) => {
    const url = await database(t);
    const dir = tempDir(t);
    const recording = await startApp(t, script, { env: { DATABASE_URL: url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
    const live = await run(recording);
    const files = await recording.cassettes(ROUTES.length);
    await recording.stop();

    assertLiveAnswers(live, { major });
    const duplicate = live[ROUTES.indexOf('/duplicate')].body;
    assert.deepEqual(duplicate.adapterError, [true, 'UniqueConstraintViolation'], 'meta.driverAdapterError is an Error with its cause');
    assertCassettes(files);

    // Replay: PostgreSQL unreachable.
    const replaying = await startApp(t, script, {
      env: { DATABASE_URL: UNREACHABLE_DATABASE_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
    });
    await assertReplayedAsLive(replaying, live);
  });
}

test('Prisma: fields named as secrets are not written, in arguments or in rows read back, and still match on replay', async (t) => {
  const url = await database(t);
  const dir = tempDir(t);
  const script = path.join(APPS, 'prisma7', 'ts.mjs');
  const env = { TIMETRACER_REDACT: 'name' };
  const recording = await startApp(t, script, { env: { ...env, DATABASE_URL: url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const live = [];
  for (const route of ['/create', '/read']) live.push((await request(`${recording.url}${route}`)).json());
  const files = await recording.cassettes(2);
  await recording.stop();
  assert.equal(live[1].unique.name, 'Ann');
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!/"name": "Ann"/.test(text), `${path.basename(file)} holds no name`);
  }
  const [create] = readJson(files.find((f) => readJson(f).request.path === '/create')).events;
  // Linked: the name the app wrote reads as the name it got back.
  assert.match(create.signature.args.data.name, /^\[REDACTED:[0-9a-f]{8}\]$/);
  assert.equal(create.result.value.name, create.signature.args.data.name);

  const replaying = await startApp(t, script, {
    env: { ...env, DATABASE_URL: UNREACHABLE_DATABASE_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
  });
  const created = (await request(`${replaying.url}/create`)).json();
  const read = (await request(`${replaying.url}/read`)).json();
  assert.deepEqual(
    { ...read.unique, name: 'Ann' },
    live[1].unique,
    'the app reads back "[REDACTED]" where it read the name, and nothing else changes',
  );
  assert.equal(read.unique.name, '[REDACTED]');
  assert.equal(created.posts.length, 2);
  await replaying.waitForLine(/^timetracer replay GET \/read /);
  for (const line of replaying.stderr.filter((l) => /^timetracer replay GET /.test(l))) assert.match(line, /matched=OK/);
});
