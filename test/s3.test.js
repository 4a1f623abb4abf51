// Cassettes in S3 against a real S3 server: Ceph's RADOS Gateway, which .ci/run starts with
// .ci/s3-ceph.sh and describes in S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY. The demo app
// records into s3://, replays from it with its upstream out of reach, the commands read it, and
// an outage of the gateway in the middle of a run loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import net from 'node:net';
import { ROOT, request, runNode, startApp, startTripwire, tempDir } from './support/harness.js';

const DEMO_APP = path.join(ROOT, 'examples', 'github-proxy', 'app.js');
const UPSTREAM = path.join(ROOT, 'examples', 'github-proxy', 'upstream.js');
const BIN = path.join(ROOT, 'bin', 'timetracer.mjs');
const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY } = process.env;
const skip = S3_ENDPOINT ? false : 'no S3 server: set S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY (.ci/run starts one)';
/** Where .ci/s3-ceph.sh keeps the gateway's configuration and pid file. */
const CEPH_DIR = process.env.CEPH_DIR ?? '/tmp/ceph-s3';

const awsEnv = () => ({
  AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
  AWS_ENDPOINT_URL_S3: S3_ENDPOINT,
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/** A fresh bucket of the test's own, and a client to look into it. */
async function freshBucket(t) {
  const { S3Client, CreateBucketCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: S3_ENDPOINT,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });
  t.after(() => client.destroy());
  const bucket = `tt-${Math.random().toString(36).slice(2, 12)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = async (prefix) =>
    ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key).sort();
  return { bucket, keys };
}

async function startUpstream(t, port = 0) {
  return startApp(t, UPSTREAM, { register: false, env: { PORT: String(port), LATENCY_MS: '0' } });
}

const USERS = ['octocat', 'torvalds', 'nobody-here-404'];

for (const layout of ['files', 'segments']) {
  test(`${layout}: record into s3://, replay from it with the upstream out of reach, and every command reads it`, { skip }, async (t) => {
    const { bucket, keys } = await freshBucket(t);
    const location = `s3://${bucket}/runs/${layout}`;
    const upstream = await startUpstream(t);
    const spool = tempDir(t);
    const env = { ...awsEnv(), GITHUB_API: upstream.url, PORT: '0' };
    const recording = await startApp(t, DEMO_APP, {
      env: { ...env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: location, TIMETRACER_LAYOUT: layout, TIMETRACER_SPOOL_DIR: spool },
    });
    const live = [];
    for (const user of USERS) live.push(await request(`${recording.url}/user/${user}`));
    await recording.cassettes(USERS.length);
    await recording.stop();
    assert.deepEqual(
      recording.stderr.filter((l) => l.includes('[WARN]')),
      [],
    );
    const stored = await keys(`runs/${layout}/`);
    if (layout === 'files')
      assert.equal(stored.filter((key) => /\/GET__user_[\w-]+__\w+\.json$/.test(key)).length, USERS.length, stored.join('\n'));
    else
      assert.ok(
        stored.some((key) => key.endsWith('.segment.jsonl')) && stored.some((key) => key.endsWith('.segment.jsonl.idx')),
        stored.join('\n'),
      );
    assert.deepEqual(
      fs.readdirSync(spool, { recursive: true }).filter((f) => /\.(json|jsonl|idx)$/.test(f)),
      [],
      'the spool is empty once uploaded',
    );

    await upstream.stop();
    const tripwire = await startTripwire(t, Number(new URL(upstream.url).port));
    const replaying = await startApp(t, DEMO_APP, { env: { ...env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: location } });
    for (const [i, user] of USERS.entries()) {
      const replayed = await request(`${replaying.url}/user/${user}`);
      assert.deepEqual([replayed.status, replayed.text], [live[i].status, live[i].text], `${user}\n${replaying.stderr.join('\n')}`);
    }
    assert.equal(tripwire.connections, 0);

    const cli = (...args) => runNode([BIN, ...args], { env: { ...process.env, ...awsEnv(), NO_COLOR: '1' } });
    const list = await cli('list', '--dir', location, '--json');
    assert.equal(list.code, 0, list.stderr);
    const summaries = JSON.parse(list.stdout).filter((s) => s.kind === 'request');
    assert.deepEqual(summaries.map((s) => s.path).sort(), USERS.map((u) => `/user/${u}`).sort());
    const shown = await cli('show', summaries[0].id, '--dir', location);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^GET ${summaries[0].path} `));
    const copy = tempDir(t);
    const synced = await cli('sync', location, copy);
    assert.equal(synced.code, 0, synced.stderr);
    const local = await cli('list', '--dir', copy, '--json');
    assert.equal(JSON.parse(local.stdout).filter((s) => s.kind === 'request').length, USERS.length);

    // The dashboard, on the same location.
    const dashboard = spawn(process.execPath, [BIN, 'serve', '--dir', location, '--port', '0'], {
      env: { ...process.env, ...awsEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => dashboard.kill());
    dashboard.stdout.setEncoding('utf8');
    const [line] = await once(dashboard.stdout, 'data');
    const url = /timetracer dashboard: (http:\/\/\S+)/.exec(line)?.[1];
    assert.ok(url, line);
    const page = await request(new URL('/api/cassettes?limit=10', url).href);
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(
      page
        .json()
        .items.filter((item) => item.kind === 'request')
        .map((item) => item.path)
        .sort(),
      USERS.map((u) => `/user/${u}`).sort(),
    );
  });
}

/** Stops the gateway alone (the cluster keeps its data) and gives back what starts it again. */
function stopGateway() {
  const pid = Number(fs.readFileSync(path.join(CEPH_DIR, 'run', 'client.rgw.s3.pid'), 'utf8'));
  process.kill(pid, 'SIGTERM');
  return async () => {
    // The old gateway lets go of its port at once but takes a moment more to end; one started
    // before it has ended does not come up. `tail --pid` returns when it has.
    spawnSync('tail', [`--pid=${pid}`, '-s', '0.1', '-f', '/dev/null'], { timeout: 130_000 });
    const started = spawnSync('radosgw', ['-c', path.join(CEPH_DIR, 'ceph.conf'), '-n', 'client.rgw.s3'], { encoding: 'utf8' });
    assert.equal(started.status, 0, started.stderr);
  };
}

/** Resolves once nothing listens on `port` (the gateway has stopped). */
async function portClosed(port) {
  for (;;) {
    const socket = net.connect(port, '127.0.0.1');
    const refused = await new Promise((resolve) => {
      socket.once('connect', () => resolve(false));
      socket.once('error', () => resolve(true));
    });
    socket.destroy();
    if (refused) return;
    await once(socket, 'close');
  }
}

test('an S3 outage in the middle of a run loses nothing: cassettes wait in the spool and every one arrives once S3 is back', {
  skip,
}, async (t) => {
  const { bucket, keys } = await freshBucket(t);
  const location = `s3://${bucket}/outage`;
  const upstream = await startUpstream(t);
  const app = await startApp(t, DEMO_APP, {
    env: {
      ...awsEnv(),
      GITHUB_API: upstream.url,
      PORT: '0',
      TIMETRACER_MODE: 'record',
      TIMETRACER_DIR: location,
      TIMETRACER_SPOOL_DIR: tempDir(t),
    },
  });
  assert.equal((await request(`${app.url}/user/octocat`)).status, 200);
  await app.cassettes(1);

  const restart = stopGateway();
  t.after(async () => {
    // Whatever happened, the gateway runs again for the tests after this one.
    if (spawnSync('pgrep', ['-f', 'client.rgw.s3']).status !== 0) await restart();
  });
  await portClosed(Number(new URL(S3_ENDPOINT).port));
  const during = 20;
  for (let i = 0; i < during; i++) assert.equal((await request(`${app.url}/user/torvalds?i=${i}`)).status, 200, 'the app is unaffected');
  await app.waitForLine(
    /^timetracer \[WARN\] could not upload cassettes to s3:\/\/\S+ \(.+\); they wait in \S+ and uploads are retried \(the app is unaffected\)$/,
    'stderr',
  );

  await restart();
  await app.waitForLine(/^timetracer uploads to s3:\/\/\S+ go through again after \d+ s; the spool is caught up$/, 'stderr', {
    timeoutMs: 60_000,
  });
  await app.stop();
  const stored = (await keys('outage/')).filter((key) => key.includes('/GET__user_'));
  assert.equal(stored.length, 1 + during, 'every cassette arrived');
});

test('without the AWS SDK installed, an s3:// location is one line: the agent stays off and the app runs; the commands say so too', async (t) => {
  const preload = path.join(ROOT, 'test', 'apps', 'preload', 'without-aws-sdk.mjs');
  const upstream = await startUpstream(t);
  const app = await startApp(t, DEMO_APP, {
    preload: [preload],
    env: { GITHUB_API: upstream.url, PORT: '0', TIMETRACER_MODE: 'record', TIMETRACER_DIR: 's3://some-bucket/cassettes' },
  });
  assert.equal((await request(`${app.url}/user/octocat`)).status, 200);
  await app.stop();
  assert.deepEqual(app.timetracerLines, [
    'timetracer [WARN] TIMETRACER_DIR="s3://some-bucket/cassettes": an s3:// location needs the AWS SDK: npm install @aws-sdk/client-s3. timetracer stays off.',
  ]);
  const list = await runNode(['--import', preload, BIN, 'list', '--dir', 's3://some-bucket/cassettes']);
  assert.deepEqual([list.code, list.stderr], [2, 'timetracer list: an s3:// location needs the AWS SDK: npm install @aws-sdk/client-s3\n']);
});
