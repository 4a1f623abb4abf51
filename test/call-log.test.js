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
