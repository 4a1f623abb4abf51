// The timetracer command end to end: `node bin/timetracer.mjs ...` run as a user runs it, on
// cassettes recorded by a real app (plain and gzip), and on crafted copies where a test needs
// cassettes recorded long ago.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  APPS,
  ROOT,
  cassetteFiles,
  createDatabase,
  readJson,
  request,
  runNode,
  startApp,
  startUpstream,
  tempDir,
} from './support/harness.js';

const BIN = path.join(ROOT, 'bin', 'timetracer.mjs');
const PLAIN_APP = path.join(APPS, 'plain-http.mjs');
/** Nothing listens on port 1: a call there is refused. */
const REFUSED_URL = 'http://127.0.0.1:1';
const WATERFALL_BAR = /\|[ █]{30}\|/;

/** Runs the command; resolves with its exit code and output. */
async function timetracer(args, { cwd = ROOT, env = {}, nodeArgs = [] } = {}) {
  const run = await runNode([...nodeArgs, BIN, ...args], {
    cwd,
    env: { ...process.env, TIMETRACER_DIR: undefined, TIMETRACER_MODE: undefined, NO_COLOR: undefined, ...env, NODE_OPTIONS: '' },
  });
  return { ...run, lines: run.stdout.split('\n').filter(Boolean) };
}

/** A failure as the command must report it: one line on stderr, nothing on stdout, no stack. */
function assertOneLineError(result, pattern, code = 2) {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], /^timetracer/);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

// Recorded once for the whole file: five requests of a real app, one of them gzip.
const recorded = {};
let upstreamName = 'Ann';

before(async () => {
  recorded.dir = tempDir(undefined, 'timetracer-cli-');
  const upstream = await startUpstream(undefined, (req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/echo') res.end(JSON.stringify({ echoed: JSON.parse(body) }));
      else res.end(JSON.stringify({ id: req.url.split('/')[2], name: upstreamName }));
    });
  });
  const app = await startApp(undefined, PLAIN_APP, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: recorded.dir, UPSTREAM_URL: upstream.url },
  });
  const gzipApp = await startApp(undefined, PLAIN_APP, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: recorded.dir, TIMETRACER_COMPRESSION: 'gzip', UPSTREAM_URL: REFUSED_URL },
  });
  try {
    await request(`${app.url}/via-http/1`);
    await request(`${app.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":3}' });
    upstreamName = 'Anna';
    await request(`${app.url}/via-http/1`);
    await request(`${app.url}/crash`);
    await request(`${gzipApp.url}/via-http/7`);
    await app.cassettes(4);
    await gzipApp.cassettes(1);
  } finally {
    await app.stop();
    await gzipApp.stop();
    await upstream.close();
  }
  recorded.upstream = upstream.url;
  const files = cassetteFiles(recorded.dir);
  const cassettes = files.filter((f) => f.endsWith('.json')).map((file) => ({ file, cassette: readJson(file) }));
  const find = (match) => cassettes.find(({ cassette }) => match(cassette)).file;
  recorded.ann = find((c) => c.request.path === '/via-http/1' && c.response.body.data.name === 'Ann');
  recorded.anna = find((c) => c.request.path === '/via-http/1' && c.response.body.data.name === 'Anna');
  recorded.post = find((c) => c.request.method === 'POST');
  recorded.crash = find((c) => c.request.path === '/crash');
  recorded.refused = files.find((f) => f.endsWith('.json.gz'));
  assert.equal(files.length, 5);
});

after(() => fs.rmSync(recorded.dir, { recursive: true, force: true }));

/** A copy of the recorded directory, for tests that change it. */
function copyOfRecorded(t) {
  const dir = tempDir(t);
  fs.cpSync(recorded.dir, dir, { recursive: true });
  return dir;
}

/** A copy of a recorded cassette that says it was recorded `daysAgo` days ago, in its date folder. */
function craftOld(dir, source, daysAgo, id) {
  const cassette = readJson(source);
  cassette.session.recorded_at = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  cassette.session.id = id;
  const file = path.join(dir, cassette.session.recorded_at.slice(0, 10), `GET__via-http_1__${id}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(cassette, null, 2)}\n`);
  return file;
}

test('--help on every command prints its usage and options', async () => {
  const overview = await timetracer(['--help']);
  assert.equal(overview.code, 0);
  for (const [name, options] of [
    ['list', ['--method', '--status', '--since', '--limit', '--json']],
    ['show', ['<cassette>', '--raw', '--json', '--dir']],
    ['diff', ['<a> <b>', '--ignore', '--json', 'Exit status: 0 same, 1 different, 2 error']],
    ['prune', ['--older-than', '--keep', '--dry-run', '--json']],
  ]) {
    assert.match(overview.stdout, new RegExp(`^  ${name} +\\S`, 'm'), `${name} is listed with a summary`);
    const help = await timetracer([name, '--help']);
    assert.equal(help.code, 0);
    assert.ok(help.stdout.startsWith(`Usage: timetracer ${name} `), help.stdout);
    for (const option of options) assert.ok(help.stdout.includes(option), `${name} --help mentions ${option}`);
  }
});

test('list: every cassette, plain and gzip, newest first; filters by status, method, path and count', async () => {
  const all = JSON.parse((await timetracer(['list', '--dir', recorded.dir, '--json'])).stdout);
  assert.equal(all.length, 5);
  const times = all.map((s) => s.recorded_at);
  assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
  assert.ok(
    all.some((s) => s.file.endsWith('.json.gz')),
    'the gzip cassette is listed',
  );

  const table = await timetracer(['list', '--dir', recorded.dir]);
  assert.equal(table.code, 0);
  assert.match(table.lines[0], /^TIME +METHOD +PATH +STATUS +DURATION +DEPS +FILE$/);
  assert.match(table.stdout, /^\S+ \S+ +POST +\/echo +200 +\d+ms +http\.client:1 +\S+POST__echo__[0-9a-f]{8}\.json$/m);
  assert.match(table.lines.at(-1), /^Showing 5 of 5 matching \(5 cassettes in /);

  const failed = JSON.parse((await timetracer(['list', '--dir', recorded.dir, '--status', '5xx', '--json'])).stdout);
  assert.deepEqual(failed.map((s) => s.path).sort(), ['/crash', '/via-http/7']);
  const posts = JSON.parse((await timetracer(['list', '--dir', recorded.dir, '--method', 'post', '--json'])).stdout);
  assert.deepEqual(
    posts.map((s) => s.path),
    ['/echo'],
  );
  const viaHttp = JSON.parse((await timetracer(['list', '--dir', recorded.dir, '--path', 'via-http', '--json'])).stdout);
  assert.equal(viaHttp.length, 3);
  const limited = await timetracer(['list', '--dir', recorded.dir, '--limit', '2']);
  assert.equal(limited.lines.length, 4, 'header, two rows, summary');
  assert.match(limited.lines.at(-1), /^Showing 2 of 5 matching/);
});

test('list --since: a duration or a date, against when each cassette was recorded', async (t) => {
  const dir = copyOfRecorded(t);
  craftOld(dir, recorded.ann, 30, 'aaaa0001');
  const since = async (value) => JSON.parse((await timetracer(['list', '--dir', dir, '--since', value, '--json'])).stdout).length;
  assert.equal(await since('7d'), 5, 'the month-old cassette is left out');
  assert.equal(await since(new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10)), 6);
  assert.equal(await since('2999-01-01'), 0);
});

test('show: header, request, response and a waterfall line per call; by file or by id in --dir', async () => {
  const shown = await timetracer(['show', recorded.post]);
  assert.equal(shown.code, 0, shown.stderr);
  const { session } = readJson(recorded.post);
  assert.match(
    shown.lines[0],
    new RegExp(
      `^POST /echo  status 200  [\\d.]+m?s  recorded ${session.recorded_at}  service \\S+  id ${session.id}  file \\S+POST__echo__${session.id}\\.json$`,
    ),
  );
  const request = shown.stdout.slice(shown.stdout.indexOf('\nRequest\n'), shown.stdout.indexOf('\nResponse\n'));
  assert.match(request, /^ +content-type: application\/json$/m);
  assert.match(request, /^ {2}body +\{\n +"n": 3\n +\}$/m, 'the JSON body pretty-printed');
  const response = shown.stdout.slice(shown.stdout.indexOf('\nResponse\n'), shown.stdout.indexOf('\nDependency calls'));
  assert.match(response, /^ {2}body +\{\n +"echoed": \{\n +"n": 3/m);
  const waterfall = shown.lines.slice(shown.lines.indexOf('Dependency calls (1)') + 1);
  assert.match(waterfall[0], /^ +START +\|0 +\d+ms\| +TOOK +CALL$/);
  assert.equal(waterfall.length, 2);
  assert.match(
    waterfall[1],
    new RegExp(`^ +\\+[\\d.]+m?s  ${WATERFALL_BAR.source}  +[\\d.]+m?s  http\\.client  POST ${recorded.upstream}/echo  200$`),
  );
  assert.doesNotMatch(shown.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');

  const byId = await timetracer(['show', session.id.slice(0, 6), '--dir', recorded.dir]);
  assert.equal(byId.code, 0, byId.stderr);
  assert.match(byId.lines[0], new RegExp(`^POST /echo .* id ${session.id} `));
});

test('show: a refused call, from a gzip cassette, and a request with no calls', async () => {
  const refused = await timetracer(['show', recorded.refused]);
  assert.equal(refused.code, 0, refused.stderr);
  assert.match(refused.lines[0], /^GET \/via-http\/7 {2}status 500 /);
  assert.match(
    refused.stdout,
    new RegExp(`^ +\\+[\\d.]+m?s  ${WATERFALL_BAR.source}  +[\\d.]+m?s  http\\.client  GET ${REFUSED_URL}/items/7  ECONNREFUSED$`, 'm'),
  );
  const crash = await timetracer(['show', recorded.crash]);
  assert.match(crash.stdout, /^ {2}body +Error: handler crashed on purpose$/m);
  assert.equal(crash.lines.at(-1), 'Dependency calls: none');
});

test('show colours its output only on a terminal, and never under NO_COLOR', async () => {
  // The command runs as it would on a terminal, but for the one flag it checks.
  const onTerminal = { nodeArgs: ['--import', 'data:text/javascript,process.stdout.isTTY=true'] };
  const coloured = await timetracer(['show', recorded.refused], onTerminal);
  assert.match(coloured.stdout, /\x1b\[31mECONNREFUSED\x1b\[39m$/m, 'the error in red');
  assert.match(coloured.stdout, /status \x1b\[31m500\x1b\[39m/);
  const plain = await timetracer(['show', recorded.refused], { ...onTerminal, env: { NO_COLOR: '1' } });
  assert.doesNotMatch(plain.stdout, /\x1b\[/);
  assert.equal(plain.stdout, (await timetracer(['show', recorded.refused])).stdout, 'the same text, uncoloured');
});

test('show --raw prints the file as it is (unzipped for gzip); --json the cassette as JSON', async () => {
  assert.equal((await timetracer(['show', recorded.ann, '--raw'])).stdout, fs.readFileSync(recorded.ann, 'utf8'));
  const gzipRaw = await timetracer(['show', recorded.refused, '--raw']);
  assert.equal(gzipRaw.stdout, zlib.gunzipSync(fs.readFileSync(recorded.refused)).toString('utf8'));
  assert.deepEqual(JSON.parse((await timetracer(['show', recorded.ann, '--json'])).stdout), readJson(recorded.ann));
});

test('show: a pg request, one waterfall line per query with its command tag or error', async (t) => {
  const database = await createDatabase(
    t,
    `
    CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE NOT NULL, created_at timestamptz NOT NULL, balance numeric(12,2) NOT NULL);
    INSERT INTO users (name, email, created_at, balance) VALUES ('Ann', 'ann@example.com', now(), 100), ('Bob', 'bob@example.com', now(), 20);`,
  );
  const dir = tempDir(t);
  const app = await startApp(t, path.join(APPS, 'pg-app.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: database.url },
  });
  await request(`${app.url}/transfer`, { method: 'POST' });
  await request(`${app.url}/duplicate`);
  const files = await app.cassettes(2);
  await app.stop();

  const transfer = await timetracer(['show', files.find((f) => f.includes('transfer'))]);
  const calls = transfer.lines.filter((line) => WATERFALL_BAR.test(line)).map((line) => line.split(/\|[ █]{30}\| +[\d.]+m?s {2}/)[1]);
  assert.deepEqual(calls, [
    'db.query  BEGIN []  BEGIN',
    'db.query  UPDATE users SET balance = balance - $1 WHERE id = $2 ["10.25","1"]  UPDATE 1',
    'db.query  UPDATE users SET balance = balance + $1 WHERE id = $2 ["10.25","2"]  UPDATE 1',
    'db.query  SELECT id, balance FROM users ORDER BY id []  SELECT 2',
    'db.query  COMMIT []  COMMIT',
  ]);
  const duplicate = await timetracer(['show', files.find((f) => f.includes('duplicate'))]);
  assert.match(
    duplicate.stdout,
    /^ +\+.* db\.query {2}INSERT INTO users .* 23505 duplicate key value violates unique constraint "users_email_key"$/m,
  );
});

test('diff: a cassette against itself is the same, exit 0', async () => {
  const same = await timetracer(['diff', recorded.ann, recorded.ann]);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.lines.at(-1), 'Same: status, headers, body and 1 dependency call.');
});

test('diff: the same route with a different upstream answer names the body field and the changed call, exit 1', async () => {
  const different = await timetracer(['diff', recorded.ann, recorded.anna]);
  assert.equal(different.code, 1, different.stderr);
  const report = different.lines.slice(2);
  assert.deepEqual(
    report,
    [
      'body.name: "Ann" → "Anna"',
      `changed call (eid 1 → 1): http.client GET ${recorded.upstream}/items/1`,
      '    result.body.name: "Ann" → "Anna"',
      '2 differences',
    ],
    'date and content-length headers, and the call timings, are not differences',
  );

  const json = JSON.parse((await timetracer(['diff', recorded.ann, recorded.anna, '--json'])).stdout);
  assert.equal(json.same, false);
  assert.deepEqual(json.differences, [
    { kind: 'body', path: 'body.name', a: 'Ann', b: 'Anna' },
    {
      kind: 'call.changed',
      call: `http.client GET ${recorded.upstream}/items/1`,
      eid_a: 1,
      eid_b: 1,
      changes: [{ path: 'result.body.name', a: 'Ann', b: 'Anna' }],
    },
  ]);
});

test('diff --ignore: a field by name at any depth, or by path; repeatable or comma-separated', async () => {
  assert.equal((await timetracer(['diff', recorded.ann, recorded.anna, '--ignore', 'name'])).code, 0);
  const byPath = await timetracer(['diff', recorded.ann, recorded.anna, '--ignore', 'body.name', '--json']);
  assert.equal(byPath.code, 1);
  assert.deepEqual(
    JSON.parse(byPath.stdout).differences.map((d) => d.kind),
    ['call.changed'],
    'the call result still differs',
  );
  assert.equal((await timetracer(['diff', recorded.ann, recorded.anna, '--ignore', 'body.name,result.body.name'])).code, 0);
  assert.equal((await timetracer(['diff', recorded.ann, recorded.anna, '--ignore', 'body.name', '--ignore', 'result.body.name'])).code, 0);
});

test('diff: different requests say so, with the calls added and removed', async () => {
  const result = await timetracer(['diff', recorded.ann, recorded.post]);
  assert.equal(result.code, 1);
  assert.ok(result.lines.includes('request: "GET /via-http/1" → "POST /echo"'), result.stdout);
  assert.ok(result.lines.includes(`added call (b only, eid 1): http.client POST ${recorded.upstream}/echo`), result.stdout);
  assert.ok(result.lines.includes(`removed call (a only, eid 1): http.client GET ${recorded.upstream}/items/1`), result.stdout);
});

test('diff: a replayed request against the cassette it was replayed from', async (t) => {
  const replayDir = tempDir(t);
  const replaying = await startApp(t, PLAIN_APP, {
    env: {
      TIMETRACER_MODE: 'replay',
      TIMETRACER_CASSETTE: recorded.anna,
      TIMETRACER_REPLAY_DIR: replayDir,
      UPSTREAM_URL: recorded.upstream,
    },
  });
  await request(`${replaying.url}/via-http/1`);
  await replaying.waitForLine(/^ {2}replayed: /, 'stderr');
  await replaying.stop();
  const [replayed] = cassetteFiles(replayDir);

  const same = await timetracer(['diff', replayed]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.lines[0], new RegExp(`^a  GET /via-http/1 → 200  recorded \\S+  ${recorded.anna.replace(/[.]/g, '\\.')}$`));
  const against = await timetracer(['diff', recorded.ann, replayed]);
  assert.equal(against.code, 1);
  assert.ok(against.lines.includes('body.name: "Ann" → "Anna"'));
  assertOneLineError(await timetracer(['diff', recorded.ann]), /was not written by replay/);
});

test('prune --dry-run lists what would go and deletes nothing; --keep N keeps the newest N and nothing else is touched', async (t) => {
  const dir = copyOfRecorded(t);
  const outside = tempDir(t);
  const outsideCassette = path.join(outside, 'GET__elsewhere__0000aaaa.json');
  fs.copyFileSync(recorded.ann, outsideCassette);
  fs.symlinkSync(outsideCassette, path.join(dir, 'GET__linked__0000bbbb.json'));
  fs.symlinkSync(outside, path.join(dir, 'linked-folder'));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a cassette');
  const listed = JSON.parse((await timetracer(['list', '--dir', dir, '--json'])).stdout).map((s) => s.file);
  assert.equal(listed.length, 5, 'the links are not listed');
  const newest = listed[0];

  const dryRun = await timetracer(['prune', '--dir', dir, '--keep', '1', '--dry-run']);
  assert.equal(dryRun.code, 0, dryRun.stderr);
  assert.equal(dryRun.lines.filter((l) => l.startsWith('would remove ')).length, 4);
  assert.match(dryRun.lines.at(-1), /^Would remove 4 cassettes from .* \(dry run: nothing deleted\), keeping 1$/);
  for (const file of listed) assert.ok(fs.existsSync(path.join(dir, file)), `${file} is still there`);

  const pruned = await timetracer(['prune', '--dir', dir, '--keep', '1', '--json']);
  assert.equal(pruned.code, 0, pruned.stderr);
  const { removed, kept, dry_run: dryRunFlag } = JSON.parse(pruned.stdout);
  assert.deepEqual([removed.length, kept, dryRunFlag], [4, 1, false]);
  assert.ok(!removed.includes(newest));
  for (const file of removed) assert.ok(!fs.existsSync(path.join(dir, file)), `${file} is gone`);
  assert.ok(fs.existsSync(path.join(dir, newest)));
  for (const left of ['notes.txt', '.timetracer-catalog.jsonl', 'GET__linked__0000bbbb.json', 'linked-folder'])
    assert.ok(fs.lstatSync(path.join(dir, left)), `${left} is left`);
  assert.ok(fs.existsSync(outsideCassette), 'the cassette behind the link is left');
});

test('prune --older-than deletes cassettes recorded before then, and date folders left empty', async (t) => {
  const dir = copyOfRecorded(t);
  const old = [craftOld(dir, recorded.ann, 30, 'aaaa0001'), craftOld(dir, recorded.ann, 30, 'aaaa0002')];
  const recent = craftOld(dir, recorded.ann, 2, 'aaaa0003');
  const pruned = await timetracer(['prune', '--dir', dir, '--older-than', '7d']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.deepEqual(pruned.lines.slice(0, -1).sort(), old.map((f) => `removed ${path.relative(dir, f)}`).sort());
  assert.match(pruned.lines.at(-1), /^Removed 2 cassettes from .*, kept 6$/);
  assert.ok(!fs.existsSync(path.dirname(old[0])), 'the emptied date folder is removed');
  assert.ok(fs.existsSync(recent));
  assert.equal(cassetteFiles(dir).length, 6);
});

test('prune needs exactly one of --older-than and --keep', async (t) => {
  const dir = copyOfRecorded(t);
  assertOneLineError(await timetracer(['prune', '--dir', dir]), /exactly one of --older-than T and --keep N/);
  assertOneLineError(await timetracer(['prune', '--dir', dir, '--keep', '1', '--older-than', '7d']), /exactly one of/);
  assertOneLineError(await timetracer(['prune', '--dir', dir, '--older-than', 'soon']), /--older-than must be a duration/);
  assert.equal(cassetteFiles(dir).length, 5);
});

test('errors are one line on stderr starting with timetracer, a non-zero exit, no stack trace', async (t) => {
  const dir = tempDir(t);
  const corrupt = path.join(dir, 'GET__broken__0000cccc.json');
  fs.writeFileSync(corrupt, '{"schema_version": "1.0", "session": ');
  const notCassette = path.join(dir, 'GET__other__0000dddd.json');
  fs.writeFileSync(notCassette, '{"hello": "world"}\n');
  const badGzip = path.join(dir, 'GET__zipped__0000eeee.json.gz');
  fs.writeFileSync(badGzip, 'not gzip at all');

  assertOneLineError(await timetracer(['frobnicate']), /^timetracer: unknown command "frobnicate"/);
  assertOneLineError(await timetracer(['list', '--bogus']), /^timetracer list: Unknown option '--bogus'/);
  assertOneLineError(await timetracer(['diff', recorded.ann, recorded.anna, '--bogus']), /^timetracer diff: Unknown option '--bogus'/);
  assertOneLineError(await timetracer(['list', '--dir', path.join(dir, 'missing')]), /^timetracer list: no cassette directory at /);
  assertOneLineError(await timetracer(['list'], { cwd: dir }), /^timetracer list: no cassette directory at \.\/cassettes$/);
  assertOneLineError(
    await timetracer(['prune', '--keep', '1', '--dir', path.join(dir, 'missing')]),
    /^timetracer prune: no cassette directory at /,
  );
  assertOneLineError(await timetracer(['show', corrupt]), /^timetracer show: \S+GET__broken__0000cccc\.json is not valid JSON/);
  assertOneLineError(await timetracer(['show', notCassette]), /has schema_version undefined; this timetracer reads 1\.0$/);
  assertOneLineError(await timetracer(['show', badGzip]), /is not valid gzip$/);
  assertOneLineError(
    await timetracer(['show', 'nothing-here', '--dir', dir]),
    /^timetracer show: nothing-here: no such cassette file, and no cassette with that id or path in /,
  );
  assertOneLineError(await timetracer(['diff', recorded.ann, corrupt]), /^timetracer diff: \S+ is not valid JSON/);
  assertOneLineError(
    await timetracer(['diff', recorded.ann, path.join(dir, 'missing.json')]),
    /^timetracer diff: \S+missing\.json: no such cassette file/,
  );
  assertOneLineError(await timetracer(['show']), /^timetracer show: name one cassette/);
});
