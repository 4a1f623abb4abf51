// `npm run demo`: the timetracer workflow on examples/github-proxy, with nothing but Node.
//
//   1. record   the app runs with TIMETRACER_MODE=record against a local stand-in for GitHub
//   2. replay   the stand-in is stopped; the app runs with TIMETRACER_MODE=replay and answers
//               the same requests from the cassettes, offline
//   3. compare  record and replay times, and whether every replayed response equals the recorded one
//   4. fix      the failing request is replayed against the fixed app: 404 instead of 500, offline
//   5. suite    the cassettes as a regression suite (timetracer replay): every request passes
//               against the app as recorded; against the fixed app, the one the fix changes fails,
//               showing what changed
//
// The app runs in examples/github-proxy, as `node --import timetracer/register app.js`. Cassettes
// go to examples/github-proxy/cassettes (emptied first), or to `--dir <path>` (which must be
// empty or not exist). Exit code 0 only if every replayed response equals the recorded one, the
// fixed app answers the failing request with its 404, and the suite catches that change.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startUpstream } from './github-proxy/upstream.js';

const APP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'github-proxy');
const REQUESTS = ['/', '/user/octocat', '/repos/octocat', '/user/nonexistent-user-12345'];
const FAILING = '/user/nonexistent-user-12345';
/** What the agent prints once a request's cassette is written: `  cassette: <path>`. */
const CASSETTE_WRITTEN = /^ {2}cassette: /;
/** What replay prints at the end of each request (not its start-up line, `timetracer replay mode: ...`). */
const REPLAYED = /^timetracer replay [A-Z]+ \//;
/** A guard against a stuck app, not a way of waiting: every wait ends on a line or an exit. */
const LINE_TIMEOUT_MS = 15_000;

/** Child processes still running: however the demo ends, they are stopped. */
const running = new Set();

/** The app as a child process, started as a user starts it. `env`: what the demo sets. */
class App {
  constructor(env) {
    this.command = `${Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ')} node --import timetracer/register app.js`;
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TIMETRACER_')));
    this.child = spawn(process.execPath, ['--import', 'timetracer/register', 'app.js'], {
      cwd: APP_DIR,
      env: { ...inherited, NODE_OPTIONS: '', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.child);
    this.exited = once(this.child, 'close').then(([code, signal]) => {
      running.delete(this.child);
      return code ?? signal;
    });
    this.lines = [];
    this.unshown = [];
    this.waiters = [];
    readLines(this.child.stdout, (line) => this.take(line));
    readLines(this.child.stderr, (line) => {
      this.unshown.push(line);
      this.take(line);
    });
  }

  take(line) {
    this.lines.push(line);
    this.waiters = this.waiters.filter((waiter) => !waiter(line));
  }

  /** The `count`-th line matching `pattern`, printed already or still to come. */
  waitFor(pattern, count = 1) {
    const seen = this.lines.filter((line) => pattern.test(line));
    if (seen.length >= count) return Promise.resolve(seen[count - 1]);
    let matched = seen.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the app printed no line matching ${pattern} within ${LINE_TIMEOUT_MS} ms`)),
        LINE_TIMEOUT_MS,
      );
      this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the app exited (${code}) before printing a line matching ${pattern}`));
      });
      this.waiters.push((line) => {
        if (!pattern.test(line) || ++matched < count) return false;
        clearTimeout(timer);
        resolve(line);
        return true;
      });
    });
  }

  async started() {
    const port = (await this.waitFor(/^listening \d+$/)).split(' ')[1];
    this.url = `http://127.0.0.1:${port}`;
    this.showLines();
    return this;
  }

  /** Prints what the app wrote on stderr since last time: timetracer's lines and its own. */
  showLines() {
    for (const line of this.unshown.splice(0)) console.log(`    ${line}`);
  }

  async stop() {
    if (running.has(this.child)) this.child.kill('SIGTERM');
    await this.exited;
    this.showLines();
  }
}

function readLines(stream, onLine) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop();
    lines.forEach(onLine);
  });
}

/** One request as a client sees it: status, body and round-trip time. */
function send(app, requestPath) {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(app.url + requestPath, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (text) => {
          body += text;
        });
        response.on('end', () => resolve({ status: response.statusCode, body, ms: performance.now() - start }));
      })
      .on('error', reject);
  });
}

function preview(text, width = 60) {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function printExchange(requestPath, answer) {
  console.log(`  GET ${requestPath} -> ${answer.status} ${preview(answer.body)}  (${answer.ms.toFixed(1)} ms)`);
}

/**
 * Sends the requests one at a time; after each, waits for the line the agent prints for it
 * (`agentLine`, the n-th for the n-th request), so the output reads in order.
 */
async function sendAll(app, agentLine) {
  const answers = new Map();
  const lines = new Map();
  for (const [i, requestPath] of REQUESTS.entries()) {
    const answer = await send(app, requestPath);
    lines.set(requestPath, await app.waitFor(agentLine, i + 1));
    printExchange(requestPath, answer);
    app.showLines();
    answers.set(requestPath, answer);
  }
  return { answers, lines };
}

function speedup(recordMs, replayMs) {
  const ratio = recordMs / replayMs;
  return `${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}x`;
}

/** The comparison as a Markdown table; returns whether every replayed response equals the recorded one. */
function printTable(recorded, replayed) {
  const rows = REQUESTS.map((requestPath) => {
    const live = recorded.get(requestPath);
    const again = replayed.get(requestPath);
    const same = live.status === again.status && live.body === again.body;
    return [requestPath, live.ms.toFixed(1), again.ms.toFixed(1), speedup(live.ms, again.ms), same ? 'yes' : 'no'];
  });
  const header = ['endpoint', 'record ms', 'replay ms', 'speedup', 'same response'];
  const textColumn = (column) => column === 0 || column === 4;
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (cells) =>
    `| ${cells.map((cell, column) => (textColumn(column) ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  const rule = widths.map((width, column) => (textColumn(column) ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`));
  console.log(format(header));
  console.log(`|${rule.join('|')}|`);
  for (const row of rows) console.log(format(row));
  console.log('Round trips as the client saw them: record waits for GitHub, replay reads the cassette.');
  console.log(`${REQUESTS[1]} makes each run's first fetch, so both of its times include Node loading fetch.`);
  return rows.every((row) => row[4] === 'yes');
}

/** The directory to record into, as the app (running in APP_DIR) is given it. */
function cassetteDir() {
  const { values } = parseArgs({ options: { dir: { type: 'string' } } });
  if (values.dir === undefined) {
    // The demo's own directory: start from nothing so the cassettes are this run's.
    fs.rmSync(path.join(APP_DIR, 'cassettes'), { recursive: true, force: true });
    return 'cassettes';
  }
  if (fs.existsSync(values.dir) && fs.readdirSync(values.dir).length > 0) {
    throw new Error(`--dir ${values.dir} is not empty; give an empty or new directory`);
  }
  return path.resolve(values.dir);
}

const CLI = path.join(APP_DIR, '..', '..', 'bin', 'timetracer.mjs');

/** `timetracer replay <dir> -- node app.js` in the app's folder, its output shown indented. */
async function suite(dir, env) {
  const args = [CLI, 'replay', dir, '--', process.execPath, 'app.js'];
  const shown = env.FIXED ? `FIXED=${env.FIXED} ` : '';
  console.log(`  $ ${shown}npx timetracer replay ${dir} -- node app.js`);
  const child = spawn(process.execPath, args, { cwd: APP_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text) => {
    output += text;
  });
  const [code] = await once(child, 'close');
  // The app's own last lines, shown after a failure, are left out here: the report says what happened.
  const lines = output.trimEnd().split('\n');
  const appLines = lines.indexOf("the app's last lines:");
  const summary = lines.findIndex((line) => /^\d+ passed, \d+ failed/.test(line));
  const report = appLines < 0 ? lines : [...lines.slice(0, appLines), ...lines.slice(summary)];
  for (const line of report.filter(Boolean)) console.log(`    ${line}`);
  return { code, output };
}

async function main() {
  const dir = cassetteDir();
  const upstream = await startUpstream(0);
  const apps = [];
  const start = (env) => {
    const app = new App({ ...env, GITHUB_API: upstream.url });
    apps.push(app);
    console.log(`  $ ${app.command}`);
    return app.started();
  };
  try {
    console.log(`The app: examples/github-proxy/app.js, run in that directory. GitHub: a local stand-in at ${upstream.url}.`);

    console.log('\n1. Record');
    const recording = await start({ TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir });
    const recorded = await sendAll(recording, CASSETTE_WRITTEN);
    await recording.stop();

    console.log('\n2. Replay, with the stand-in for GitHub stopped: a call that reached it would be refused');
    await upstream.close();
    const replaying = await start({ TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: dir });
    const replayed = await sendAll(replaying, REPLAYED);
    await replaying.stop();

    console.log('\n3. Record vs replay');
    const allSame = printTable(recorded.answers, replayed.answers);

    const failing = recorded.lines.get(FAILING).replace(CASSETTE_WRITTEN, '');
    console.log(`\n4. Fix: ${FAILING} crashed with 500 (GitHub said 404). Replay it against the fixed app (FIXED=1)`);
    const fixedApp = await start({ TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: failing, FIXED: '1' });
    const fixed = await send(fixedApp, FAILING);
    await fixedApp.waitFor(REPLAYED);
    printExchange(FAILING, fixed);
    await fixedApp.stop();
    const fixWorks = fixed.status === 404 && fixed.body === JSON.stringify({ error: 'User not found' });

    console.log('\n5. The cassettes as a regression suite: timetracer replay, against the app as recorded, then the fixed one');
    const asRecorded = await suite(dir, { GITHUB_API: upstream.url });
    const againstFix = await suite(dir, { GITHUB_API: upstream.url, FIXED: '1' });
    const suiteWorks = asRecorded.code === 0 && againstFix.code === 1 && againstFix.output.includes(`FAIL  GET ${FAILING}  500 → 404`);

    const absoluteDir = path.resolve(APP_DIR, dir);
    const relativeDir = path.relative(process.cwd(), absoluteDir);
    const shownDir = relativeDir && !relativeDir.startsWith('..') ? relativeDir : absoluteDir;
    console.log(
      `\nCassettes are in ${shownDir}/. Replay one: cd examples/github-proxy && TIMETRACER_MODE=replay ` +
        `TIMETRACER_CASSETTE=${failing} GITHUB_API=${upstream.url} node --import timetracer/register app.js`,
    );
    if (!allSame) console.log('FAILED: a replayed response differs from the recorded one (see the table).');
    if (!fixWorks) console.log(`FAILED: the fixed app did not answer ${FAILING} with 404 {"error":"User not found"}.`);
    if (!suiteWorks) console.log('FAILED: the suite did not pass against the app as recorded, or did not catch the fix.');
    return allSame && fixWorks && suiteWorks;
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    await upstream.close();
  }
}

process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1;
  },
  (error) => {
    console.error(`demo failed: ${error.message}`);
    process.exitCode = 1;
  },
);
