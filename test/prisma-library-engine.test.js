// Prisma 5 and 6 on the classic query engine, against the real PostgreSQL at 127.0.0.1:5432: an app
// recorded, then replayed with PostgreSQL unreachable and no connection made. prisma-client-js
// clients (runtime/library.js), and Prisma 6's prisma-client client compiled to ES modules (its ES
// build, runtime/library.mjs).
//
// The engine's Node-API library (libquery_engine-debian-openssl-3.0.x.so.node) is a download
// these machines cannot make, and no npm package ships it. What they have is Prisma's own
// WebAssembly build of the same query engine, which @prisma/client ships in runtime/ and which
// runtime/library.js loads in place of the library for a client generated with
// PRISMA_CLIENT_FORCE_WASM (Prisma's switch for it); that engine queries through a driver
// adapter (@prisma/adapter-pg). So the apps are recorded on it, through the same client runtime,
// client class and engine class as with the library. Their cassettes are then replayed by the
// same app on a client generated for the Node-API library, given no adapter as most such apps
// are: the engine would load the file PRISMA_QUERY_ENGINE_LIBRARY names and connect to
// DATABASE_URL itself. The app prints each native library Node loads; the engine's never is, and
// the port DATABASE_URL names is a tripwire counting connections.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { POSTGRES, ROUTES, assertCassettes, assertLiveAnswers, assertReplayedAsLive, database, run } from './apps/prisma-app-checks.mjs';
import { compilePrismaClient } from './apps/prisma-client-compile.mjs';
import { APPS, startApp, startTripwire, tempDir } from './support/harness.js';

const generated = tempDir(undefined, 'timetracer-prisma-library-');
// prisma-client's clients import @prisma/client, so they are generated inside Prisma 6's workspace.
fs.mkdirSync(path.join(APPS, 'prisma6', 'generated'), { recursive: true });
const generatedEsm = fs.mkdtempSync(path.join(APPS, 'prisma6', 'generated', 'library-engine-'));
after(() => {
  fs.rmSync(generated, { recursive: true, force: true });
  fs.rmSync(generatedEsm, { recursive: true, force: true });
});

/** Stands in for the engine's Node-API library: a file that is not one, so that loading it fails. */
const NOT_AN_ENGINE = path.join(generated, 'not-a-query-engine.so.node');
fs.writeFileSync(NOT_AN_ENGINE, 'not a Node-API library\n');

/**
 * Generates a major's clients: on the WebAssembly engine, `copied` (and for Prisma 5, `js` into
 * its @prisma/client; for Prisma 6, `esm`) with PRISMA_CLIENT_FORCE_WASM, then `native` (for
 * Prisma 6, `esmNative` too) without it. Returns their directories, the ES module clients compiled.
 */
function generate(major) {
  const dir = path.join(APPS, `prisma${major}`);
  const outputs = {
    copied: path.join(generated, `prisma${major}-copied`),
    native: path.join(generated, `prisma${major}-native`),
    ...(major === 6 && { esm: path.join(generatedEsm, 'esm'), esmNative: path.join(generatedEsm, 'esm-native') }),
  };
  const typescript = (output) => `${output}-ts`;
  const env = {
    ...process.env,
    PRISMA_COPIED_OUTPUT: outputs.copied,
    PRISMA_NATIVE_OUTPUT: outputs.native,
    ...(major === 6 && { PRISMA_ESM_OUTPUT: typescript(outputs.esm), PRISMA_ESM_NATIVE_OUTPUT: typescript(outputs.esmNative) }),
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_QUERY_ENGINE_LIBRARY: NOT_AN_ENGINE,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    DATABASE_URL: `${POSTGRES}/nowhere`,
  };
  const schema = major === 5 ? 'schema.prisma' : 'library-engine.prisma';
  const prisma = (generators, extraEnv = {}) =>
    execFileSync(
      process.execPath,
      [
        path.join(dir, 'node_modules', 'prisma', 'build', 'index.js'),
        'generate',
        '--schema',
        schema,
        ...generators.flatMap((g) => ['--generator', g]),
      ],
      { cwd: dir, env: { ...env, ...extraEnv }, stdio: 'pipe' },
    );
  prisma(major === 5 ? ['js', 'copied'] : ['copied', 'esm'], { PRISMA_CLIENT_FORCE_WASM: '1' });
  prisma(major === 5 ? ['native'] : ['native', 'esmNative']);
  if (major === 6) for (const output of [outputs.esm, outputs.esmNative]) compilePrismaClient(typescript(output), output);
  return outputs;
}

/**
 * The app of a major on the client `client`, with the adapter or on its own (`adapter`: 'pg' or
 * 'none'); `esModules`: the client is a prisma-client one compiled to ES modules.
 */
function startPrismaApp(t, major, { client, esModules = false, adapter, env, waitForPort }) {
  return startApp(t, path.join(APPS, `prisma${major}`, esModules ? 'library-engine.mjs' : 'library-engine.cjs'), {
    env: { ...env, PRISMA_CLIENT: client, PRISMA_ADAPTER: adapter, PRISMA_QUERY_ENGINE_LIBRARY: NOT_AN_ENGINE },
    waitForPort,
  });
}

const VARIANTS = [5, 6].flatMap((major) => {
  const outputs = generate(major);
  return [
    ...(major === 5 ? [{ major, generator: 'prisma-client-js in @prisma/client', client: '@prisma/client' }] : []),
    { major, generator: 'prisma-client-js with an output of its own', client: outputs.copied, native: outputs.native },
    ...(major === 6
      ? [{ major, generator: 'prisma-client (ES modules)', client: outputs.esm, native: outputs.esmNative, esModules: true }]
      : []),
  ];
});

for (const { major, generator, client, native, esModules } of VARIANTS) {
  test(`Prisma ${major} classic engine, ${generator}: each operation is one db.query event, replayed with no connection`, async (t) => {
    const url = await database(t);
    const dir = tempDir(t);
    const recording = await startPrismaApp(t, major, {
      client,
      esModules,
      adapter: 'pg',
      env: { DATABASE_URL: url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir },
    });
    const live = await run(recording);
    const files = await recording.cassettes(ROUTES.length);
    await recording.stop();

    assertLiveAnswers(live, { major, notFound: major === 5 ? 'NotFoundError' : 'PrismaClientKnownRequestError' });
    assertCassettes(files);

    /** Replays the cassettes with DATABASE_URL at a tripwire; asserts every response is the live one and no connection was made. */
    const replay = async (clientModule, adapter) => {
      const tripwire = await startTripwire(t);
      const replaying = await startPrismaApp(t, major, {
        client: clientModule,
        esModules,
        adapter,
        env: {
          DATABASE_URL: `postgresql://postgres@127.0.0.1:${tripwire.port}/nowhere`,
          TIMETRACER_MODE: 'replay',
          TIMETRACER_CASSETTE: dir,
        },
      });
      await assertReplayedAsLive(replaying, live);
      assert.equal(tripwire.connections, 0, 'no connection to the database');
      return replaying;
    };

    // Replay on the same client: neither the WebAssembly engine's adapter nor pg connects.
    await replay(client, 'pg');
    if (!native) return;

    // Replay on the Node-API engine, with no adapter: its library is never loaded.
    const onNative = await replay(native, 'none');
    assert.deepEqual(
      onNative.stderr.filter((l) => l.startsWith('dlopen ')),
      [],
      'no native library loaded',
    );
  });
}

for (const { major, generator, native, esModules } of VARIANTS.filter((variant) => variant.native)) {
  test(`Prisma ${major} classic engine on its Node-API library, ${generator}: out of replay, the engine loads it as the client is made`, async (t) => {
    // What the replay above rules out, seen happening in record mode: the engine loads the file
    // PRISMA_QUERY_ENGINE_LIBRARY names. Here that fails, there being no such library to be had,
    // so this engine cannot be recorded here; how the app then fails is Prisma's (Prisma 5 on
    // Node 26 exits on the rejection nobody awaits), so only the load is asserted.
    const app = await startPrismaApp(t, major, {
      client: native,
      esModules,
      adapter: 'none',
      env: { DATABASE_URL: await database(t), TIMETRACER_MODE: 'record', TIMETRACER_DIR: tempDir(t) },
      waitForPort: false,
    });
    assert.equal(await app.waitForLine(/^dlopen /, 'stderr'), `dlopen ${NOT_AN_ENGINE}`);
  });
}
