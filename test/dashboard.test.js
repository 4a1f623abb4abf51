// `timetracer serve`: the dashboard over cassettes recorded from a real app, plus a gzip one, one
// whose path and bodies hold `<script>`, and a link to a cassette outside the directory; and a
// second one over a regression suite's cassettes and a real `timetracer replay` run of them. The
// API and its guards are tested over plain HTTP; the page in a real Chromium through playwright-core:
// the one the @sparticuz/chromium dev dependency ships, or TIMETRACER_TEST_CHROMIUM's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { browserPage } from './support/browser.js';
import { APPS, ROOT, cassetteFiles, readJson, request, startApp, startUpstream, tempDir } from './support/harness.js';

const SCRIPT = '<script>alert(1)</script>';
const MARKUP = `${SCRIPT}<img src=x onerror=alert(2)>`;
const CLI = path.join(ROOT, 'bin', 'timetracer.mjs');

/** What node:test's `t.after` gives the harness, for what every test here shares. */
const cleanups = [];
const shared = { after: (step) => cleanups.push(step) };
after(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

/** The fixture: a project folder with `cassettes/`, the dashboard serving it, and what it should show. */
let project;
let upstreamUrl;
let dashboard;
const files = {};

before(async () => {
  project = tempDir(shared, 'timetracer-dashboard-');
  const dir = path.join(project, 'cassettes');
  const upstream = await startUpstream(shared, (req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(req.url === '/echo' ? JSON.stringify({ echoed: JSON.parse(body) }) : JSON.stringify({ id: req.url.split('/')[2] }));
    });
  });
  upstreamUrl = upstream.url;

  const recording = await startApp(shared, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, UPSTREAM_URL: upstream.url },
  });
  await request(`${recording.url}/via-http/1`);
  await request(`${recording.url}/via-fetch/2`);
  await request(`${recording.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":3}' });
  await request(`${recording.url}/crash`);
  await request(`${recording.url}/nothing-here`);
  const recorded = await recording.cassettes(5);
  await recording.stop();
  for (const [name, part] of [
    ['viaHttp', 'via-http'],
    ['viaFetch', 'via-fetch'],
    ['echo', 'POST__echo'],
    ['crash', 'crash'],
    ['notFound', 'nothing-here'],
  ]) {
    files[name] = recorded.find((file) => file.includes(part));
  }

  const zipped = await startApp(shared, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, TIMETRACER_COMPRESSION: 'gzip', UPSTREAM_URL: upstream.url },
  });
  await request(`${zipped.url}/via-http/7`);
  [files.gzip] = await zipped.cassettes(1);
  await zipped.stop();
  assert.match(files.gzip, /\.json\.gz$/);

  // A cassette whose path, bodies, entry and file name hold markup.
  const crafted = readJson(files.viaHttp);
  crafted.session.id = 'c0ffee00';
  crafted.session.entry = `${SCRIPT}.js`;
  crafted.request.path = `/${SCRIPT}`;
  crafted.response.body.data = { html: MARKUP };
  crafted.events[0].result.body.data = { note: MARKUP };
  files.crafted = path.join(dir, '2026-01-01', `GET__${SCRIPT.replace(/\//g, '_')}__c0ffee00.json`);
  fs.mkdirSync(path.dirname(files.crafted), { recursive: true });
  fs.writeFileSync(files.crafted, `${JSON.stringify(crafted, null, 2)}\n`);

  // A process cassette (calls made outside requests): the recorded call, made at start-up and twice more.
  const recordedCall = readJson(files.viaHttp).events[0];
  files.process = path.join(dir, '2026-01-02', 'PROCESS__plain-http__0badcafe.json');
  fs.mkdirSync(path.dirname(files.process), { recursive: true });
  fs.writeFileSync(
    files.process,
    `${JSON.stringify(
      {
        schema_version: '1.0',
        session: {
          ...readJson(files.viaHttp).session,
          id: '0badcafe',
          kind: 'process',
          recorded_at: '2026-01-02T08:00:00.000Z',
          framework: 'process',
          pid: 4242,
        },
        request: null,
        response: null,
        events: [{ ...recordedCall, start_offset_ms: 120, repeats: 2 }],
        stats: { event_counts: { 'http.client': 1 }, total_ms: 60_000 },
      },
      null,
      2,
    )}\n`,
  );

  // A valid cassette outside the directory, reachable only through links inside it.
  const outside = path.join(project, 'outside');
  fs.mkdirSync(outside);
  const secret = readJson(files.viaFetch);
  secret.session.id = 'feedface';
  secret.request.path = '/outside-secret';
  files.outside = path.join(outside, 'GET__outside-secret__feedface.json');
  fs.writeFileSync(files.outside, JSON.stringify(secret));
  fs.symlinkSync(files.outside, path.join(dir, '2026-01-01', 'GET__outside-secret__feedface.json'));
  fs.symlinkSync(outside, path.join(dir, 'linked-folder'));

  dashboard = await startDashboard(project);
  assert.equal(dashboard.cassettes, 8, 'five recorded, one gzip, one crafted, one process cassette; the linked one is not listed');
});

/** `timetracer serve --dir cassettes` started in `cwd`, on a free port: its url, port, and the cassettes it found. */
async function startDashboard(cwd) {
  const server = await startApp(shared, CLI, {
    register: false,
    waitForPort: false,
    cwd,
    args: ['serve', '--dir', 'cassettes', '--port', '0'],
  });
  const line = await server.waitForLine(/^timetracer dashboard: /, 'stdout');
  const match = /^timetracer dashboard: (http:\/\/127\.0\.0\.1:(\d+)\/) \((\d+) cassettes in cassettes\)$/.exec(line);
  assert.ok(match, line);
  return Object.assign(server, { url: match[1], port: Number(match[2]), cassettes: Number(match[3]) });
}

/** The file's key in the API and the page: its path relative to the directory. */
function keyOf(file) {
  return path.relative(path.join(project, 'cassettes'), file).split(path.sep).join('/');
}

function expectedCommand(file, entry = 'test/apps/plain-http.mjs') {
  return `TIMETRACER_MODE=replay TIMETRACER_CASSETTE=cassettes/${keyOf(file)} node --import timetracer/register ${entry}`;
}

/** A GET sent as written: node:http keeps `..` and escapes in the target as they are. */
function rawGet(target, headers = {}, port = dashboard.port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      })
      .on('error', reject);
  });
}

async function api(query) {
  const response = await request(`${dashboard.url}api/cassettes?${new URLSearchParams(query)}`);
  assert.equal(response.status, 200, response.text);
  return response.json();
}

test('the list: totals, newest first, search, method and status filters, pages', async () => {
  const all = await api({});
  assert.equal(all.total, 8);
  assert.equal(all.matched, 8);
  assert.deepEqual(all.totals, { requests: 7, success: 6, errors: 1 }, 'a process cassette is not a request');
  assert.equal(all.dir, 'cassettes');
  const times = all.items.map((item) => item.recorded_at);
  assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
  const viaHttp = all.items.find((item) => item.file === keyOf(files.viaHttp));
  assert.deepEqual(
    { kind: viaHttp.kind, method: viaHttp.method, path: viaHttp.path, status: viaHttp.status, events: viaHttp.events },
    { kind: 'request', method: 'GET', path: '/via-http/1', status: 200, events: { 'http.client': 1 } },
  );
  const processItem = all.items.find((item) => item.file === keyOf(files.process));
  assert.deepEqual(
    { kind: processItem.kind, method: processItem.method, duration_ms: processItem.duration_ms, failed: processItem.failed },
    { kind: 'process', method: 'PROCESS', duration_ms: 60_000, failed: false },
  );
  assert.deepEqual(
    (await api({ status: 'none' })).items.map((i) => i.path),
    [],
    'a process cassette has no status to filter on',
  );

  assert.deepEqual(
    (await api({ q: 'VIA-FETCH' })).items.map((i) => i.path),
    ['/via-fetch/2'],
  );
  assert.deepEqual(
    (await api({ method: 'post' })).items.map((i) => i.path),
    ['/echo'],
  );
  assert.deepEqual(
    (await api({ status: '5xx' })).items.map((i) => i.path),
    ['/crash'],
  );
  assert.deepEqual(
    (await api({ status: '404' })).items.map((i) => i.path),
    ['/nothing-here'],
  );
  assert.deepEqual(
    (await api({ status: 'error' })).items.map((i) => i.path),
    ['/crash'],
  );
  assert.deepEqual((await api({ q: '/via-http/', method: 'GET', status: '2xx' })).items.map((i) => i.path).sort(), [
    '/via-http/1',
    '/via-http/7',
  ]);

  const first = await api({ limit: 3 });
  const second = await api({ limit: 3, offset: 3 });
  assert.equal(first.matched, 8);
  assert.deepEqual(
    [...first.items, ...second.items].map((i) => i.file),
    all.items.slice(0, 6).map((i) => i.file),
  );
  assert.equal((await api({ limit: 3, offset: 6 })).items.length, 2);
});

test('bad query values are a 400 with a one-line JSON message', async () => {
  for (const query of ['limit=0', 'limit=501', 'limit=abc', 'offset=-1', 'status=teapot', 'method=G%20T']) {
    const response = await request(`${dashboard.url}api/cassettes?${query}`);
    assert.equal(response.status, 400, query);
    const { error } = response.json();
    assert.match(error, /^[^\n]+$/, query);
    assert.doesNotMatch(error, /\bat .*\.js:\d+/, 'no stack');
  }
});

test('a cassette: as written, with its file and the command that replays it; gzip ones alike', async () => {
  for (const key of [encodeURIComponent(keyOf(files.viaHttp)), readJson(files.viaHttp).session.id]) {
    const response = await request(`${dashboard.url}api/cassettes/${key}`);
    assert.equal(response.status, 200);
    const detail = response.json();
    assert.equal(detail.file, keyOf(files.viaHttp));
    assert.deepEqual(detail.cassette, readJson(files.viaHttp));
    assert.equal(detail.replay_command, expectedCommand(files.viaHttp));
  }
  const zipped = (await request(`${dashboard.url}api/cassettes/${encodeURIComponent(keyOf(files.gzip))}`)).json();
  assert.deepEqual(zipped.cassette, JSON.parse(zlib.gunzipSync(fs.readFileSync(files.gzip)).toString('utf8')));
  assert.equal(zipped.cassette.request.path, '/via-http/7');
  assert.equal(zipped.replay_command, expectedCommand(files.gzip));
});

test('only files inside the directory are ever read: traversal in every spelling, and links, answer 404', async () => {
  const outsideKey = path.relative(path.join(project, 'cassettes'), files.outside);
  const targets = [
    '/api/cassettes/..%2F..%2Fetc%2Fpasswd',
    '/api/cassettes/%2e%2e%2f%2e%2e%2fpackage.json',
    '/api/cassettes/..%252F..%252Fpackage.json',
    '/api/cassettes/..%5C..%5Cpackage.json',
    '/api/cassettes/%2Fetc%2Fpasswd',
    '/api/cassettes/%E0%A4%A',
    `/api/cassettes/${encodeURIComponent(outsideKey)}`,
    `/api/cassettes/${encodeURIComponent(files.outside)}`,
    '/api/cassettes/feedface',
    `/api/cassettes/${encodeURIComponent('2026-01-01/GET__outside-secret__feedface.json')}`,
    `/api/cassettes/${encodeURIComponent('linked-folder/GET__outside-secret__feedface.json')}`,
    '/api/cassettes/../../package.json',
    '/../package.json',
    '/../../../../etc/passwd',
    '/static/../../package.json',
    '/static/..%2f..%2fpackage.json',
    '/static/%2e%2e/%2e%2e/package.json',
    '/static/',
    '/package.json',
    '/dashboard/app.js',
  ];
  for (const target of targets) {
    const response = await rawGet(target);
    assert.equal(response.status, 404, target);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8', target);
    assert.ok(JSON.parse(response.text).error, target);
    assert.doesNotMatch(response.text, /root:|"name": ?"timetracer"|outside-secret|devDependencies/, target);
  }
  assert.equal((await api({ q: 'outside-secret' })).matched, 0, 'a linked cassette is not listed');
  // The page's own files are served, from the fixed list.
  assert.equal((await rawGet('/static/app.js')).status, 200);
});

test("recorded markup comes back as data, under a policy that runs only the page's own files", async () => {
  const listed = await api({ q: 'script' });
  assert.deepEqual(
    listed.items.map((i) => i.path),
    [`/${SCRIPT}`],
  );
  const response = await rawGet(`/api/cassettes/${encodeURIComponent(keyOf(files.crafted))}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(response.headers['x-content-type-options'], 'nosniff');
  assert.match(response.headers['content-security-policy'], /^default-src 'self'(;|$)/);
  const detail = JSON.parse(response.text);
  assert.equal(detail.cassette.response.body.data.html, MARKUP);
  // Both words come from the file: quoted, a pasted command runs nothing but node.
  assert.equal(
    detail.replay_command,
    `TIMETRACER_MODE=replay TIMETRACER_CASSETTE='cassettes/${keyOf(files.crafted)}' node --import timetracer/register '${SCRIPT}.js'`,
  );

  const page = await rawGet('/');
  assert.equal(page.status, 200);
  assert.match(page.headers['content-security-policy'], /^default-src 'self'/);
  assert.doesNotMatch(page.text, /<script>|<script [^>]*>[^<]/, 'no inline script');
});

test('requests named for another host (DNS rebinding), and methods other than GET, are refused', async () => {
  const rebound = await rawGet('/api/cassettes', { host: `attacker.example:${dashboard.port}` });
  assert.equal(rebound.status, 403);
  assert.doesNotMatch(rebound.text, /via-http/);
  assert.equal((await rawGet('/api/cassettes', { host: `localhost:${dashboard.port}` })).status, 200);
  const posted = await request(`${dashboard.url}api/cassettes`, { method: 'POST', body: '{}' });
  assert.equal(posted.status, 405);
});

test("the page in Chromium: totals, search, filters, a cassette's waterfall, raw JSON and replay command", async (t) => {
  const { context, page, dialogs, pageErrors } = await browserPage(t);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dashboard.url.replace(/\/$/, '') });
  const screenshots = fs.mkdtempSync(path.join(os.tmpdir(), 'timetracer-dashboard-screenshots-'));

  const showing = (text) => page.waitForFunction((expected) => document.getElementById('showing').textContent === expected, text);
  const paths = () => page.$$eval('#rows .path', (cells) => cells.map((cell) => cell.textContent));
  // Waits for these rows: after one filter showing one row, the next may show one row too.
  const listed = (expected) =>
    page.waitForFunction(
      (want) => JSON.stringify([...document.querySelectorAll('#rows .path')].map((cell) => cell.textContent)) === want,
      JSON.stringify(expected),
    );

  await page.goto(dashboard.url);
  await showing('Showing 8 of 8 cassettes');
  assert.deepEqual(await page.$$eval('.card-value', (cards) => cards.map((c) => c.textContent)), ['7', '6', '1']);
  assert.equal((await paths()).length, 8);
  assert.ok((await paths()).includes('calls made outside requests'), 'the process cassette has a row of its own');
  await page.screenshot({ path: path.join(screenshots, 'list.png') });

  await page.fill('#search', 'via-fetch');
  await showing('Showing 1 of 8 cassettes');
  await listed(['/via-fetch/2']);
  assert.deepEqual(await paths(), ['/via-fetch/2']);
  await page.fill('#search', '');
  await showing('Showing 8 of 8 cassettes');

  await page.selectOption('#method-filter', 'POST');
  await showing('Showing 1 of 8 cassettes');
  await listed(['/echo']);
  assert.deepEqual(await paths(), ['/echo']);
  await page.selectOption('#method-filter', '');
  await page.selectOption('#status-filter', '5xx');
  await showing('Showing 1 of 8 cassettes');
  await listed(['/crash']);
  assert.deepEqual(await paths(), ['/crash']);
  await page.selectOption('#status-filter', '4xx');
  await showing('Showing 1 of 8 cassettes');
  await listed(['/nothing-here']);
  assert.deepEqual(await paths(), ['/nothing-here']);
  await page.selectOption('#status-filter', '');
  await showing('Showing 8 of 8 cassettes');

  // The crafted cassette's markup is text in the table, never elements.
  await page.fill('#search', 'script');
  await showing('Showing 1 of 8 cassettes');
  assert.deepEqual(await paths(), [`/${SCRIPT}`]);
  assert.equal(await page.$$eval('#rows script, #rows img', (nodes) => nodes.length), 0);
  await page.fill('#search', '');
  await showing('Showing 8 of 8 cassettes');

  // A cassette: its dependency call on the waterfall, expandable, the raw JSON, the replay command.
  await page.click(`#rows tr:has(.path:text-is("/via-http/1")) a.button`);
  await page.waitForSelector('.waterfall details.wf-call');
  assert.equal(await page.textContent('.detail-head h1 .path'), '/via-http/1');
  const calls = await page.$$eval('details.wf-call', (rows) =>
    rows.map((row) => ({
      signature: row.querySelector('.wf-signature').textContent,
      barWidth: row.querySelector('.wf-bar').getBoundingClientRect().width,
      outcome: row.querySelector('.wf-outcome').textContent,
    })),
  );
  assert.equal(calls.length, 1);
  assert.equal(calls[0].signature, `GET ${upstreamUrl}/items/1`);
  assert.ok(calls[0].barWidth >= 3, `the bar is drawn (${calls[0].barWidth}px)`);
  assert.equal(calls[0].outcome, '200');
  await page.click('details.wf-call > summary');
  await page.waitForSelector('details.wf-call[open] .wf-body pre');
  assert.match(await page.textContent('details.wf-call .wf-body'), /"id": "1"/, "the call's result body");

  await page.click('details.raw > summary');
  await page.waitForFunction(() => document.querySelector('.raw-json').textContent.length > 0);
  assert.deepEqual(JSON.parse(await page.textContent('.raw-json')), readJson(files.viaHttp));

  await page.click('#copy-replay');
  await page.waitForFunction(() => document.getElementById('copy-replay').textContent === 'Copied ✓');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, expectedCommand(files.viaHttp));
  assert.equal(await page.textContent('#replay-command'), copied);
  await page.screenshot({ path: path.join(screenshots, 'detail.png'), fullPage: true });

  // The process cassette: its calls over the process's run, the repeats counted.
  await page.click('a.back');
  await page.click(`#rows tr.process a.button`);
  await page.waitForSelector('.waterfall details.wf-call');
  assert.equal(await page.textContent('.detail-head h1 .path'), 'Calls made outside requests');
  assert.match(await page.textContent('#detail-view'), /1 call, and 2 repeats counted/);
  assert.equal(
    await page.$$eval('details.wf-call .wf-signature', (rows) => rows.map((row) => row.textContent).join()),
    `GET ${upstreamUrl}/items/1`,
  );

  // Back to the list, then the crafted cassette's detail: its markup shows as text.
  await page.click('a.back');
  await showing('Showing 8 of 8 cassettes');
  await page.goto(`${dashboard.url}#/cassette/${encodeURIComponent(keyOf(files.crafted))}`);
  await page.waitForSelector('.waterfall details.wf-call');
  assert.equal(await page.textContent('.detail-head h1 .path'), `/${SCRIPT}`);
  assert.match(await page.textContent('#detail-view'), /<img src=x onerror=alert\(2\)>/);
  await page.click('details.raw > summary');
  await page.waitForFunction(() => document.querySelector('.raw-json').textContent.includes('onerror'));
  assert.equal(await page.$$eval('#detail-view script, #detail-view img', (nodes) => nodes.length), 0);
  assert.deepEqual(dialogs, [], 'no dialog opened');
  assert.deepEqual(pageErrors, [], 'no error in the page');

  t.diagnostic(`screenshot: ${path.join(screenshots, 'list.png')}`);
  t.diagnostic(`screenshot: ${path.join(screenshots, 'detail.png')}`);
});

/**
 * The second fixture: a regression suite (test/apps/suite-app.mjs) recorded against a live API,
 * `/summary` three times, `/profile` twice (the second time the API answered garbage, and the app
 * a 502), `/price` once; then a real `timetracer replay` of them against the app changed to double
 * its prices, so `/price` fails. Beside that run: links and folders planted to lead outside.
 */
const SUITE_APP = path.join(APPS, 'suite-app.mjs');
const suite = {};

before(async () => {
  suite.project = tempDir(shared, 'timetracer-dashboard-runs-');
  suite.dir = path.join(suite.project, 'cassettes');
  let garbled = false;
  const upstream = await startUpstream(shared, (req, res) => {
    const items = { '/items/1': { id: 1, price: 10 }, '/items/2': { id: 2, price: 5 }, '/users/1': { name: 'Ann' } };
    res.setHeader('content-type', 'application/json');
    res.end(garbled ? 'not json' : JSON.stringify(items[req.url] ?? {}));
  });
  const recording = await startApp(shared, SUITE_APP, {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: suite.dir, UPSTREAM_URL: upstream.url },
  });
  for (const route of ['/summary', '/price', '/summary', '/profile', '/summary'])
    assert.equal((await request(`${recording.url}${route}`)).status, 200, route);
  garbled = true;
  assert.equal((await request(`${recording.url}/profile`)).status, 502);
  await recording.cassettes(6);
  await recording.stop();

  const replay = await startApp(shared, CLI, {
    register: false,
    waitForPort: false,
    args: ['replay', suite.dir, '--', process.execPath, SUITE_APP],
    env: { NO_COLOR: '1', VARIANT: 'changed-response', UPSTREAM_URL: upstream.url },
  });
  assert.equal((await replay.exited).code, 1, [...replay.stdout, ...replay.stderr].join('\n'));
  const runs = path.join(suite.dir, '.timetracer-runs');
  [suite.runId] = fs.readdirSync(runs);
  suite.runFolder = path.join(runs, suite.runId);
  suite.report = readJson(path.join(suite.runFolder, 'report.json'));
  suite.price = suite.report.results.find((result) => result.request === 'GET /price');
  suite.profile = suite.report.results.find((result) => result.request === 'GET /profile');

  // Outside the directory: a valid cassette, and a copy of the run.
  const outside = path.join(suite.project, 'outside');
  fs.mkdirSync(outside);
  const secret = readJson(path.join(suite.runFolder, suite.profile.replayed));
  secret.request.path = '/outside-secret';
  suite.outsideCassette = path.join(outside, 'GET__outside-secret__feedface.json');
  fs.writeFileSync(suite.outsideCassette, JSON.stringify(secret));
  fs.cpSync(suite.runFolder, path.join(outside, 'run'), { recursive: true });
  // A replayed cassette the report names, swapped for a link out; a link the report does not name.
  fs.rmSync(path.join(suite.runFolder, suite.profile.replayed));
  fs.symlinkSync(suite.outsideCassette, path.join(suite.runFolder, suite.profile.replayed));
  fs.symlinkSync(suite.outsideCassette, path.join(suite.runFolder, 'planted.json'));
  // An older finished run whose day folder is a link out; a linked run folder; a run whose report
  // is a link; a run still going (no report yet).
  suite.olderRun = '2000-01-01T00-00-00-000Z';
  fs.mkdirSync(path.join(runs, suite.olderRun));
  fs.writeFileSync(
    path.join(runs, suite.olderRun, 'report.json'),
    JSON.stringify({ ...suite.report, started_at: '2000-01-01T00:00:00.000Z', finished_at: '2000-01-01T00:00:01.000Z' }),
  );
  fs.symlinkSync(
    path.join(outside, 'run', path.dirname(suite.price.replayed)),
    path.join(runs, suite.olderRun, path.dirname(suite.price.replayed)),
  );
  fs.symlinkSync(path.join(outside, 'run'), path.join(runs, 'linked-run'));
  fs.mkdirSync(path.join(runs, '2098-01-01T00-00-00-000Z'));
  fs.symlinkSync(path.join(outside, 'run', 'report.json'), path.join(runs, '2098-01-01T00-00-00-000Z', 'report.json'));
  fs.cpSync(path.join(outside, 'run'), path.join(runs, '2099-01-01T00-00-00-000Z'), { recursive: true });
  fs.rmSync(path.join(runs, '2099-01-01T00-00-00-000Z', 'report.json'));

  suite.dashboard = await startDashboard(suite.project);
  assert.equal(suite.dashboard.cassettes, 6, "the runs' replayed cassettes are not recordings");
});

async function suiteJson(target) {
  const response = await rawGet(target, {}, suite.dashboard.port);
  assert.equal(response.status, 200, `${target}: ${response.text}`);
  return JSON.parse(response.text);
}

test("replay runs: the finished ones listed with their counts, a run's report with its differences as the CLI prints them", async () => {
  const { runs, dir } = await suiteJson('/api/runs');
  assert.equal(dir, 'cassettes');
  const listed = { passed: 5, failed: 1, command: [process.execPath, SUITE_APP] };
  assert.deepEqual(
    runs,
    [
      { id: suite.runId, started_at: suite.report.started_at, finished_at: suite.report.finished_at, ...listed },
      { id: suite.olderRun, started_at: '2000-01-01T00:00:00.000Z', finished_at: '2000-01-01T00:00:01.000Z', ...listed },
    ],
    'newest first; a linked run folder, a report that is a link and a run with no report yet are not listed',
  );

  const detail = await suiteJson(`/api/runs/${encodeURIComponent(suite.runId)}`);
  assert.equal(detail.id, suite.runId);
  assert.deepEqual(detail.report, suite.report, 'the report as written');
  assert.equal(detail.shown.results.length, suite.report.results.length);
  const priceAt = suite.report.results.indexOf(suite.price);
  assert.deepEqual(detail.shown.results[priceAt], { failures: [{ kind: 'body', lines: ['body.price: 10 → 20'] }], allowed: [] });
  assert.deepEqual(
    detail.shown.results.filter((_, i) => i !== priceAt).flatMap((shown) => [...shown.failures, ...shown.allowed]),
    [],
  );
  assert.deepEqual(suite.report.results.map((result) => [result.request, result.passed, result.status.replayed]).sort(), [
    ['GET /price', false, 200],
    ['GET /profile', true, 200],
    ['GET /profile', true, 502],
    ['GET /summary', true, 200],
    ['GET /summary', true, 200],
    ['GET /summary', true, 200],
  ]);
});

test('a replayed cassette is served as written, named as the report names it; nothing else in or out of the run folder is', async () => {
  const expected = readJson(path.join(suite.runFolder, suite.price.replayed));
  for (const spelling of [encodeURIComponent(suite.price.replayed), suite.price.replayed.split('/').map(encodeURIComponent).join('/')]) {
    const replayed = await suiteJson(`/api/runs/${encodeURIComponent(suite.runId)}/replayed/${spelling}`);
    assert.deepEqual(replayed, { file: suite.price.replayed, run: suite.runId, recorded: suite.price.file, cassette: expected });
  }
  assert.equal(expected.response.body.data.price, 20, 'the replay of the changed app');

  const run = `/api/runs/${encodeURIComponent(suite.runId)}`;
  const targets = [
    `${run}/replayed/${encodeURIComponent(`../../${suite.price.file}`)}`,
    `${run}/replayed/../../${suite.price.file}`,
    `${run}/replayed/%2e%2e%2f%2e%2e%2f${encodeURIComponent(suite.price.file)}`,
    `${run}/replayed/${encodeURIComponent(path.join(suite.runFolder, suite.price.replayed))}`,
    `${run}/replayed/${encodeURIComponent(suite.profile.replayed)}`,
    `${run}/replayed/planted.json`,
    `${run}/replayed/report.json`,
    `${run}/replayed/%E0%A4%A`,
    `${run}/report.json`,
    `${run}%2F..%2F..%2F${encodeURIComponent(suite.price.file)}`,
    '/api/runs/..%2F..%2Fcassettes',
    '/api/runs/..',
    `/api/runs/${encodeURIComponent(suite.runFolder)}`,
    `/api/runs/${suite.olderRun}/replayed/${encodeURIComponent(suite.price.replayed)}`,
    '/api/runs/linked-run',
    `/api/runs/linked-run/replayed/${encodeURIComponent(suite.price.replayed)}`,
    '/api/runs/2098-01-01T00-00-00-000Z',
    '/api/runs/2099-01-01T00-00-00-000Z',
    `/api/runs/2099-01-01T00-00-00-000Z/replayed/${encodeURIComponent(suite.price.replayed)}`,
    '/api/runs/%E0%A4%A',
    '/api/runs/',
  ];
  for (const target of targets) {
    const response = await rawGet(target, {}, suite.dashboard.port);
    assert.equal(response.status, 404, target);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8', target);
    assert.match(JSON.parse(response.text).error, /^no such|^not found$/, target);
    assert.doesNotMatch(response.text, /outside-secret|"schema_version"|"results"/, target);
  }
});

/** What /api/routes should say of `dir`, worked out from the cassette files themselves. */
function expectedRoutes(dir) {
  const root = fs.realpathSync(dir);
  const groups = new Map();
  for (const file of cassetteFiles(dir)) {
    // The catalog reads no links: a linked file, or one in a linked folder, is not a recording of this directory.
    if (fs.realpathSync(file) !== path.join(root, path.relative(dir, file))) continue;
    const bytes = fs.readFileSync(file);
    const cassette = JSON.parse((file.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes).toString('utf8'));
    if (!cassette.request) continue;
    const key = `${cassette.request.method} ${cassette.request.route ?? cassette.request.path}`;
    const group = groups.get(key) ?? { count: 0, errors: 0, durations: [], calls: {} };
    group.count++;
    if (cassette.response.status >= 500 || cassette.response.status === 0 || cassette.response.error) group.errors++;
    group.durations.push(cassette.response.duration_ms);
    for (const event of cassette.events) group.calls[event.type] = (group.calls[event.type] ?? 0) + 1;
    groups.set(key, group);
  }
  // Nearest rank: the smallest duration with at least p% of the requests at or below it.
  const nearestRank = (values, p) => [...values].sort((a, b) => a - b)[Math.ceil((p / 100) * values.length) - 1];
  return new Map(
    [...groups].map(([key, group]) => [
      key,
      {
        count: group.count,
        errors: group.errors,
        p50_ms: nearestRank(group.durations, 50),
        p95_ms: nearestRank(group.durations, 95),
        calls_per_request: Object.fromEntries(Object.entries(group.calls).map(([type, n]) => [type, n / group.count])),
      },
    ]),
  );
}

function assertRoutes(answer, expected) {
  assert.deepEqual(answer.routes.map((route) => route.key).sort(), [...expected.keys()].sort());
  const counts = answer.routes.map((route) => route.count);
  assert.deepEqual(
    counts,
    [...counts].sort((a, b) => b - a),
    'most requests first',
  );
  for (const route of answer.routes) {
    const { key, count, errors, p50_ms, p95_ms, calls_per_request } = route;
    assert.deepEqual({ count, errors, p50_ms, p95_ms, calls_per_request }, expected.get(key), key);
    assert.equal(key, `${route.method} ${route.route}`);
    assert.equal(route.error_rate, errors / count, key);
    assert.equal(route.timeline.requests.length, answer.timeline.requests.length, `${key}: the same time slices as the overall chart`);
    assert.equal(
      route.timeline.requests.reduce((a, b) => a + b),
      count,
      `${key}: every request in a slice`,
    );
    assert.equal(
      route.timeline.errors.reduce((a, b) => a + b),
      errors,
      key,
    );
  }
  const all = [...expected.values()];
  assert.equal(
    answer.requests,
    all.reduce((n, route) => n + route.count, 0),
  );
  assert.equal(
    answer.errors,
    all.reduce((n, route) => n + route.errors, 0),
  );
  assert.equal(
    answer.timeline.requests.reduce((a, b) => a + b),
    answer.requests,
  );
  assert.equal(
    answer.timeline.errors.reduce((a, b) => a + b),
    answer.errors,
  );
}

test('routes: requests grouped by method and route, with counts, errors, p50 and p95 and calls as the cassettes hold them', async () => {
  const suiteRoutes = await suiteJson('/api/routes');
  assertRoutes(suiteRoutes, expectedRoutes(suite.dir));
  assert.deepEqual(
    suiteRoutes.routes.map(({ key, count, errors }) => [key, count, errors]),
    [
      ['GET /summary', 3, 0],
      ['GET /profile', 2, 1],
      ['GET /price', 1, 0],
    ],
  );
  assert.deepEqual(
    suiteRoutes.routes.map((route) => route.calls_per_request),
    [{ 'http.client': 2 }, { 'http.client': 1 }, { 'http.client': 1 }],
  );
  const { span } = suiteRoutes;
  assert.ok(
    Date.parse(span.from) <= Date.parse(span.to) &&
      span.bucket_ms === (Date.parse(span.to) - Date.parse(span.from)) / suiteRoutes.timeline.requests.length,
    JSON.stringify(span),
  );

  const fixture = (await request(`${dashboard.url}api/routes`)).json();
  assertRoutes(fixture, expectedRoutes(path.join(project, 'cassettes')));
  assert.equal(fixture.routes.length, 7, 'one a request path (no framework gave a template); the process cassette is not a request');
  assert.deepEqual(
    fixture.routes.filter((route) => route.errors).map((route) => route.key),
    ['GET /crash'],
  );
  assert.deepEqual([fixture.requests, fixture.errors], [7, 1]);

  const searched = (await request(`${dashboard.url}api/routes?q=VIA-HTTP`)).json();
  assert.deepEqual(
    searched.routes.map((route) => route.key),
    ['GET /via-http/1', 'GET /via-http/7'],
    "the list's search; equal counts by name",
  );
  const none = (await request(`${dashboard.url}api/routes?q=${encodeURIComponent('no such thing')}`)).json();
  assert.deepEqual([none.requests, none.routes, none.span.from, none.timeline.requests], [0, [], null, []]);
});

test('the runs view in Chromium: the run, its failing request first with what differed, links to the recording and the replay', async (t) => {
  const { page, dialogs, pageErrors } = await browserPage(t);
  await page.goto(suite.dashboard.url);
  await page.click('#tab-runs');
  await page.waitForSelector('#run-rows tr');
  const runRows = await page.$$eval('#run-rows tr', (rows) =>
    rows.map((row) => ({
      result: row.querySelector('.col-outcome').textContent,
      command: row.querySelector('.col-command').textContent,
      failed: row.classList.contains('failed'),
    })),
  );
  assert.equal(runRows.length, 2);
  assert.deepEqual(runRows[0], { result: '5 passed / 1 failed', command: `${process.execPath} ${SUITE_APP}`, failed: true });

  await page.click('#run-rows tr:first-child');
  await page.waitForSelector('#result-rows tr');
  const results = await page.$$eval('#result-rows > tr:not(.result-detail)', (rows) =>
    rows.map((row) => [row.querySelector('.verdict').textContent, row.querySelector('.col-request .path').textContent]),
  );
  assert.deepEqual(results[0], ['FAIL', '/price'], 'the failure first');
  assert.deepEqual(
    results.map(([verdict]) => verdict),
    ['FAIL', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS'],
  );
  assert.deepEqual(await page.$$eval('tr.result-detail.failed .difference', (lines) => lines.map((line) => line.textContent)), [
    'body.price: 10 → 20',
  ]);
  assert.equal(
    await page.$eval('#result-rows tr.failed .verdict', (verdict) => getComputedStyle(verdict).backgroundColor),
    'rgb(194, 38, 43)',
    'in red',
  );

  await page.click('#result-rows tr.failed a.replayed-link');
  await page.waitForSelector('.replayed-from');
  assert.equal(await page.textContent('.detail-head h1 .path'), '/price');
  assert.match(await page.textContent('#detail-view'), /"price": 20/);

  await page.click('a.back');
  await page.waitForSelector('#result-rows tr.failed a.recorded-link');
  await page.click('#result-rows tr.failed a.recorded-link');
  await page.waitForSelector('#replay-command');
  assert.equal(await page.textContent('.detail-head h1 .path'), '/price');
  assert.match(await page.textContent('#detail-view'), /"price": 10/);
  assert.ok(
    (await page.$$eval('.fact dd', (facts) => facts.map((fact) => fact.textContent))).includes(suite.price.file),
    'the recorded cassette',
  );
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
});

test("the routes view in Chromium: a row per route, charts drawn, recorded markup as text, a click lists the route's cassettes", async (t) => {
  const { page, dialogs, pageErrors } = await browserPage(t);
  await page.goto(dashboard.url);
  await page.waitForSelector('#rows tr');
  await page.click('#tab-routes');
  await page.waitForSelector('#route-rows tr');
  const routes = (await request(`${dashboard.url}api/routes`)).json().routes;
  const rows = await page.$$eval('#route-rows tr', (trs) =>
    trs.map((tr) => `${tr.querySelector('.method').textContent} ${tr.querySelector('.col-route .path').textContent}`),
  );
  assert.deepEqual(
    rows,
    routes.map((route) => route.key),
  );
  assert.ok(rows.includes(`GET /${SCRIPT}`), 'the crafted path, as text');
  assert.equal(await page.$$eval('#routes-view script, #routes-view img', (nodes) => nodes.length), 0);
  assert.equal(await page.$$eval('#route-rows svg.time-chart.small', (charts) => charts.length), routes.length, 'a chart per route');
  const overall = await page.$eval('#routes-chart svg.time-chart', (chart) => ({
    width: chart.getBoundingClientRect().width,
    bars: chart.querySelectorAll('rect.bar-requests').length,
    errorBars: chart.querySelectorAll('rect.bar-errors').length,
  }));
  assert.ok(overall.width > 600, `the overall chart spans the page (${overall.width}px)`);
  assert.ok(overall.bars >= 1 && overall.errorBars === 1, JSON.stringify(overall));

  await page.click('#route-rows tr:has(.path:text-is("/crash"))');
  await page.waitForFunction(() => document.getElementById('showing').textContent === 'Showing 1 of 8 cassettes');
  assert.equal(await page.inputValue('#search'), '/crash');
  assert.deepEqual(await page.$$eval('#rows .path', (cells) => cells.map((cell) => cell.textContent)), ['/crash']);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(pageErrors, []);
});

test('a cassette recorded while the dashboard runs is in the next list', async (t) => {
  const earlier = await api({});
  const upstream = await startUpstream(t, (req, res) => res.end('{}'));
  const app = await startApp(t, path.join(APPS, 'plain-http.mjs'), {
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: path.join(project, 'cassettes'), UPSTREAM_URL: upstream.url },
  });
  await request(`${app.url}/via-http/99`);
  const [file] = await app.cassettes(1);
  const later = await api({});
  assert.equal(later.total, earlier.total + 1);
  assert.equal(later.items[0].file, keyOf(file), 'newest first');
  assert.equal(later.items[0].path, '/via-http/99');
  fs.rmSync(file);
  assert.equal((await api({})).total, earlier.total, 'and gone from the next list once deleted');
});

test('bad command lines are one line and exit 2', async (t) => {
  const busy = await startUpstream(t, (req, res) => res.end());
  const cases = [
    [['--dir', path.join(project, 'no-such-dir')], /^timetracer serve: no cassette directory at .*no-such-dir$/],
    [
      ['--dir', path.join(project, 'cassettes'), '--port', 'abc'],
      /^timetracer serve: --port must be a whole number of at least 0, not "abc"$/,
    ],
    [['--dir', path.join(project, 'cassettes'), '--port', '70000'], /^timetracer serve: --port must be at most 65535, not 70000$/],
    [
      ['--dir', path.join(project, 'cassettes'), '--port', String(busy.port)],
      new RegExp(`^timetracer serve: cannot listen on 127\\.0\\.0\\.1:${busy.port}: the port is in use$`),
    ],
    [['--nonsense'], /^timetracer serve: Unknown option '--nonsense'; see timetracer serve --help$/],
  ];
  for (const [args, expected] of cases) {
    const run = await startApp(t, CLI, { register: false, waitForPort: false, args: ['serve', ...args] });
    const { code } = await run.exited;
    assert.equal(code, 2, args.join(' '));
    assert.deepEqual(run.stdout, [], args.join(' '));
    assert.equal(run.stderr.length, 1, run.stderr.join('\n'));
    assert.match(run.stderr[0], expected);
  }
});
