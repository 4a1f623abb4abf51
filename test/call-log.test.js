// The call log of a recording session: timing, calls as far as they went, calls that never happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { CallLog } from '../dist/src/record/call-log.js';

const outcome = (n) => () => ({ signature: { lib: 'test', n } });

test('a cancelled call settles the log and leaves no event; an unfinished one is kept as far as it went', async () => {
  const log = new CallLog(performance.now());
  const ended = log.start('http.client');
  const cancelled = log.start('db.query');
  const unfinished = log.start('http.client');
  ended.end(outcome(1));
  cancelled.cancel();
  unfinished.sofar(outcome(3));
  // Only the unfinished call is pending: the log settles when the grace runs out, not before.
  let settled = false;
  const waiting = log.settled(50).then(() => {
    settled = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false);
  // The grace timer does not keep a process alive (it must not hold the app open): this test does.
  const keepAlive = setTimeout(() => {}, 10_000);
  await waiting;
  clearTimeout(keepAlive);
  const { events, unfinished: left } = log.close();
  assert.deepEqual(
    events.map((e) => e.signature.n),
    [1, 3],
  );
  assert.deepEqual(
    events.map((e) => e.eid),
    [1, 2],
  );
  assert.equal(left, 0);
  assert.equal(log.start('db.query'), undefined, 'a closed log takes no more calls');
});

test('the log settles as soon as its last pending call ends or is cancelled', async () => {
  const log = new CallLog(performance.now());
  const a = log.start('db.query');
  const b = log.start('db.query');
  const settled = log.settled(60_000);
  a.end(outcome(1));
  b.cancel();
  await settled;
  assert.equal(log.close().events.length, 1);
});

test("an instrumentation's fault in describing a call costs that call's data only: the others are kept, and it says why", () => {
  const log = new CallLog(performance.now());
  log.start('db.query').end(outcome(1));
  log.start('db.query').end(() => {
    throw new TypeError("Cannot read properties of undefined (reading 'rows')");
  });
  log.start('http.client').end(outcome(3));
  const { events } = log.close();
  assert.deepEqual(
    events.map((e) => [e.eid, e.type, e.signature?.n ?? null]),
    [
      [1, 'db.query', 1],
      [2, 'db.query', null],
      [3, 'http.client', 3],
    ],
  );
  assert.equal(events[1].error.name, 'TimetracerRecordError');
  assert.match(
    events[1].error.message,
    /^could not describe this call: TypeError: Cannot read properties of undefined \(reading 'rows'\)$/,
  );
});

test('a call holding a value that cannot be written (a cycle, a getter that throws) costs that call only, never the cassette', async () => {
  const { serialiseCassette } = await import('../dist/src/cassette/store.js');
  const cyclic = { name: 'row' };
  cyclic.self = cyclic;
  const hostile = {};
  Object.defineProperty(hostile, 'secret', {
    enumerable: true,
    get: () => {
      throw new Error('no reading me');
    },
  });
  const event = (eid, result) => ({
    eid,
    type: 'db.query',
    start_offset_ms: 0,
    duration_ms: 1,
    signature: { lib: 'test', n: eid },
    result,
  });
  const cassette = {
    schema_version: '1.0',
    session: {
      id: 'abcd1234',
      kind: 'request',
      recorded_at: '2026-12-05T00:00:00.000Z',
      service: 's',
      env: 'e',
      framework: 'node:http',
      node: 'v20',
      timetracer: '0',
    },
    request: { method: 'GET', path: '/x', route: null, query: {}, headers: {}, body: null },
    response: { status: 200, duration_ms: 1, headers: {}, body: null },
    events: [event(1, { ok: true }), event(2, cyclic), event(3, hostile)],
    stats: { event_counts: { 'db.query': 3 }, total_ms: 1 },
  };
  const written = JSON.parse(serialiseCassette(cassette).text);
  assert.deepEqual(written.events[0].result, { ok: true });
  for (const i of [1, 2]) {
    assert.equal(written.events[i].result, undefined);
    assert.equal(written.events[i].error.name, 'TimetracerRecordError');
    assert.match(written.events[i].error.message, /^this call's data could not be written: /);
  }
});
