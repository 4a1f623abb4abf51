// Recording into segment files (TIMETRACER_LAYOUT=segments): a real app records several requests
// into one segment and its index; list, show, export, prune and replay each read them as they
// read cassette files, and what a crash can leave behind (an index line missing, a torn last
// line) loses no whole cassette and invents none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { SegmentWriter, readSegmentEntries } from '../dist/src/cassette/segment.js';
import { readCassetteTextSync } from '../dist/src/cassette/store.js';
import { APPS, ROOT, cassetteFiles, request, runNode, startApp, startTripwire, startUpstream, tempDir } from './support/harness.js';

const APP = path.join(APPS, 'robust.cjs');
const BIN = path.join(ROOT, 'bin', 'timetracer.mjs');
const IDS = [1, 2, 3];

async function timetracer(args, { cwd = ROOT } = {}) {
  const run = await runNode([BIN, ...args], { cwd, env: { ...process.env, TIMETRACER_DIR: undefined, NODE_OPTIONS: '' } });
  return { ...run, lines: run.stdout.split('\n').filter(Boolean) };
}

/** Records GET /data?id=N for each id into segments; the upstream is closed afterwards, a tripwire on its port. */
async function recordIntoSegments(t, env = {}) {
  const upstream = await startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, note: 'from upstream' }));
  });
  const dir = tempDir(t);
  const app = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, TIMETRACER_LAYOUT: 'segments', UPSTREAM_URL: upstream.url, ...env },
  });
  const live = new Map();
  for (const id of IDS) live.set(id, (await request(`${app.url}/data?id=${id}`)).text);
  const refs = await app.cassettes(IDS.length);
  await app.stop();
  await upstream.close();
  const tripwire = await startTripwire(t, upstream.port);
  return { dir, live, refs, upstream, tripwire };
}

function segmentFiles(dir) {
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((name) => /\.segment\.jsonl(\.gz)?$/.test(name))
    .map((name) => path.join(dir, name));
}

async function assertReplaysEach(t, { dir, live, upstream, tripwire }, cassette = dir) {
  const replaying = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: cassette, UPSTREAM_URL: upstream.url },
  });
  for (const id of IDS) assert.equal((await request(`${replaying.url}/data?id=${id}`)).text, live.get(id), `GET /data?id=${id}`);
  assert.equal(tripwire.connections, 0, 'nothing went live');
  await replaying.stop();
}

test('segments: one file and its index hold every cassette; list, show, export and replay read them', async (t) => {
  const recorded = await recordIntoSegments(t);
  const { dir, refs } = recorded;
  assert.deepEqual(cassetteFiles(dir), [], 'no file per request');
  const [segment] = segmentFiles(dir);
  assert.ok(segment, 'a segment was written');
  assert.ok(fs.existsSync(`${segment}.idx`), 'with its index');
  assert.deepEqual(
    refs.map((ref) => ref.replace(/#\d+$/, '')),
    IDS.map(() => segment),
    'each cassette is announced as <segment>#<offset>',
  );
  const lines = fs
    .readFileSync(segment, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    lines.map((cassette) => cassette.request.query.id),
    IDS.map(String),
    'one compact JSON cassette per line, in recorded order',
  );

  const listed = JSON.parse((await timetracer(['list', '--dir', dir, '--json'])).stdout);
  assert.deepEqual(listed.map((summary) => summary.id).sort(), lines.map((cassette) => cassette.session.id).sort());
  const [first] = lines;
  const shown = await timetracer(['show', first.session.id, '--dir', dir]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.lines[0], new RegExp(`^GET /data +status 200 .* id ${first.session.id} `));

  const out = path.join(tempDir(t), 'first.json');
  const exported = await timetracer(['export', first.session.id.slice(0, 6), '--dir', dir, '--out', out]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), first, 'the export is the cassette, whole');
  assert.match(fs.readFileSync(out, 'utf8'), /^\{\n {2}"schema_version"/, 'indented, as a file of its own');
  assert.match((await timetracer(['export', first.session.id, '--dir', dir, '--out', out])).stderr, /already exists/);

  await assertReplaysEach(t, recorded);
  // One cassette of the segment, named as `list` names it, serves its request alone.
  const alone = await startApp(t, APP, {
    env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: refs[1], UPSTREAM_URL: recorded.upstream.url },
  });
  assert.equal((await request(`${alone.url}/data?id=2`)).text, recorded.live.get(2));
});

test('segments: a cassette the index does not name yet is still found, and a torn last line is not taken for one', async (t) => {
  const recorded = await recordIntoSegments(t);
  const [segment] = segmentFiles(recorded.dir);
  // The writer stopped after the cassettes' write and before the index's, then mid-write again.
  const index = fs.readFileSync(`${segment}.idx`, 'utf8').split('\n');
  fs.writeFileSync(`${segment}.idx`, `${index[0]}\n`);
  fs.appendFileSync(segment, '{"schema_version":"1.0","session":{"id":"torn');
  const listed = JSON.parse((await timetracer(['list', '--dir', recorded.dir, '--json'])).stdout);
  assert.equal(listed.length, IDS.length);
  await assertReplaysEach(t, recorded);
});

test('segments with TIMETRACER_COMPRESSION=gzip: a gzip member per cassette, read as JSON Lines by any gunzip; replay serves them', async (t) => {
  const recorded = await recordIntoSegments(t, { TIMETRACER_COMPRESSION: 'gzip' });
  const [segment] = segmentFiles(recorded.dir);
  assert.match(segment, /\.segment\.jsonl\.gz$/);
  const lines = zlib.gunzipSync(fs.readFileSync(segment)).toString('utf8').split('\n').filter(Boolean);
  assert.deepEqual(
    lines.map((line) => JSON.parse(line).request.query.id),
    IDS.map(String),
  );
  await assertReplaysEach(t, recorded);
});

test('prune removes a segment whole, with its index, once every cassette in it is to go', async (t) => {
  const { dir } = await recordIntoSegments(t);
  const [segment] = segmentFiles(dir);
  const some = await timetracer(['prune', '--keep', '1', '--dir', dir]);
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stdout, /2 of them were kept: they are in segments that hold newer cassettes/);
  assert.ok(fs.existsSync(segment));
  const all = await timetracer(['prune', '--keep', '0', '--dir', dir]);
  assert.match(all.stdout, /Removed 3 cassettes/);
  assert.equal(fs.existsSync(segment), false);
  assert.equal(fs.existsSync(`${segment}.idx`), false);
});

test('a segment cut short or with its index damaged anywhere gives only whole cassettes, each with its own bytes (generated cases)', (t) => {
  const dir = tempDir(t);
  let made = 0;
  fc.assert(
    fc.property(
      fc.array(fc.record({ path: fc.stringMatching(/^\/[a-z]{1,8}$/), note: fc.string({ maxLength: 40 }) }), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.boolean(),
      fc.nat(),
      fc.nat(),
      (requests, gzip, cutAt, damageAt) => {
        const root = path.join(dir, String(made++));
        const writer = new SegmentWriter(root, gzip, 'fuzz');
        const cassettes = requests.map((request, i) => ({
          id: `c${i}`,
          stem: `GET__${request.path.slice(1)}`,
          recordedAt: '2026-12-05T12:00:00.000Z',
          text: JSON.stringify({
            session: { id: `c${i}`, recorded_at: '2026-12-05T12:00:00.000Z' },
            request: { method: 'GET', path: request.path },
            note: request.note,
          }),
        }));
        // Two batches, as the writer's thread writes them.
        const refs = [...writer.append(cassettes.slice(0, 2)), ...writer.append(cassettes.slice(2))];
        writer.close();
        const segment = refs[0].replace(/#\d+$/, '');
        const size = fs.statSync(segment).size;
        fs.truncateSync(segment, cutAt % (size + 1));
        const index = fs.readFileSync(`${segment}.idx`, 'utf8');
        const at = damageAt % (index.length + 1);
        fs.writeFileSync(`${segment}.idx`, `${index.slice(0, at)}{"id":${index.slice(at + 3)}`);
        const entries = readSegmentEntries(segment);
        const offsets = entries.map((entry) => entry.offset);
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
          'in the order written',
        );
        for (const entry of entries) {
          const text = readCassetteTextSync(`${segment}#${entry.offset}`);
          const i = refs.indexOf(`${segment}#${entry.offset}`);
          assert.ok(i >= 0, `an entry at ${entry.offset} is where a cassette was written`);
          assert.equal(text.trimEnd(), cassettes[i].text);
        }
      },
    ),
    { numRuns: 300, seed: 21 },
  );
});
