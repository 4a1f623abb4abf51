// What a replayed pg query costs. Runs bench/apps/pg-queries.mjs as a user would, one child
// process per mode, against a scratch PostgreSQL database:
//   live       no agent, real database
//   record     --import timetracer/register, TIMETRACER_MODE=record
//   replay     TIMETRACER_MODE=replay of cassettes recorded beforehand, database unreachable
//   app alone  no agent, no pg: the app makes the rows itself (its own per-query work)
// Requests alternate across modes round by round (these machines are noisy) and medians are
// reported. Usage: node bench/pg-query-cost.js [--queries 200] [--requests 30] [--warmup 5] [--json FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ROOT, UNREACHABLE_DATABASE_URL, createDatabase, request, startApp, tempDir } from '../test/support/harness.js';
import { median } from './lib/stats.js';
import { withTeardown } from './lib/teardown.js';

const APP = path.join(ROOT, 'bench', 'apps', 'pg-queries.mjs');
const ITEMS = 1000;
const SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, created_at timestamptz NOT NULL);
  INSERT INTO items SELECT g, 'item ' || g, g * 37 / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour'
    FROM generate_series(1, ${ITEMS}) AS g;
  CREATE TABLE orders (
    id serial PRIMARY KEY, request_id text NOT NULL, seq int NOT NULL, item_id int NOT NULL REFERENCES items,
    quantity int NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
  );
  ANALYZE items;
`;

const { values: options } = parseArgs({
  options: {
    queries: { type: 'string', default: '200' },
    requests: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});
const QUERIES = positiveInteger('queries');
const REQUESTS = positiveInteger('requests');
const WARMUP = positiveInteger('warmup');

function positiveInteger(name) {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${options[name]}`);
  return value;
}

/** The fixed request sequence: the same ids in every mode, so replay meets exactly what was recorded. */
const warmupIds = Array.from({ length: WARMUP }, (_, i) => `warmup-${i + 1}`);
const timedIds = Array.from({ length: REQUESTS }, (_, i) => `request-${i + 1}`);
const pathOf = (id) => `/run?id=${id}&n=${QUERIES}`;

/**
 * A mode: its app process, and what must follow each request before the next one is timed
 * (the cassette written, the replay line printed), so no mode's leftover work lands in another's time.
 */
async function startMode(teardown, mode, { env = {}, register = false, settle = async () => {} }) {
  const app = await startApp(teardown, APP, { env: { BENCH_ITEMS: String(ITEMS), ...env }, register });
  let served = 0;
  return { mode, app, times: [], settle: () => settle(app, ++served) };
}

/** One request to a mode: its time, from sending to the last byte of the response, and the response. */
async function get({ mode, app }, id) {
  const started = performance.now();
  const response = await request(`${app.url}${pathOf(id)}`);
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`${mode}: GET ${pathOf(id)} answered ${response.status} ${response.text}`);
  return { ms, body: response.text };
}

/** Records every request once; replay serves these cassettes. Returns each request's response. */
async function recordForReplay(teardown, databaseUrl, dir) {
  const recording = await startMode(teardown, 'recording for replay', {
    register: true,
    env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: databaseUrl },
  });
  const recorded = new Map();
  for (const id of [...warmupIds, ...timedIds]) recorded.set(id, (await get(recording, id)).body);
  await recording.app.cassettes(recorded.size);
  await recording.app.stop();
  return recorded;
}

async function main(teardown) {
  const database = await createDatabase(teardown, SCHEMA);
  const sourceDir = tempDir(teardown, 'timetracer-bench-source-');
  const recordDir = tempDir(teardown, 'timetracer-bench-record-');
  const recorded = await recordForReplay(teardown, database.url, sourceDir);

  let replayMismatches = 0;
  let replayed = 0;
  const modes = [
    await startMode(teardown, 'live', { env: { DATABASE_URL: database.url } }),
    await startMode(teardown, 'record', {
      register: true,
      env: { TIMETRACER_MODE: 'record', TIMETRACER_DIR: recordDir, DATABASE_URL: database.url },
      settle: (app, served) => app.cassettes(served),
    }),
    await startMode(teardown, 'replay', {
      register: true,
      env: { TIMETRACER_MODE: 'replay', TIMETRACER_CASSETTE: sourceDir, DATABASE_URL: UNREACHABLE_DATABASE_URL },
      settle: async (app, served) => {
        const line = await app.waitForLine(/^timetracer replay GET \/run /, 'stderr', { count: served });
        if (!/ matched=OK /.test(line)) throw new Error(`replay did not match its cassette: ${line}\n${app.timetracerLines.join('\n')}`);
      },
    }),
    await startMode(teardown, 'app alone', { env: { BENCH_WITHOUT_PG: '1', DATABASE_URL: UNREACHABLE_DATABASE_URL } }),
  ];

  const send = async (mode, id) => {
    const { ms, body } = await get(mode, id);
    await mode.settle();
    if (mode.mode === 'replay') {
      replayed++;
      if (body !== recorded.get(id)) replayMismatches++;
    }
    return ms;
  };
  for (const id of warmupIds) for (const mode of modes) await send(mode, id);
  // Each round sends one request to every mode, starting with a different mode each round.
  for (const [round, id] of timedIds.entries()) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(round + k) % modes.length];
      mode.times.push(await send(mode, id));
    }
  }

  const perMode = Object.fromEntries(
    modes.map(({ mode, times }) => {
      const msPerRequest = median(times);
      return [mode, { ms_per_request: msPerRequest, ms_per_query: msPerRequest / QUERIES }];
    }),
  );
  const live = perMode.live.ms_per_request;
  for (const figures of Object.values(perMode)) figures.ratio_to_live = figures.ms_per_request / live;
  return {
    machine: { nproc: os.availableParallelism(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown' },
    queries_per_request: QUERIES,
    timed_requests_per_mode: REQUESTS,
    warmup_requests_per_mode: WARMUP,
    modes: perMode,
    replay_over_app_alone_ms_per_query: perMode.replay.ms_per_query - perMode['app alone'].ms_per_query,
    replayed_responses: replayed,
    replayed_responses_equal_to_recorded: replayed - replayMismatches,
  };
}

function printTable(result) {
  const { machine, modes } = result;
  const lines = [
    `pg query cost: ${result.timed_requests_per_mode} requests x ${result.queries_per_request} queries per mode, medians (nproc ${machine.nproc}, node ${machine.node})`,
    `${'mode'.padEnd(10)} ${'ms/request'.padStart(11)} ${'ms/query'.padStart(9)} ${'vs live'.padStart(8)}`,
    ...Object.entries(modes).map(
      ([mode, f]) =>
        `${mode.padEnd(10)} ${f.ms_per_request.toFixed(2).padStart(11)} ${f.ms_per_query.toFixed(4).padStart(9)} ${f.ratio_to_live.toFixed(2).padStart(8)}`,
    ),
    `replay minus app alone: ${result.replay_over_app_alone_ms_per_query.toFixed(4)} ms per query (the agent plus pg's own client work: Query, Result, row parsing)`,
    `replayed responses equal to the recorded ones: ${result.replayed_responses_equal_to_recorded}/${result.replayed_responses}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await withTeardown(async (teardown) => {
  const result = await main(teardown);
  printTable(result);
  if (options.json) fs.writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  if (result.replayed_responses_equal_to_recorded !== result.replayed_responses) process.exitCode = 1;
});
