// Real open-source servers, installed from npm at the version each spec pins (into .real-apps/,
// nothing vendored) and started from their own entry point, each driven through a scripted
// session of its API three times:
//   plain     no agent, against a fresh PostgreSQL database
//   recorded  TIMETRACER_MODE=record, against a fresh database again
//   replayed  TIMETRACER_MODE=replay of the recorded cassettes, the database dropped and the app
//             pointed at a port that counts the connections made to it
// and the responses compared JSON-aware:
//   recorded a/N  same status and the same fields as plain (the top-level keys of a JSON body, or
//                 of each item of a JSON list): the agent changed nothing
//   replayed b/N  same status and body as recorded, with the fields the spec names volatile ignored
//   exact    c/N  same status and body as recorded, nothing ignored
// then the recorded cassettes run as a regression suite (`timetracer replay`), the database still
// dropped: how many recorded requests pass; and what differs between two replays of the same code.
// Every difference is printed. Usage: node test/real-apps/run.js <parse-server|directus> [--json FILE]
// [--cassettes DIR: record there, and keep them]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { valueDifferences } from '../../dist/src/index.js';
import { learnNoise, runReplay } from '../../dist/src/cli/replay-run.js';
import { freePort, ROOT, startTripwire, tempDir } from '../support/harness.js';

const SPECS = { 'parse-server': './parse-server.js', directus: './directus.js' };
const INSTALLS = path.join(ROOT, '.real-apps');
const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
const READY_TIMEOUT_MS = 120_000;

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { json: { type: 'string' }, cassettes: { type: 'string' } },
});
const name = positionals[0];
if (!SPECS[name]) {
  console.error(`name an app: ${Object.keys(SPECS).join(', ')}`);
  process.exit(2);
}
const { default: spec } = await import(SPECS[name]);

/** What the runs leave behind, cleaned up at the end whatever happens. */
const cleanups = [];
const scope = { after: (step) => cleanups.push(step) };

async function admin(sql) {
  const client = new pg.Client(POSTGRES);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const DATABASE = `tt_real_${name.replace(/\W/g, '_')}_${process.pid}`;
const databaseUrl = `postgres://postgres@127.0.0.1:5432/${DATABASE}`;
const freshDatabase = async () => {
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DATABASE}`);
};
scope.after(() => admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`));

/**
 * The pinned packages in a folder of their own, installed once per Node major (native addons are
 * built for the Node that runs them: against its own headers, where its binary came with them).
 */
async function install() {
  const major = process.versions.node.split('.')[0];
  const dir = path.join(INSTALLS, `${spec.name}-${spec.version}-node${major}`);
  const marker = path.join(dir, '.installed');
  if (fs.existsSync(marker)) return dir;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: `real-app-${spec.name}`, private: true }, null, 2)}\n`);
  progress(`installing ${spec.packages.join(' ')} into ${path.relative(ROOT, dir)} for Node ${major}`);
  const nodeBin = path.dirname(process.execPath);
  const headers = path.resolve(nodeBin, '..');
  const env = {
    ...process.env,
    PATH: `${nodeBin}${path.delimiter}${process.env.PATH}`,
    ...(fs.existsSync(path.join(headers, 'include', 'node', 'node.h')) && { npm_config_nodedir: headers }),
  };
  const npm = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...spec.packages], {
    cwd: dir,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const [code] = await once(npm, 'close');
  if (code !== 0) throw new Error(`npm install of ${spec.packages.join(' ')} failed (${code})`);
  fs.writeFileSync(marker, '');
  return dir;
}

/** Runs the spec's own preparing command (migrations, a first user) against a fresh database. */
async function prepare(dir) {
  if (!spec.prepare) return;
  const port = await freePort();
  const child = spawn(process.execPath, spec.prepare({ dir }), {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: '', ...spec.env({ dir, port, databaseUrl }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk) => {
      output += chunk;
    });
  const [code] = await once(child, 'close');
  if (code !== 0) throw new Error(`${spec.name}: ${spec.prepare({ dir }).slice(1).join(' ')} failed (${code}):\n${output.slice(-3000)}`);
}

function progress(text) {
  process.stderr.write(`${text}\n`);
}

/** Starts the app as a user does; resolves once it says it is ready. */
async function start(dir, { port, database, agent }) {
  const env = { ...process.env, NODE_OPTIONS: '', TIMETRACER_MODE: undefined, ...spec.env({ dir, port, databaseUrl: database }), ...agent };
  const args = [...(agent ? ['--import', path.join(ROOT, 'register.mjs')] : []), ...spec.command({ dir, port, databaseUrl: database })];
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const app = { child, lines, url: `http://127.0.0.1:${port}` };
  let resolveReady;
  const ready = new Promise((resolve) => {
    resolveReady = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (text) => {
      pending += text;
      for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        lines.push(line);
        if (spec.ready.test(line)) resolveReady();
      }
    });
  }
  const exited = once(child, 'close').then(([code]) => {
    throw new Error(`${spec.name} exited (${code}) before it was ready:\n${lines.slice(-30).join('\n')}`);
  });
  const timeout = new Promise((_, reject) =>
    setTimeout(
      () => reject(new Error(`${spec.name} was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${lines.slice(-30).join('\n')}`)),
      READY_TIMEOUT_MS,
    ).unref(),
  );
  await Promise.race([ready, exited, timeout]);
  exited.catch(() => undefined);
  app.stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = once(child, 'close');
    child.kill('SIGTERM');
    await closed;
  };
  return app;
}

/** One request on a connection of its own: no keep-alive socket the app may be closing just then. */
function send(url, { method, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends the session's requests one by one; each answer is kept, in order, with its label. */
function client(baseUrl) {
  const answers = [];
  return {
    answers,
    async send(label, { method = 'GET', path: urlPath, headers = {}, body }) {
      const { status, text } = await send(`${baseUrl}${urlPath}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      answers.push({ label, status, text, json });
      return json;
    },
  };
}

async function run(dir, { port, database, agent }) {
  const app = await start(dir, { port, database, agent });
  try {
    const session = client(app.url);
    await spec.session(session);
    return { answers: session.answers, lines: app.lines };
  } catch (error) {
    const state = app.child.exitCode ?? app.child.signalCode ?? 'still running';
    throw new Error(
      `${spec.name}'s session broke off (${error.message}; the app: ${state}); its last lines:\n${app.lines.slice(-30).join('\n')}`,
    );
  } finally {
    await app.stop();
  }
}

/** The fields of a JSON body (of each item of a list): what two live runs share, their values aside. */
function fields(value) {
  if (Array.isArray(value)) return value.map(fields);
  if (value !== null && typeof value === 'object') return Object.keys(value).sort();
  return typeof value;
}

function bodyOf(answer) {
  return answer.json === undefined ? answer.text : answer.json;
}

function differences(a, b, ignored = () => false) {
  if (a.status !== b.status) return [`status ${a.status} != ${b.status}`];
  return valueDifferences(bodyOf(a), bodyOf(b), '', (at, key) => ignored(at, key)).map(
    (d) => `${d.path || 'body'}: ${JSON.stringify(d.a)?.slice(0, 80)} != ${JSON.stringify(d.b)?.slice(0, 80)}`,
  );
}

async function main() {
  if (spec.minimumNode && Number(process.versions.node.split('.')[0]) < spec.minimumNode) {
    throw new Error(`${spec.name} ${spec.version} needs Node ${spec.minimumNode} or later; this is ${process.version}`);
  }
  const dir = await install();

  // One port for every run, as an app has in production: some call themselves at their own address.
  const port = await freePort();
  progress(`${spec.name} ${spec.version}: plain run`);
  await freshDatabase();
  await prepare(dir);
  const plain = await run(dir, { port, database: databaseUrl });

  progress(`${spec.name} ${spec.version}: recorded run`);
  const cassettes = options.cassettes ?? tempDir(scope, 'timetracer-real-app-');
  fs.rmSync(cassettes, { recursive: true, force: true });
  await freshDatabase();
  await prepare(dir);
  const recorded = await run(dir, {
    port,
    database: databaseUrl,
    agent: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: cassettes, TIMETRACER_LOG: 'quiet' },
  });

  progress(`${spec.name} ${spec.version}: replayed run, the database dropped`);
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  const tripwire = await startTripwire(scope);
  const unreachable = `postgres://postgres@127.0.0.1:${tripwire.port}/${DATABASE}`;
  const replayed = await run(dir, { port, database: unreachable, agent: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: cassettes } });

  // The recorded cassettes as a regression suite: `timetracer replay`, the database still dropped.
  progress(`${spec.name} ${spec.version}: the cassettes as a suite (timetracer replay)`);
  const suite = await runReplay({
    cassettes,
    command: [process.execPath, ...spec.command({ dir, port, databaseUrl: unreachable })],
    port,
    env: spec.env({ dir, port, databaseUrl: unreachable }),
  });
  const suitePassed = suite.results.filter((result) => result.passed).length;
  progress(`${spec.name} ${spec.version}: what differs between two replays of the same code (timetracer replay --learn)`);
  const noise = await learnNoise({
    cassettes,
    command: [process.execPath, ...spec.command({ dir, port, databaseUrl: unreachable })],
    port,
    env: spec.env({ dir, port, databaseUrl: unreachable }),
  });

  const n = plain.answers.length;
  const volatile = (at, key) => spec.volatile.some(({ field }) => field === key || field === at);
  const rows = plain.answers.map((answer, i) => {
    const recordedAnswer = recorded.answers[i];
    const replayedAnswer = replayed.answers[i];
    const sameShape =
      recordedAnswer &&
      answer.status === recordedAnswer.status &&
      JSON.stringify(fields(bodyOf(answer))) === JSON.stringify(fields(bodyOf(recordedAnswer)));
    return {
      label: answer.label,
      status: [answer.status, recordedAnswer?.status, replayedAnswer?.status],
      recorded: Boolean(sameShape),
      replayed: replayedAnswer ? differences(recordedAnswer, replayedAnswer, volatile) : ['no answer'],
      exact: replayedAnswer ? differences(recordedAnswer, replayedAnswer) : ['no answer'],
    };
  });
  const a = rows.filter((row) => row.recorded).length;
  const b = rows.filter((row) => !row.replayed.length).length;
  const c = rows.filter((row) => !row.exact.length).length;

  console.log(`${spec.name} ${spec.version} on Node ${process.version}: ${n} requests`);
  console.log(`  recorded ${a}/${n} (same status and fields as without the agent)`);
  console.log(
    `  replayed ${b}/${n} with the database dropped ` +
      `(${spec.volatile.length ? `ignoring ${spec.volatile.map(({ field }) => field).join(', ')}` : 'nothing ignored'}); ${tripwire.connections} connection(s) reached the database's address`,
  );
  console.log(`  exact    ${c}/${n} (nothing ignored)`);
  console.log(
    `  suite    ${suitePassed}/${suite.results.length} recorded requests passed as \`timetracer replay\` (${tripwire.connections} connection(s) to the database's address in all)`,
  );
  console.log(`  noise    ${noise.length ? noise.join(', ') : 'none: two replays of the same code answered alike'}`);
  for (const result of suite.results.filter((r) => !r.passed)) {
    const first =
      result.problem ??
      result.failures
        .slice(0, 2)
        .map((f) =>
          f.kind.startsWith('call.')
            ? `${f.kind} ${f.call}`
            : `${f.path}: ${JSON.stringify(f.a)?.slice(0, 60)} → ${JSON.stringify(f.b)?.slice(0, 60)}`,
        )
        .join('; ');
    console.log(`    suite FAIL ${result.recorded.request.method} ${result.recorded.request.path}: ${first}`);
  }
  for (const { field, why } of spec.volatile) console.log(`  ignored for "replayed": ${field}: ${why}`);
  for (const row of rows) {
    if (row.recorded && !row.exact.length) continue;
    console.log(
      `  ${row.label} [${row.status.join(' → ')}]${row.recorded ? '' : ' (the recorded run answered other fields than the plain one)'}`,
    );
    for (const line of row.exact) console.log(`    ${row.replayed.includes(line) ? '' : '(volatile) '}${line}`);
  }
  const misses = replayed.lines.filter((line) => line.includes('[MISS]') || line.includes('[WARN]'));
  if (misses.length)
    console.log(
      `  replay said:\n${misses
        .slice(0, 40)
        .map((line) => `    ${line}`)
        .join('\n')}`,
    );
  const result = {
    app: spec.name,
    version: spec.version,
    node: process.version,
    requests: n,
    recorded: a,
    replayed: b,
    exact: c,
    suite: { passed: suitePassed, of: suite.results.length },
    noise,
    database_connections_in_replay: tripwire.connections,
    rows,
  };
  if (options.json) fs.writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

try {
  const result = await main();
  process.exitCode = result.replayed === result.requests && result.database_connections_in_replay === 0 ? 0 : 1;
} catch (error) {
  console.error(error.stack ?? String(error));
  process.exitCode = 2;
} finally {
  for (const step of cleanups.reverse()) await step();
}
