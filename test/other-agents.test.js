// timetracer beside the observability agents apps already run: the OpenTelemetry Node SDK with
// every auto-instrumentation, and dd-trace, each loaded before and after timetracer. An Express
// app on PostgreSQL calling an upstream through node:http and fetch (libraries both agents wrap)
// is recorded, then replayed with PostgreSQL and the upstream out of reach: every call recorded
// once and served once, the other agent's spans still reach its collector (a local stand-in:
// OTLP/HTTP for OpenTelemetry, the trace agent's API for dd-trace) in both modes, and what that
// agent sends is never recorded nor refused. With OpenTelemetry, each cassette holds the trace and
// span ids of its request's server span, and `timetracer list --trace` finds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { browserPage } from './support/browser.js';
import {
  APPS,
  ROOT,
  cassetteFiles,
  createDatabase,
  processCassetteFiles,
  readJson,
  request,
  runNode,
  startApp,
  startTripwire,
  startUpstream,
  tempDir,
} from './support/harness.js';

const APP = path.join(APPS, 'traced-app.cjs');
const OPENTELEMETRY = path.join(APPS, 'preload', 'opentelemetry.mjs');
const CLI = path.join(ROOT, 'bin', 'timetracer.mjs');
const NAMES = ['ada', 'grace'];
const SERVER_SPAN = 2;

/** A collector stand-in: keeps what each POST or PUT brings, and says so. */
async function startCollector(t, parse) {
  const collector = new EventEmitter();
  collector.received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      collector.received.push(...parse(req, Buffer.concat(chunks)));
      res.setHeader('content-type', 'application/json');
      res.end('{}');
      collector.emit('received');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  collector.url = `http://127.0.0.1:${server.address().port}`;
  /** Resolves once what it received satisfies `done`. */
  collector.until = async (done, what) => {
    const timeout = AbortSignal.timeout(20_000);
    while (!done(collector.received)) {
      await once(collector, 'received', { signal: timeout }).catch(() => {
        throw new Error(`the collector never received ${what}; it has ${collector.received.length} item(s)`);
      });
    }
  };
  return collector;
}

/** OTLP/HTTP JSON: the spans of an export request. */
function otlpSpans(req, body) {
  if (!req.url.endsWith('/v1/traces')) return [];
  return JSON.parse(body).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
}

function upstreamFor(t) {
  return startUpstream(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ at: req.url, size: req.url.length }));
  });
}

async function askAll(app) {
  const responses = [];
  for (const name of NAMES) {
    const response = await request(`${app.url}/users/${name}`);
    assert.equal(response.status, 200, `${response.text}\n${app.stderr.join('\n')}`);
    responses.push(response.json());
  }
  return responses;
}

/** Every cassette holds the request's three calls, each once, and Express's route. */
function assertCalledOnce(cassettes, upstream) {
  assert.equal(cassettes.length, NAMES.length);
  for (const cassette of cassettes) {
    const name = cassette.request.path.split('/')[2];
    assert.equal(cassette.session.framework, 'express');
    assert.equal(cassette.request.route, '/users/:name');
    assert.deepEqual(
      cassette.events.map((e) => [e.type, e.signature.lib, e.signature.url ?? e.signature.sql]),
      [
        ['db.query', 'pg', 'SELECT upper($1::text) AS shout'],
        ['http.client', 'http', `${upstream.url}/profiles/${name}`],
        ['http.client', 'fetch', `${upstream.url}/repos/${name}`],
      ],
      cassette.request.path,
    );
  }
}

/**
 * Records, then replays with PostgreSQL and the upstream out of reach; `recorded` runs between the
 * two. Returns the recording's directory and cassettes.
 */
async function recordAndReplay(t, { preload, env: agentEnv, recorded = async () => {} }) {
  const db = await createDatabase(t);
  const upstream = await upstreamFor(t);
  const dir = tempDir(t);
  const recording = await startApp(t, APP, {
    ...preload,
    env: { ...agentEnv, TIMETRACER_MODE: 'record', TIMETRACER_DIR: dir, DATABASE_URL: db.url, UPSTREAM_URL: upstream.url },
  });
  const live = await askAll(recording);
  await recording.cassettes(NAMES.length);
  await recording.stop();
  const cassettes = cassetteFiles(dir).map(readJson);
  assertCalledOnce(cassettes, upstream);
  // What the agent sent its collector is no call of the app's, not even outside requests.
  for (const file of processCassetteFiles(dir)) assert.deepEqual(readJson(file).events, [], file);
  await recorded();

  await upstream.close();
  const [web, postgres] = [await startTripwire(t, upstream.port), await startTripwire(t)];
  const replaying = await startApp(t, APP, {
    ...preload,
    env: {
      ...agentEnv,
      TIMETRACER_MODE: 'replay',
      TIMETRACER_CASSETTE: dir,
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/stopped`,
      UPSTREAM_URL: upstream.url,
    },
  });
  const replayed = await askAll(replaying);
  assert.deepEqual(replayed, live);
  for (const name of NAMES) {
    await replaying.waitForLine(new RegExp(`^timetracer replay GET /users/${name} mocked=3 matched=OK runtime=\\d+ms$`), 'stderr');
  }
  assert.deepEqual([web.connections, postgres.connections], [0, 0]);
  assert.deepEqual(
    replaying.timetracerLines.filter((line) => /MISS|refused|WARN/.test(line)),
    [],
  );
  return { dir, cassettes, recording, replaying };
}

for (const order of ['before', 'after']) {
  test(`OpenTelemetry SDK and auto-instrumentations loaded ${order} timetracer: calls once, spans exported, trace ids in cassettes`, async (t) => {
    const collector = await startCollector(t, otlpSpans);
    const preload =
      order === 'before' ? { register: false, preload: [OPENTELEMETRY, 'timetracer/register'] } : { preload: [OPENTELEMETRY] };
    const env = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    };
    const { dir, cassettes } = await recordAndReplay(t, { preload, env });

    for (const cassette of cassettes) {
      const { trace_id: traceId, span_id: spanId } = cassette.session;
      assert.match(traceId ?? '', /^[0-9a-f]{32}$/, cassette.request.path);
      assert.match(spanId ?? '', /^[0-9a-f]{16}$/, cassette.request.path);
      // The request's server span, and the spans of its calls in the same trace.
      await collector.until(
        (spans) => spans.some((s) => s.spanId === spanId) && spans.filter((s) => s.traceId === traceId).length >= 4,
        `the spans of trace ${traceId}`,
      );
      const server = collector.received.find((s) => s.spanId === spanId);
      assert.equal(server.traceId, traceId);
      assert.equal(server.kind, SERVER_SPAN);
      const inTrace = collector.received.filter((s) => s.traceId === traceId);
      assert.ok(
        inTrace.some((s) => s.name.startsWith('pg.query')),
        `a pg span in the trace: ${inTrace.map((s) => s.name).join(', ')}`,
      );

      const found = await runNode([CLI, 'list', '--dir', dir, '--trace', traceId, '--json']);
      assert.equal(found.code, 0, found.stderr);
      assert.deepEqual(
        JSON.parse(found.stdout).map((s) => s.id),
        [cassette.session.id],
      );
      const shown = await runNode([CLI, 'show', cassetteFiles(dir).find((file) => file.includes(cassette.session.id))]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`trace ${traceId}  span ${spanId}`));
    }
    // The dashboard finds a trace's requests, by its filter and by its search box.
    const dashboard = await startApp(t, CLI, { register: false, waitForPort: false, args: ['serve', '--dir', dir, '--port', '0'] });
    const url = /^timetracer dashboard: (http:\S+) /.exec(await dashboard.waitForLine(/^timetracer dashboard: /, 'stdout'))[1];
    // In Chromium: a cassette's page shows its trace and span; the trace lists that trace's requests.
    const [first] = cassettes;
    const { page, pageErrors } = await browserPage(t);
    const key = path.relative(
      dir,
      cassetteFiles(dir).find((file) => file.includes(first.session.id)),
    );
    await page.goto(`${url}#/cassette/${encodeURIComponent(key)}`);
    await page.waitForSelector('a.trace-link');
    const facts = Object.fromEntries(
      await page.$$eval('.fact', (nodes) =>
        nodes.map((node) => [node.querySelector('dt').textContent, node.querySelector('dd').textContent]),
      ),
    );
    assert.deepEqual([facts.Trace, facts.Span], [first.session.trace_id, first.session.span_id]);
    await page.click('a.trace-link');
    await page.waitForFunction((id) => {
      const rows = document.querySelectorAll('#rows tr');
      return rows.length === 1 && rows[0].querySelector('a').getAttribute('href').includes(id);
    }, first.session.id);
    assert.deepEqual(pageErrors, []);
    for (const cassette of cassettes) {
      for (const query of [{ trace: cassette.session.trace_id }, { q: cassette.session.trace_id }]) {
        const answer = (await request(`${url}api/cassettes?${new URLSearchParams(query)}`)).json();
        assert.deepEqual(
          answer.items.map((s) => [s.id, s.trace_id]),
          [[cassette.session.id, cassette.session.trace_id]],
          JSON.stringify(query),
        );
      }
    }
    // Replay's requests are traced too: server spans of traces no recording has.
    const recordedTraces = new Set(cassettes.map((c) => c.session.trace_id));
    await collector.until(
      (spans) => spans.filter((s) => s.kind === SERVER_SPAN && !recordedTraces.has(s.traceId)).length >= NAMES.length,
      'the replayed requests’ server spans',
    );
  });
}

/** dd-trace's agent API (msgpack): what names each payload holds, read as text. */
function ddTracePayloads(req, body) {
  return req.url.includes('/traces') ? [body.toString('latin1')] : [];
}

for (const order of ['before', 'after']) {
  test(`dd-trace loaded ${order} timetracer: calls once, spans sent to its agent in both modes`, async (t) => {
    const agent = await startCollector(t, ddTracePayloads);
    const preload =
      order === 'before'
        ? { register: false, preload: ['dd-trace/initialize.mjs', 'timetracer/register'] }
        : { preload: ['dd-trace/initialize.mjs'] };
    const env = {
      DD_TRACE_AGENT_URL: agent.url,
      DD_TRACE_FLUSH_INTERVAL: '0',
      DD_SERVICE: 'traced-app',
      DD_TRACE_STARTUP_LOGS: 'false',
    };
    // Express's and pg's spans reach the agent from the recording run, then from the replaying one.
    const spansSent = (run) =>
      agent.until(
        (payloads) => ['express.request', 'pg.query'].every((name) => payloads.some((payload) => payload.includes(name))),
        `express and pg spans while ${run}`,
      );
    const { cassettes } = await recordAndReplay(t, {
      preload,
      env,
      recorded: async () => {
        await spansSent('recording');
        agent.received.length = 0;
      },
    });
    await spansSent('replaying');
    for (const cassette of cassettes) assert.equal(cassette.session.trace_id, undefined, 'dd-trace is not an OpenTelemetry context');
  });
}
