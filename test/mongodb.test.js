// MongoDB through the official driver 6 (with Mongoose 8) and 7 (with Mongoose 9).
//
// No real mongod can run on these machines: Debian has no package for it and its test-server
// downloads need the internet. So the live side here is test/support/mongo-wire-server.js, a
// small MongoDB wire-protocol server (OP_MSG over TCP, BSON from the bson package, an in-memory
// store) standing in for mongod. What is recorded against it is what the real drivers sent and
// what they parsed; replay then runs with it stopped and nothing listening where the app points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { APPS, readJson, startApp, tempDir, send } from './support/harness.js';
import { startMongoStandIn } from './support/mongo-wire-server.js';

const UNREACHABLE_MONGO_URL = 'mongodb://127.0.0.1:1/';

const VERSIONS = [
  { major: 6, script: path.join(APPS, 'mongodb6', 'app.cjs') },
  { major: 7, script: path.join(APPS, 'mongodb7.mjs') },
];

const born = '1990-05-17T00:00:00.000Z';

/** Each step is a request, built from the responses before it (ids made by the app or driver). */
const STEPS = [
  () => ['POST', '/users', { name: 'Ann', email: 'ann@example.com', born, balance: '1234.56' }],
  () => ['POST', '/users', { name: 'Bob', email: 'bob@example.com', born, balance: '0.10' }],
  () => ['POST', '/users', { name: 'Ann again', email: 'ann@example.com', born, balance: '1' }],
  ([ann]) => ['GET', `/users/${ann.body.id}`],
  ([ann]) => ['PATCH', `/users/${ann.body.id}`, { name: 'Ann B' }],
  () => ['GET', '/users'],
  () => ['GET', '/stats'],
  () => ['POST', '/bulk'],
  () => ['POST', '/transfer'],
  () => ['POST', '/authors', { name: 'Le Guin', born }],
  () => ['POST', '/authors', { name: 'Le Guin', born }],
  (responses) => ['POST', '/posts', { title: 'The Dispossessed', author: responses[9].body.id }],
  (responses) => ['POST', '/posts', { title: 'A Wizard of Earthsea', author: responses[9].body.id }],
  () => ['GET', '/posts'],
  (responses) => ['DELETE', `/posts/${responses[11].body.id}`],
  () => ['GET', '/unreachable'],
  () => ['POST', '/shutdown'],
];

async function run(app) {
  const responses = [];
  for (const step of STEPS) responses.push(await send(app, step(responses)));
  return responses;
}

async function standIn(t) {
  // A read the server answers by dropping the connection.
  const server = await startMongoStandIn({ hangUpOn: (command) => command.filter?.name === 'hang-up' });
  t.after(() => server.close());
  return server;
}

const mongoDb = () => `timetracer_${randomBytes(4).toString('hex')}`;

for (const { major, script } of VERSIONS) {
  test(`MongoDB driver ${major} and Mongoose: every operation is recorded, then replayed with no server`, async (t) => {
    const server = await standIn(t);
    const dir = tempDir(t);
    const env = { MONGO_DB: mongoDb() };
    const recording = await startApp(t, script, { env: { ...env, MONGO_URL: server.url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
    const live = await run(recording);
    const files = await recording.cassettes(STEPS.length);
    await recording.stop();

    // What the driver and Mongoose handed the app live, which replay must hand back too.
    const [ann, , duplicate, annRead, patched, list, stats, bulk, transfer, author, duplicateAuthor, , , posts, deletedPost, unreachable] =
      live;
    assert.equal(ann.status, 201);
    assert.match(ann.body.id, /^[0-9a-f]{24}$/);
    assert.equal(ann.body.idType, 'ObjectId');
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.code, 11000);
    assert.equal(duplicate.body.isServerError, true);
    assert.match(duplicate.body.message, /^E11000 duplicate key error/);
    assert.deepEqual(annRead.body._id, { type: 'ObjectId', value: ann.body.id });
    assert.deepEqual(annRead.body.born, { type: 'Date', value: new Date(born).toString() });
    assert.deepEqual(annRead.body.balance, { type: 'Decimal128', value: '1234.56' });
    assert.deepEqual(annRead.body.visits, { type: 'Long', value: '0' });
    assert.deepEqual(annRead.body.avatar, { type: 'Binary', value: Buffer.from('Ann').toString('base64') });
    assert.deepEqual(patched.body, {
      matched: 1,
      modified: 1,
      after: { _id: { type: 'ObjectId', value: ann.body.id }, name: 'Ann B', visits: { type: 'Number', value: '2' } },
    });
    assert.deepEqual(list.body, { sorted: [{ name: 'Ann B' }, { name: 'Bob' }], inBatches: ['bob@example.com', 'ann@example.com'] });
    assert.equal(stats.body.count, 2);
    assert.deepEqual(stats.body.emails, ['ann@example.com', 'bob@example.com']);
    assert.deepEqual(stats.body.byDomain, [{ n: 2, names: ['Ann B', 'Bob'] }]);
    assert.equal(bulk.body.inserted.length, 3);
    assert.deepEqual(transfer.body, { owner: 'ann', amount: 90, note: 'paid' });
    assert.equal(author.status, 201);
    assert.equal(duplicateAuthor.status, 409);
    assert.equal(duplicateAuthor.body.code, 11000);
    assert.deepEqual(
      posts.body.posts.map((p) => [p.title, p.likes, p.author, p.authorIsDocument]),
      [
        ['A Wizard of Earthsea', 2, 'Le Guin', true],
        ['The Dispossessed', 2, 'Le Guin', true],
      ],
    );
    assert.deepEqual(posts.body.first, { title: 'A Wizard of Earthsea', idIsObjectId: true });
    assert.deepEqual(deletedPost.body, { deletedCount: 1, left: 1 });
    assert.equal(unreachable.status, 503);
    assert.equal(unreachable.body.class, 'MongoNetworkError');

    // The cassettes: one mongodb event per command, as canonical Extended JSON.
    const cassettes = files.map((f) => readJson(f));
    const cassette = (method, url, nth = 0) => cassettes.filter((c) => c.request.method === method && c.request.path === url)[nth];
    const operations = (c) => c.events.map((e) => e.signature.operation);
    const insert = cassette('POST', '/users').events[0];
    assert.equal(insert.type, 'mongodb');
    assert.equal(insert.signature.namespace, `${env.MONGO_DB}.users`);
    assert.deepEqual(insert.request, { object_ids: [ann.body.id] }, 'the id the driver made is kept for replay');
    const [document] = insert.signature.command.documents;
    assert.deepEqual(document._id, { $oid: ann.body.id });
    assert.deepEqual(document.born, { $date: { $numberLong: String(Date.parse(born)) } });
    assert.deepEqual(document.balance, { $numberDecimal: '1234.56' });
    assert.deepEqual(document.visits, { $numberLong: '0' });
    for (const driverField of ['lsid', 'txnNumber', '$clusterTime', '$db'])
      assert.ok(!(driverField in insert.signature.command), `${driverField} is left out`);
    assert.deepEqual(insert.result.reply.n, { $numberInt: '1' });
    const duplicateInsert = cassette('POST', '/users', 2).events[0];
    assert.equal(duplicateInsert.error.code, 11000);
    assert.match(duplicateInsert.error.message, /^E11000 duplicate key error/);
    assert.deepEqual(operations(cassette('GET', '/users')), ['find', 'find', 'getMore'], 'the second cursor reads its rest with getMore');
    assert.deepEqual(operations(cassette('GET', '/stats')), ['aggregate', 'count', 'distinct', 'aggregate', 'ping']);
    assert.deepEqual(operations(cassette('POST', '/bulk')), [
      'insert',
      'insert',
      'update',
      'delete',
      'update',
      'update',
      'findAndModify',
      'delete',
    ]);
    const transaction = cassette('POST', '/transfer').events;
    assert.deepEqual(
      transaction.map((e) => e.signature.operation),
      ['update', 'update', 'commitTransaction', 'find'],
    );
    assert.equal(transaction[0].signature.command.startTransaction, true, 'transactions are recorded as the driver issues them');
    assert.deepEqual(
      operations(cassette('GET', '/posts')),
      ['find', 'find', 'find', 'aggregate'],
      'populate reads the authors with a query of its own',
    );
    const hungUp = cassette('GET', '/unreachable').events;
    assert.deepEqual(
      hungUp.map((e) => [e.signature.operation, e.error?.name]),
      [
        ['find', 'MongoNetworkError'],
        ['find', 'MongoNetworkError'],
      ],
      'the driver retried the read once',
    );
    assert.equal(
      cassettes.filter((c) => c.events.some((e) => ['hello', 'isMaster', 'ismaster', 'endSessions'].includes(e.signature.operation)))
        .length,
      0,
      'connection set-up is not part of any request',
    );

    // Replay: nothing listens where the app points.
    await server.close();
    const replaying = await startApp(t, script, {
      env: { ...env, MONGO_URL: UNREACHABLE_MONGO_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
    });
    const replayed = await run(replaying);
    for (const [i, response] of replayed.entries()) assert.deepEqual(response, live[i], `${STEPS[i](live).slice(0, 2).join(' ')}`);
    await replaying.waitForLine(/^timetracer replay POST \/shutdown /);
    const lines = replaying.stderr.filter((l) => /^timetracer replay (GET|POST|PATCH|DELETE) /.test(l));
    assert.equal(lines.length, STEPS.length);
    for (const line of lines) assert.match(line, /matched=OK/);
    assert.ok(
      !replaying.stderr.some((l) => /MISS|ECONNREFUSED|MongoServerSelectionError/.test(l)),
      `no miss, no connection attempted:\n${replaying.stderr.join('\n')}`,
    );
  });
}

test('a MongoDB command whose filter differs from the recording misses, naming what differs', async (t) => {
  const server = await standIn(t);
  const dir = tempDir(t);
  const env = { MONGO_DB: mongoDb() };
  const { script } = VERSIONS[1];
  const recording = await startApp(t, script, { env: { ...env, MONGO_URL: server.url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const id = '65a1b2c3d4e5f60718293a4b';
  assert.equal((await send(recording, ['GET', `/users/${id}`])).body, null);
  const [file] = await recording.cassettes(1);
  await recording.stop();
  await server.close();

  // One cassette file serves every request, whatever its path.
  const replaying = await startApp(t, script, {
    env: { ...env, MONGO_URL: UNREACHABLE_MONGO_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: file },
  });
  const other = '65a1b2c3d4e5f60718293a4c';
  const missed = await send(replaying, ['GET', `/users/${other}`]);
  assert.equal(missed.status, 500);
  const miss = await replaying.waitForLine(/^timetracer \[MISS\] mongodb find /);
  assert.match(miss, new RegExp(`nearest: eid 1, .*${other}.*!= recorded .*${id}`));
});

test('MongoDB: document fields named as secrets are not written, in commands or replies, and still match on replay', async (t) => {
  const server = await standIn(t);
  const dir = tempDir(t);
  const env = { MONGO_DB: mongoDb(), TIMETRACER_REDACT: 'email' };
  const { script } = VERSIONS[1];
  const recording = await startApp(t, script, { env: { ...env, MONGO_URL: server.url, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir } });
  const steps = [
    () => ['POST', '/users', { name: 'Ann', email: 'ann@example.com', born, balance: '1' }],
    ([ann]) => ['GET', `/users/${ann.body.id}`],
  ];
  const live = [];
  for (const step of steps) live.push(await send(recording, step(live)));
  const files = await recording.cassettes(2);
  await recording.stop();
  await server.close();
  assert.equal(live[1].body.email, 'ann@example.com');
  for (const file of files) assert.ok(!fs.readFileSync(file, 'utf8').includes('ann@example.com'), `${path.basename(file)} holds no email`);

  const replaying = await startApp(t, script, {
    env: { ...env, MONGO_URL: UNREACHABLE_MONGO_URL, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir },
  });
  const replayed = [];
  for (const step of steps) replayed.push(await send(replaying, step(replayed)));
  assert.deepEqual(replayed[0], live[0], 'the insert matched: the same id comes back');
  assert.deepEqual(replayed[1].body, { ...live[1].body, email: '[REDACTED]' }, 'the app reads back "[REDACTED]" where it read the email');
});
