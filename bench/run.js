// npm run bench: what timetracer costs a service, measured side by side in one run.
//
// Each scenario's app runs as a child process, as a user runs it, in each mode:
//   none    no --import: the baseline every figure is compared with
//   off     --import timetracer/register, TIMETRACER_MODE unset
//   record  TIMETRACER_MODE=record into a temp dir, a file per cassette (TIMETRACER_SHED_LOAD=off in
//           every recording mode: what recording every request costs)
//   record-segments  record with TIMETRACER_LAYOUT=segments: many cassettes per file
//   record-nodet  record with TIMETRACER_DETERMINISM=off: beside record, what capturing the
//           clock and random reads costs
//   sampled record with TIMETRACER_SAMPLE_RATE=0.1, as a busy production service would run it
//   replay  TIMETRACER_MODE=replay of cassettes recorded beforehand, dependencies out of reach
//   tusk    the peer: the Tusk Drift Node SDK recording every request locally to JSONL
//           (bench/peer/tusk-drift.cjs, TUSK_DRIFT_MODE=RECORD, export_spans: false)
// and is driven by autocannon (in this process) for a fixed time after a warm-up. Rounds
// alternate the order of the modes, and the median of the rounds is reported: these machines
// are noisy. Scenarios:
//   (a) the demo app (examples/github-proxy), GET /user/octocat, its GitHub stand-in answering at once
//   (b) bench/apps/orders.mjs: 2 pg queries on a scratch database, 1 fetch and 3 ioredis commands per request
//   (c) bench/apps/large-response.mjs: a 256 KB JSON body after 1 small fetch
//   (d) start-up: from spawn to the first answered request of the demo app, per mode
//   (e) memory: 100,000 recorded requests to the demo app; RSS over time, cassettes counted
//   (f) I/O-bound: the demo app, its GitHub stand-in answering in 20 ms
//   (g) replay at scale: the demo app replaying from its own cassettes alone, then with 100,000
//       more beside them (bench/generate-cassettes.js): spawn to first answer, and resident memory
//   (h) stores: the demo app recorded at full speed into the local disk, and into S3 that cannot
//       be reached (every cassette waits in the spool): resident memory over time, cassettes kept
// Linux only (CPU time and memory are read from /proc).
//
// Usage: node bench/run.js [--quick] [--only a,b,c,d,e,f,g,h] [--connections 8] [--json FILE]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ROOT, UNREACHABLE_DATABASE_URL, cassetteFiles, createDatabase, request, startApp, tempDir } from '../test/support/harness.js';
import { drive } from './lib/load.js';
import { cpuSeconds, cpuSecondsOfAll, machineBusySeconds, peakRssMb, rssMb } from './lib/proc.js';
import { MODES, evaluateTargets, printReport } from './lib/report.js';
import { median, percentile } from './lib/stats.js';
import { withTeardown } from './lib/teardown.js';

/** A fresh app process takes about 5 s of load to reach its speed (the JIT): hence the warm-ups. */
const SETTINGS = {
  full: { rounds: 5, seconds: 10, warmupSeconds: 5, starts: 7, memoryRequests: 100_000, scaleCassettes: 100_000 },
  quick: { rounds: 2, seconds: 2, warmupSeconds: 2, starts: 3, memoryRequests: 10_000, scaleCassettes: 10_000 },
};
/**
 * This machine is shared. A timed run during which other processes used more cores than this is
 * disturbed, and is run again, up to MAX_REPEATS times: a median absorbs an odd run, not a busy
 * stretch.
 */
const QUIET_MACHINE_CORES = 0.25;
const MAX_REPEATS = 2;
/** (e): RSS is taken as warm once this share of the requests has been answered. */
const WARM_SHARE = 0.1;

/** (d): sampling changes nothing at start-up. */
const STARTUP_MODES = ['none', 'off', 'record', 'replay', 'tusk'];
/** Modes that record, each into a fresh directory of its own. */
const RECORDING_MODES = ['record', 'record-segments', 'record-nodet', 'sampled', 'tusk'];
/** Loaded before the app in the peer's mode. */
const TUSK_PRELOAD = path.join(ROOT, 'bench', 'peer', 'tusk-drift.cjs');
/** The share of requests the sampled mode records. */
const SAMPLE_RATE = '0.1';
const DEMO_APP = path.join(ROOT, 'examples', 'github-proxy', 'app.js');
const UPSTREAM = path.join(ROOT, 'examples', 'github-proxy', 'upstream.js');
/** The local Redis, and an address where nothing listens (replay). */
const REDIS_URL = 'redis://127.0.0.1:6379';
const UNREACHABLE_REDIS_URL = 'redis://127.0.0.1:1';
/** The local server test/support/harness.js makes scratch databases on. */
const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
const ORDERS = 100;
const ORDERS_SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
  INSERT INTO items SELECT g, 'item ' || g, g * 37 / 100.0 FROM generate_series(1, 1000) AS g;
  CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, item_id int NOT NULL REFERENCES items, quantity int NOT NULL);
  INSERT INTO orders SELECT g, (ARRAY['octocat', 'torvalds', 'gaearon'])[g % 3 + 1], (g * 7919) % 1000 + 1, g % 5 + 1
    FROM generate_series(1, ${ORDERS}) AS g;
  ANALYZE;
`;

/**
 * The throughput scenarios. `paths` is the finite set of requests, sent in turn on every
 * connection, each recorded once for replay; `env` gives the app its dependencies' addresses.
 */
const SCENARIOS = [
  {
    id: 'a',
    title: 'demo app, GET /user/octocat: 1 fetch to a local upstream',
    script: DEMO_APP,
    paths: ['/user/octocat'],
    env: ({ upstreamUrl }) => ({ GITHUB_API: upstreamUrl, PORT: '0' }),
  },
  {
    id: 'b',
    title: 'GET /orders/<id>: 2 pg queries + 1 fetch + 3 ioredis commands',
    script: path.join(ROOT, 'bench', 'apps', 'orders.mjs'),
    paths: Array.from({ length: 24 }, (_, i) => `/orders/${((i * 37) % ORDERS) + 1}`),
    databaseSchema: ORDERS_SCHEMA,
    env: ({ upstreamUrl, databaseUrl, redisUrl }) => ({ UPSTREAM_URL: upstreamUrl, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl }),
  },
  {
    id: 'c',
    title: 'GET /report: 256 KB JSON response + 1 fetch',
    script: path.join(ROOT, 'bench', 'apps', 'large-response.mjs'),
    paths: ['/report'],
    env: ({ upstreamUrl }) => ({ UPSTREAM_URL: upstreamUrl }),
  },
  {
    id: 'f',
    title: 'I/O-bound: the demo app, GET /user/octocat, its upstream answering in 20 ms',
    script: DEMO_APP,
    paths: ['/user/octocat'],
    upstreamLatencyMs: 20,
    env: ({ upstreamUrl }) => ({ GITHUB_API: upstreamUrl, PORT: '0' }),
  },
];
const DEMO = SCENARIOS[0];

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // Enough requests in flight to keep an app's one JavaScript thread busy in every mode, few
    // enough that latency is not mostly time spent queueing.
    connections: { type: 'string', default: '8' },
    only: { type: 'string', default: 'a,b,c,d,e,f,g,h' },
    json: { type: 'string' },
  },
});
const settings = options.quick ? SETTINGS.quick : SETTINGS.full;
const CONNECTIONS = Number(options.connections);
if (!Number.isInteger(CONNECTIONS) || CONNECTIONS < 1)
  throw new Error(`--connections must be a positive integer, got ${options.connections}`);
const only = new Set(options.only.split(',').map((part) => part.trim()));
for (const part of only) if (!/^[a-h]$/.test(part)) throw new Error(`--only takes letters among a,b,c,d,e,f,g,h; got ${options.only}`);

function progress(text) {
  process.stderr.write(`${text}\n`);
}

/** `modes` turned by `round` places, so that every mode takes every place in turn. */
function rotated(modes, round) {
  return modes.map((_, i) => modes[(i + round) % modes.length]);
}

/**
 * The HTTP dependency: examples/github-proxy/upstream.js with a fixed latency (none, or (f)'s 20 ms), in a process of
 * its own so that it does not share the load generator's thread. Replay runs with it stopped
 * (nothing listens on its port: a call that went out would be refused); it comes back on the
 * same port, because the URL is part of what replay matches.
 */
class Upstream {
  #teardown;
  #process;
  #port = 0;
  #latencyMs;

  constructor(teardown, latencyMs) {
    this.#teardown = teardown;
    this.#latencyMs = latencyMs;
  }

  get url() {
    return `http://127.0.0.1:${this.#port}`;
  }

  async setRunning(running) {
    if (running && !this.#process) {
      this.#process = await startApp(this.#teardown, UPSTREAM, {
        register: false,
        env: { PORT: String(this.#port), LATENCY_MS: String(this.#latencyMs) },
      });
      this.#port = this.#process.port;
    } else if (!running && this.#process) {
      await this.#process.stop();
      this.#process = undefined;
    }
  }

  cpuSeconds() {
    return this.#process ? cpuSeconds(this.#process.child.pid) : 0;
  }
}

/** The environment of a mode, on top of the scenario's, and whether the agent is imported. */
function modeOptions(mode, { recordDir, cassetteDir }) {
  // Per-request log lines (record's [OK] lines, replay's lines) off, so stderr does not dominate; warnings still show.
  const quiet = { TIMETRACER_LOG: 'quiet' };
  // What recording every request costs: shedding load would record fewer under pressure.
  const record = { ...quiet, TIMETRACER_MODE: 'record', TIMETRACER_DIR: recordDir, TIMETRACER_SHED_LOAD: 'off' };
  switch (mode) {
    case 'none':
      return { register: false, env: {} };
    case 'off':
      return { register: true, env: {} };
    case 'record':
      return { register: true, env: record };
    case 'record-segments':
      return { register: true, env: { ...record, TIMETRACER_LAYOUT: 'segments' } };
    case 'record-nodet':
      return { register: true, env: { ...record, TIMETRACER_DETERMINISM: 'off' } };
    case 'sampled':
      return { register: true, env: { ...record, TIMETRACER_SAMPLE_RATE: SAMPLE_RATE } };
    case 'replay':
      return { register: true, env: { ...quiet, TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: cassetteDir } };
    case 'tusk':
      return { register: false, preload: [TUSK_PRELOAD], env: { TUSK_DRIFT_MODE: 'RECORD' }, cwd: tuskProject(recordDir) };
  }
}

/**
 * A project folder for the peer: Tusk Drift reads `.tusk/config.yaml` in the nearest folder of the
 * working directory holding a package.json. Its traces go to `dir/traces`.
 */
function tuskProject(dir) {
  fs.mkdirSync(path.join(dir, '.tusk'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "tusk-bench", "private": true }\n');
  const config = [
    'service:',
    '  name: bench',
    'recording:',
    '  sampling_rate: 1',
    '  export_spans: false',
    'traces:',
    `  dir: ${path.join(dir, 'traces')}`,
  ];
  fs.writeFileSync(path.join(dir, '.tusk', 'config.yaml'), `${config.join('\n')}\n`);
  return dir;
}

/**
 * Starts a scenario's app in a mode, its dependencies made reachable (or, for replay, not)
 * first. `started`: when the process was spawned.
 */
async function launch(bench, scenario, mode, dirs) {
  const upstream = bench.upstream(scenario);
  await upstream.setRunning(mode !== 'replay');
  const dependencies = {
    upstreamUrl: upstream.url,
    databaseUrl: mode === 'replay' ? UNREACHABLE_DATABASE_URL : scenario.databaseUrl,
    redisUrl: mode === 'replay' ? UNREACHABLE_REDIS_URL : REDIS_URL,
  };
  const { register, env, preload, cwd } = modeOptions(mode, dirs);
  const started = performance.now();
  const app = await startApp(bench.teardown, scenario.script, { register, preload, cwd, env: { ...scenario.env(dependencies), ...env } });
  return { app, started };
}

/** The count in the agent's exit warning `N cassette(s) were dropped because the disk could not keep up`. */
function droppedCassettes(app) {
  const line = app.stderr.find((l) => / cassette\(s\) were dropped /.test(l));
  return line ? Number(/(\d+) cassette\(s\) were dropped /.exec(line)[1]) : 0;
}

/**
 * Each of the scenario's requests sent once to an app recording into a fresh directory, with
 * the dependencies live: the cassettes replay serves, and the responses every mode must give.
 */
async function recordReference(bench, scenario) {
  const dir = tempDir(bench.teardown, `timetracer-bench-${scenario.id}-reference-`);
  const { app } = await launch(bench, scenario, 'record', { recordDir: dir });
  const responses = new Map();
  for (const urlPath of scenario.paths) {
    const response = await request(`${app.url}${urlPath}`);
    if (response.status !== 200)
      throw new Error(`(${scenario.id}) GET ${urlPath} answered ${response.status}: ${response.text.slice(0, 300)}`);
    responses.set(urlPath, response.text);
  }
  // On exit the agent writes whatever is still queued.
  await app.stop();
  const written = cassetteFiles(dir).length;
  if (written !== scenario.paths.length)
    throw new Error(
      `(${scenario.id}) recording for replay wrote ${written} cassettes for ${scenario.paths.length} requests:\n${app.stderr.join('\n')}`,
    );
  return { dir, responses };
}

/** Sends each request once and checks it gets the recorded response: what replay serves is right, and the same app is measured in every mode. */
async function expectRecordedResponses(app, scenario, mode, reference) {
  for (const [urlPath, recorded] of reference.responses) {
    const response = await request(`${app.url}${urlPath}`);
    if (response.status !== 200 || response.text !== recorded) {
      throw new Error(
        `(${scenario.id}) ${mode}: GET ${urlPath} answered ${response.status}, not the recorded response: ${response.text.slice(0, 300)}\n${app.stderr.join('\n')}`,
      );
    }
  }
}

/**
 * The processes of PostgreSQL's that serve `database`, to count their CPU time apart from the
 * rest of the machine's.
 */
async function postgresBackends(database) {
  const client = new pg.Client(POSTGRES);
  await client.connect();
  try {
    return (await client.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])).rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

function cpuSnapshot(upstream, pids) {
  return {
    app: cpuSeconds(pids.app),
    upstream: upstream.cpuSeconds(),
    postgres: cpuSecondsOfAll(pids.postgres),
    loadGenerator: process.cpuUsage(),
    machine: machineBusySeconds(),
  };
}

/**
 * Cores used since `before`: the app, its dependencies, this process (the load generator), and
 * every other process on the machine.
 */
function coresSince(upstream, pids, before, seconds) {
  const now = cpuSnapshot(upstream, pids);
  const own = process.cpuUsage(before.loadGenerator);
  const cores = {
    app: (now.app - before.app) / seconds,
    upstream: (now.upstream - before.upstream) / seconds,
    postgres: (now.postgres - before.postgres) / seconds,
    load_generator: (own.user + own.system) / 1e6 / seconds,
  };
  const ours = Object.values(cores).reduce((sum, n) => sum + n, 0);
  return { ...cores, rest: Math.max(0, (now.machine - before.machine) / seconds - ours) };
}

function exitedEarly(app) {
  return app.child.exitCode !== null || app.child.signalCode !== null;
}

/** One mode of one scenario, once: warm-up, then the timed run. */
async function measureRun(bench, scenario, mode) {
  const reference = await bench.reference(scenario);
  const recordDir = RECORDING_MODES.includes(mode) ? tempDir(bench.teardown, 'timetracer-bench-record-') : undefined;
  const { app } = await launch(bench, scenario, mode, { recordDir, cassetteDir: reference.dir });
  await expectRecordedResponses(app, scenario, mode, reference);
  const load = { paths: scenario.paths, connections: CONNECTIONS };
  const warmup = await drive(app.url, { ...load, seconds: bench.settings.warmupSeconds });
  // After the warm-up the app's pool holds every connection it will open.
  const pids = { app: app.child.pid, postgres: scenario.database && mode !== 'replay' ? await postgresBackends(scenario.database) : [] };
  const latencies = [];
  const upstream = bench.upstream(scenario);
  const before = cpuSnapshot(upstream, pids);
  const timed = await drive(app.url, { ...load, seconds: bench.settings.seconds, latencies });
  if (exitedEarly(app)) throw new Error(`(${scenario.id}) ${mode}: the app exited during the run:\n${app.stderr.join('\n')}`);
  const cores = coresSince(upstream, pids, before, timed.seconds);
  const maxRssMb = peakRssMb(pids.app);
  const writtenUnderLoad = recordDir && mode !== 'tusk' && cassetteFiles(recordDir).length;
  await app.stop();
  const run = {
    req_s: timed.ok / timed.seconds,
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    max_rss_mb: maxRssMb,
    cores,
    failed: warmup.notOk + warmup.errors + timed.notOk + timed.errors,
  };
  if (recordDir && mode === 'tusk') {
    run.traces = fs.readdirSync(path.join(recordDir, 'traces')).length;
    fs.rmSync(recordDir, { recursive: true, force: true });
  } else if (recordDir) {
    // Every answered request should have its cassette; a request cut off when the load stopped may have one too.
    run.cassettes = {
      answered: reference.responses.size + warmup.ok + timed.ok,
      written_under_load: writtenUnderLoad,
      written: cassetteFiles(recordDir).length,
      dropped: droppedCassettes(app),
    };
    fs.rmSync(recordDir, { recursive: true, force: true });
  }
  return run;
}

/** measureRun, run again while other processes disturbed it (see QUIET_MACHINE_CORES). */
async function measureUndisturbedRun(bench, scenario, mode) {
  let run = await measureRun(bench, scenario, mode);
  let repeats = 0;
  while (run.cores.rest > QUIET_MACHINE_CORES && repeats < MAX_REPEATS) {
    progress(`(${scenario.id}) ${mode}: other processes used ${run.cores.rest.toFixed(2)} cores during the run; running it again`);
    run = await measureRun(bench, scenario, mode);
    repeats++;
  }
  return { ...run, repeats };
}

const FIGURES = ['req_s', 'p50_ms', 'p99_ms', 'max_rss_mb'];

/** Per mode: the median of the rounds for each figure, and its ratio to none's. */
function summarise(runs) {
  const modes = {};
  for (const mode of MODES) {
    const rounds = runs[mode];
    const figures = Object.fromEntries(FIGURES.map((figure) => [figure, median(rounds.map((run) => run[figure]))]));
    const cores = Object.fromEntries(Object.keys(rounds[0].cores).map((who) => [who, median(rounds.map((run) => run.cores[who]))]));
    const failed = rounds.reduce((n, run) => n + run.failed, 0);
    const repeats = rounds.reduce((n, run) => n + run.repeats, 0);
    // How far the rounds are from one another: a difference between modes smaller than this is noise.
    const throughputs = rounds.map((run) => run.req_s);
    const spread = (Math.max(...throughputs) - Math.min(...throughputs)) / 2 / figures.req_s;
    modes[mode] = { ...figures, req_s_spread: spread, cores, failed, repeats, rounds };
    if (mode === 'record') {
      modes[mode].cassettes = Object.fromEntries(
        ['answered', 'written_under_load', 'written', 'dropped'].map((key) => [key, rounds.reduce((n, run) => n + run.cassettes[key], 0)]),
      );
    }
  }
  for (const mode of MODES)
    modes[mode].ratio = Object.fromEntries(FIGURES.map((figure) => [figure, modes[mode][figure] / modes.none[figure]]));
  return modes;
}

async function benchThroughput(bench, scenarioDefinition) {
  let scenario = scenarioDefinition;
  if (scenario.databaseSchema) {
    const problem = await postgresProblem();
    if (problem) return { skipped: `PostgreSQL is not reachable at 127.0.0.1:5432 (${problem})` };
    const { name, url } = await createDatabase(bench.teardown, scenario.databaseSchema);
    scenario = { ...scenario, database: name, databaseUrl: url };
  }
  const reference = await bench.reference(scenario);
  const runs = Object.fromEntries(MODES.map((mode) => [mode, []]));
  for (let round = 0; round < bench.settings.rounds; round++) {
    for (const mode of rotated(MODES, round)) {
      const run = await measureUndisturbedRun(bench, scenario, mode);
      runs[mode].push(run);
      progress(
        `(${scenario.id}) round ${round + 1}/${bench.settings.rounds} ${mode.padEnd(7)} ${run.req_s.toFixed(0).padStart(6)} ` +
          `req/s  p50 ${run.p50_ms.toFixed(2)} ms  p99 ${run.p99_ms.toFixed(2)} ms  app ${run.cores.app.toFixed(2)} cores`,
      );
    }
  }
  return { response_bytes: Math.max(...[...reference.responses.values()].map((text) => Buffer.byteLength(text))), modes: summarise(runs) };
}

/** Why PostgreSQL cannot be used, or undefined when it answers. */
async function postgresProblem() {
  const client = new pg.Client({ ...POSTGRES, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return error.code ?? error.message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** (d): spawn to the first answered request (GET /user/octocat of the demo app), per mode, median of several starts. */
async function benchStartup(bench) {
  const reference = await bench.reference(DEMO);
  const recordDir = tempDir(bench.teardown, 'timetracer-bench-startup-');
  const [urlPath] = DEMO.paths;
  const runs = Object.fromEntries(STARTUP_MODES.map((mode) => [mode, []]));
  for (let round = 0; round < bench.settings.starts; round++) {
    for (const mode of rotated(STARTUP_MODES, round)) {
      const { app, started } = await launch(bench, DEMO, mode, { recordDir, cassetteDir: reference.dir });
      const response = await request(`${app.url}${urlPath}`);
      const ms = performance.now() - started;
      await app.stop();
      if (response.text !== reference.responses.get(urlPath))
        throw new Error(
          `(d) ${mode}: GET ${urlPath} answered ${response.status}, not the recorded response: ${response.text.slice(0, 300)}`,
        );
      runs[mode].push(ms);
    }
  }
  progress(`(d) ${STARTUP_MODES.map((mode) => `${mode} ${median(runs[mode]).toFixed(0)} ms`).join(', ')}`);
  const none = median(runs.none);
  return {
    request: `GET ${urlPath}`,
    modes: Object.fromEntries(
      STARTUP_MODES.map((mode) => [mode, { ms: median(runs[mode]), added_ms: median(runs[mode]) - none, runs: runs[mode] }]),
    ),
  };
}

/**
 * (g): replay pointed at a directory of many cassettes. The demo app replays its own recording
 * alone, then with `scaleCassettes` synthetic ones beside it (another API's, spread over days, as
 * a long recording holds): spawn to the first answer, and the app's resident memory then.
 */
async function benchScale(bench) {
  const reference = await bench.reference(DEMO);
  const count = bench.settings.scaleCassettes;
  const crowded = tempDir(bench.teardown, 'timetracer-bench-scale-');
  fs.cpSync(reference.dir, crowded, { recursive: true });
  const generating = performance.now();
  execFileSync(process.execPath, [path.join(ROOT, 'bench', 'generate-cassettes.js'), '--dir', crowded, '--count', String(count)], {
    stdio: 'ignore',
  });
  progress(`(g) ${count} cassettes generated in ${((performance.now() - generating) / 1000).toFixed(1)} s`);
  const dirs = { alone: reference.dir, crowded };
  const [urlPath] = DEMO.paths;
  const runs = { alone: [], crowded: [] };
  for (let round = 0; round < bench.settings.starts; round++) {
    for (const which of rotated(Object.keys(dirs), round)) {
      const { app, started } = await launch(bench, DEMO, 'replay', { cassetteDir: dirs[which] });
      const response = await request(`${app.url}${urlPath}`);
      const ms = performance.now() - started;
      const rss = rssMb(app.child.pid);
      const peak = peakRssMb(app.child.pid);
      await app.stop();
      if (response.text !== reference.responses.get(urlPath))
        throw new Error(
          `(g) ${which}: GET ${urlPath} answered ${response.status}, not the recorded response: ${response.text.slice(0, 300)}`,
        );
      runs[which].push({ ms, rss_mb: rss, peak_rss_mb: peak });
    }
  }
  const summary = (which) => ({
    ms: median(runs[which].map((run) => run.ms)),
    rss_mb: median(runs[which].map((run) => run.rss_mb)),
    peak_rss_mb: median(runs[which].map((run) => run.peak_rss_mb)),
    runs: runs[which],
  });
  const result = { cassettes: count, request: `GET ${urlPath}`, alone: summary('alone'), crowded: summary('crowded') };
  progress(
    `(g) alone ${result.alone.ms.toFixed(0)} ms ${result.alone.rss_mb.toFixed(0)} MB; with ${count} more ${result.crowded.ms.toFixed(0)} ms ${result.crowded.rss_mb.toFixed(0)} MB`,
  );
  return result;
}

/** (e): records many requests to the demo app; RSS sampled every second, cassettes counted at the end. */
async function benchMemory(bench) {
  const requests = bench.settings.memoryRequests;
  const recordDir = tempDir(bench.teardown, 'timetracer-bench-memory-');
  const { app } = await launch(bench, DEMO, 'record', { recordDir });
  const pid = app.child.pid;
  const samples = [];
  let answered = 0;
  let sampleError;
  const result = await drive(app.url, {
    paths: DEMO.paths,
    connections: CONNECTIONS,
    amount: requests,
    onTick: (count) => {
      answered += count;
      if (sampleError) return;
      try {
        samples.push({ answered, rss_mb: rssMb(pid) });
      } catch (error) {
        // The app is gone: said below, with its stderr.
        sampleError = error;
      }
    },
  });
  if (sampleError || exitedEarly(app))
    throw new Error(`(e) the app exited during the run (${sampleError?.message ?? 'exit'}):\n${app.stderr.join('\n')}`);
  const writtenUnderLoad = cassetteFiles(recordDir).length;
  // On exit the agent writes whatever is still queued and reports what it dropped.
  const stopping = performance.now();
  await app.stop();
  const exitSeconds = (performance.now() - stopping) / 1000;
  const written = cassetteFiles(recordDir).length;
  fs.rmSync(recordDir, { recursive: true, force: true });
  const dropped = droppedCassettes(app);
  const at = (share) => samples.find((sample) => sample.answered >= requests * share) ?? samples.at(-1);
  const warm = at(WARM_SHARE);
  const end = samples.at(-1);
  progress(
    `(e) ${result.ok} requests in ${result.seconds.toFixed(0)} s; RSS ${warm.rss_mb.toFixed(1)} MB warm, ${end.rss_mb.toFixed(1)} MB at the end; ${written} cassettes`,
  );
  return {
    requests,
    answered: result.ok,
    failed: result.notOk + result.errors,
    seconds: result.seconds,
    req_s: result.ok / result.seconds,
    rss_mb: {
      warm: warm.rss_mb,
      end: end.rss_mb,
      max: Math.max(...samples.map((sample) => sample.rss_mb)),
      by_share: Object.fromEntries([0.25, 0.5, 0.75].map((share) => [share, at(share).rss_mb])),
    },
    growth: end.rss_mb / warm.rss_mb - 1,
    exit_seconds: exitSeconds,
    cassettes: { written_under_load: writtenUnderLoad, written, dropped, unaccounted: result.ok - written - dropped },
    samples,
  };
}

/**
 * (h): where the cassettes go: the local disk, and S3 that cannot be reached (its endpoint refuses
 * every connection, as in an outage), so that every cassette waits in the spool.
 */
const STORES = [
  { name: 'disk', env: (dir) => ({ TIMETRACER_DIR: dir }) },
  {
    name: 'S3, unreachable',
    env: (dir) => ({
      TIMETRACER_DIR: 's3://timetracer-bench/outage',
      TIMETRACER_SPOOL_DIR: dir,
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }),
  },
];

/** A count from one of the agent's exit warnings (`N cassette(s) were dropped ...`), or 0. */
function warnedCount(app, pattern) {
  const line = app.stderr.find((l) => pattern.test(l));
  return line ? Number(pattern.exec(line)[1]) : 0;
}

/** (h): the demo app recorded at full speed into each store; RSS sampled every second, cassettes counted. */
async function benchStores(bench) {
  const upstream = bench.upstream(DEMO);
  await upstream.setRunning(true);
  const runs = [];
  for (const store of STORES) {
    const dir = tempDir(bench.teardown, 'timetracer-bench-store-');
    const { env } = modeOptions('record', { recordDir: dir });
    const app = await startApp(bench.teardown, DEMO.script, {
      env: { ...DEMO.env({ upstreamUrl: upstream.url }), ...env, ...store.env(dir) },
    });
    const samples = [];
    const result = await drive(app.url, {
      paths: DEMO.paths,
      connections: CONNECTIONS,
      seconds: bench.settings.seconds * 6,
      onTick: () => samples.push(rssMb(app.child.pid)),
    });
    await app.stop();
    const run = {
      store: store.name,
      answered: result.ok,
      seconds: result.seconds,
      rss_mb: { first: samples[0], max: Math.max(...samples), end: samples.at(-1), every_second: samples },
      cassettes: {
        on_disk: cassetteFiles(dir).length,
        dropped: droppedCassettes(app),
        unfinished_at_exit: warnedCount(app, /(\d+) cassette\(s\) were still being written when the process ended/),
      },
    };
    fs.rmSync(dir, { recursive: true, force: true });
    progress(
      `(h) ${store.name}: ${run.answered} requests in ${run.seconds.toFixed(0)} s; RSS ${run.rss_mb.first.toFixed(0)} MB after 1 s, at most ${run.rss_mb.max.toFixed(0)} MB, ${run.rss_mb.end.toFixed(0)} MB at the end; ${run.cassettes.on_disk} cassettes on disk, ${run.cassettes.dropped} dropped`,
    );
    runs.push(run);
  }
  return runs;
}

/** The commit measured, and the agent's files that differ from it (they are measured as they are, built). */
function measuredSource() {
  // Only the end trimmed: a porcelain line starts with its status columns, a space among them.
  const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trimEnd();
  try {
    const changed = git('status', '--porcelain', '--', 'src', 'instrumentations', 'register.mjs')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    return { commit: git('rev-parse', '--short', 'HEAD'), uncommitted: changed };
  } catch {
    return { commit: 'unknown (not a git checkout)', uncommitted: [] };
  }
}

await withTeardown(async (teardown) => {
  const upstreams = new Map();
  const references = new Map();
  const bench = {
    teardown,
    settings,
    /** The scenario's HTTP dependency: one stand-in per latency, started on first need. */
    upstream(scenario) {
      const latencyMs = scenario.upstreamLatencyMs ?? 0;
      if (!upstreams.has(latencyMs)) upstreams.set(latencyMs, new Upstream(teardown, latencyMs));
      return upstreams.get(latencyMs);
    },
    /** The scenario's cassettes and responses, recorded on first need. */
    reference(scenario) {
      if (!references.has(scenario)) references.set(scenario, recordReference(bench, scenario));
      return references.get(scenario);
    },
  };
  const result = {
    measured: measuredSource(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
      load_average_at_start: os.loadavg()[0],
    },
    settings: {
      quick: options.quick,
      ...settings,
      connections: CONNECTIONS,
      pipelining: 1,
      quiet_machine_cores: QUIET_MACHINE_CORES,
      max_repeats: MAX_REPEATS,
    },
    scenarios: [],
  };
  for (const scenario of SCENARIOS.filter(({ id }) => only.has(id))) {
    progress(`(${scenario.id}) ${scenario.title}`);
    result.scenarios.push({ id: scenario.id, title: scenario.title, ...(await benchThroughput(bench, scenario)) });
  }
  if (only.has('d')) result.startup = await benchStartup(bench);
  if (only.has('e')) result.memory = await benchMemory(bench);
  if (only.has('g')) result.scale = await benchScale(bench);
  if (only.has('h')) result.stores = await benchStores(bench);
  result.targets = evaluateTargets(result);
  printReport(result);
  if (options.json) fs.writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  const failed = result.scenarios.some((scenario) => MODES.some((mode) => scenario.modes?.[mode].failed)) || result.memory?.failed;
  if (failed) process.exitCode = 1;
});
