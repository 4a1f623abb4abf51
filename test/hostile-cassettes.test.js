// Cassettes are files anyone can edit, copy or damage: whatever they hold, every reader either
// refuses one with a coded error naming it or uses it without failing. A seeded run of the
// generated inputs here; `npm run fuzz` runs 100,000 and more (test/fuzz-cassettes.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { ROOT, runNode, tempDir } from './support/harness.js';
import {
  appValue,
  cassetteChecker,
  checkProperty,
  codecChecker,
  hostileCassette,
  seedCassettes,
  taggedJson,
} from './support/hostile-cassettes.js';

const BIN = path.join(ROOT, 'bin', 'timetracer.mjs');
const SEED = 20261205;

test('generated hostile cassettes: each is refused with a coded error naming its file, or read by every tool without failing', async () => {
  const check = await cassetteChecker();
  checkProperty(
    fc.property(hostileCassette(seedCassettes()), ({ text }) => {
      const problem = check(text);
      assert.equal(problem, undefined, problem);
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test('generated typed values: decoding and encoding fail only with the codec error, whatever the value holds', async () => {
  const { decode, encode } = await codecChecker();
  checkProperty(
    fc.property(taggedJson, (json) => {
      const problem = decode(json);
      assert.equal(problem, undefined, problem);
    }),
    { seed: SEED, numRuns: 2_000 },
  );
  checkProperty(
    fc.property(appValue, (value) => {
      const problem = encode(value);
      assert.equal(problem, undefined, problem);
    }),
    { seed: SEED, numRuns: 1_000 },
  );
});

test('list shows the readable cassettes and one line for each bad file; a damaged catalog cache is read again, not trusted', async (t) => {
  const dir = tempDir(t);
  const [seed] = seedCassettes();
  const folder = path.join(dir, seed.session.recorded_at.slice(0, 10));
  fs.mkdirSync(folder);
  const write = (name, content) => fs.writeFileSync(path.join(folder, name), content);
  write(`GET__good__${seed.session.id}.json`, JSON.stringify(seed));
  write('GET__method-number__00000001.json', JSON.stringify({ ...seed, request: { ...seed.request, method: 5 } }));
  write(
    'PROCESS__no-stats__00000002.json',
    JSON.stringify({ ...seed, session: { ...seed.session, kind: 'process' }, request: null, response: null, stats: undefined }),
  );
  write('GET__bomb__00000003.json.gz', zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024, ' ')));

  const list = () => runNode([BIN, 'list', '--dir', dir], { env: { ...process.env, NO_COLOR: '1' } });
  const first = await list();
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^Showing 1 of 1 matching/m);
  const skipped = first.stderr.split('\n').filter(Boolean);
  const day = seed.session.recorded_at.slice(0, 10);
  const bad = {
    'GET__bomb__00000003.json.gz': /unzips to more than 64 MiB$/,
    'GET__method-number__00000001.json': /is not a usable cassette: request\.method is not a string$/,
    'PROCESS__no-stats__00000002.json': /is not a usable cassette: stats is not an object$/,
  };
  assert.equal(skipped.length, Object.keys(bad).length, first.stderr);
  for (const [name, reason] of Object.entries(bad)) {
    const line = skipped.find((l) => l.startsWith(`timetracer list: skipped ${path.join(day, name)}: `));
    assert.ok(line, `a line names ${name}:\n${first.stderr}`);
    assert.match(line, reason);
  }

  // The cache is a file in the user's folder: a line of the wrong types is not laid out as it is.
  const cache = path.join(dir, '.timetracer-catalog.jsonl');
  const lines = fs.readFileSync(cache, 'utf8').split('\n').filter(Boolean);
  const good = lines.map((line) => JSON.parse(line)).find((summary) => summary.id === seed.session.id);
  assert.ok(good, 'the good cassette is in the cache');
  fs.writeFileSync(cache, `${JSON.stringify({ ...good, method: 5, status: 'ok' })}\n`);
  const second = await list();
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`\\b${seed.request.method}\\s+${seed.request.path}\\s`));
});

test('a cassette whose body is hundreds of thousands of lines is shown whole, not cut short by a stack overflow', async () => {
  const { parseCassette } = await import('../dist/src/cassette/store.js');
  const { describeCassette } = await import('../dist/src/cli/commands/show.js');
  const { PLAIN_STYLE } = await import('../dist/src/cli/format.js');
  const [seed] = seedCassettes();
  const items = Array.from({ length: 300_000 }, (_, i) => i);
  const cassette = parseCassette(
    JSON.stringify({ ...seed, response: { ...seed.response, body: { encoding: 'json', data: items } } }),
    'big.json',
  );
  const lines = describeCassette(cassette, 'big.json', PLAIN_STYLE);
  assert.ok(lines.length > items.length, `${lines.length} lines`);
  assert.ok(lines.some((line) => line.trim() === '299999'));
});
