// Replay matching: keys, n-th occurrence queues, nearest-miss explanations; and configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matcher } from '../dist/src/replay/matcher.js';
import { missReason } from '../dist/src/replay/miss.js';
import { readConfig } from '../dist/src/config.js';

const event = (eid, signature, result) => ({ eid, type: 'db.query', start_offset_ms: eid, duration_ms: 1, signature, result });

test('the n-th identical call gets the n-th recording, whatever order the calls come in', () => {
  const events = [
    event(1, { lib: 'pg', sql: 'select $1', params: ['a'] }, 'first a'),
    event(2, { lib: 'pg', sql: 'select $1', params: ['b'] }, 'only b'),
    event(3, { lib: 'pg', sql: 'select $1', params: ['a'] }, 'second a'),
  ];
  const matcher = new Matcher(events);
  const lookup = (params) => ({ type: 'db.query', signature: { params, sql: 'select $1', lib: 'pg' } });
  assert.equal(matcher.take(lookup(['b'])).result, 'only b', 'field order in the signature does not matter');
  assert.equal(matcher.take(lookup(['a'])).result, 'first a');
  assert.equal(
    matcher
      .unused()
      .map((e) => e.eid)
      .join(),
    '3',
  );
  assert.equal(matcher.take(lookup(['a'])).result, 'second a');
  assert.equal(matcher.take(lookup(['a'])), undefined, 'a call made more often than recorded misses');
});

test('typed values in signatures match by value', () => {
  const matcher = new Matcher([event(1, { lib: 'pg', sql: 'q', params: [new Date(5), Buffer.from('x')] }, 'ok')]);
  assert.equal(
    matcher.take({ type: 'db.query', signature: { lib: 'pg', sql: 'q', params: [new Date(5), Buffer.from('x')] } })?.result,
    'ok',
  );
});

test('a miss names the nearest recording and the fields that differ', () => {
  const matcher = new Matcher([
    event(1, { lib: 'pg', sql: 'select * from users where id = $1', params: ['7'] }),
    event(2, { lib: 'pg', sql: 'select * from orders', params: [] }),
  ]);
  const lookup = { type: 'db.query', signature: { lib: 'pg', sql: 'select * from users where id = $1', params: ['8'] } };
  assert.equal(matcher.take(lookup), undefined);
  assert.equal(missReason(matcher.nearest(lookup), undefined), 'nearest: eid 1, params[0] "8" != recorded "7"');

  const bodyLookup = {
    type: 'http.client',
    signature: { lib: 'fetch', method: 'POST', url: 'http://x/a', body_sha256: 'aaa' },
    body: { encoding: 'json', data: { n: 4, keep: true }, truncated: false, size_bytes: 1, sha256: 'aaa' },
  };
  const http = new Matcher([
    {
      eid: 3,
      type: 'http.client',
      start_offset_ms: 0,
      duration_ms: 1,
      signature: { lib: 'fetch', method: 'POST', url: 'http://x/a', body_sha256: 'bbb' },
      request: { headers: {}, body: { encoding: 'json', data: { n: 3, keep: true }, truncated: false, size_bytes: 1, sha256: 'bbb' } },
    },
  ]);
  assert.equal(
    missReason(http.nearest(bodyLookup), undefined),
    'nearest: eid 3, body.n 4 != recorded 3',
    'body fields say more than hashes',
  );
  assert.equal(missReason(new Matcher([]).nearest(lookup), undefined), 'no call of this kind was recorded in the cassette');
});

test('configuration: defaults, and one sentence naming the variable for a bad value', () => {
  const ok = readConfig({ TIMETRACER_MODE: 'record' });
  assert.equal(ok.ok, true);
  assert.equal(ok.config.dir, './cassettes');
  assert.equal(ok.config.cassette, './cassettes', 'replay reads where record writes unless told');
  assert.equal(ok.config.strictReplay, true);
  assert.deepEqual(ok.config.excludePaths, ['/health', '/metrics']);
  assert.equal(ok.config.maxBodyBytes, 64 * 1024);
  assert.equal(readConfig({}).config.mode, 'off');

  const problems = [
    [{ TIMETRACER_MODE: 'recrod' }, 'TIMETRACER_MODE="recrod" is not valid; use one of: off, record, replay'],
    [{ TIMETRACER_SAMPLE_RATE: '2' }, 'TIMETRACER_SAMPLE_RATE="2" is not valid; use a number from 0 to 1'],
    [{ TIMETRACER_STRICT_REPLAY: 'maybe' }, 'TIMETRACER_STRICT_REPLAY="maybe" is not valid; use true or false'],
    [{ TIMETRACER_COMPRESSION: 'zip' }, 'TIMETRACER_COMPRESSION="zip" is not valid; use one of: none, gzip'],
    [{ TIMETRACER_MAX_BODY_KB: 'lots' }, 'TIMETRACER_MAX_BODY_KB="lots" is not valid; use a number from 0 to 1048576'],
    // Number() reads these as 1 and 0; a user who wrote them meant something else.
    [{ TIMETRACER_SAMPLE_RATE: '0x1' }, 'TIMETRACER_SAMPLE_RATE="0x1" is not valid; use a number from 0 to 1'],
    [{ TIMETRACER_SAMPLE_RATE: '1e-400' }, 'TIMETRACER_SAMPLE_RATE="1e-400" is not valid; use a number from 0 to 1'],
  ];
  for (const [written, read] of [
    ['0.25', 0.25],
    ['.5', 0.5],
    ['1e-3', 0.001],
    ['0', 0],
    ['+1', 1],
  ])
    assert.equal(readConfig({ TIMETRACER_SAMPLE_RATE: written }).config.sampleRate, read, written);
  for (const [env, problem] of problems) assert.deepEqual(readConfig(env), { ok: false, problem });
});

test('an HTTP call is matched on method, URL with its query in any order, and body hash; never on headers', async () => {
  const { httpLookup } = await import('../dist/instrumentations/http/call.js');
  const { Redactor } = await import('../dist/src/cassette/redact.js');
  const policy = { maxBytes: 65536, redactor: new Redactor() };
  const call = (url, headers, body = '') =>
    httpLookup('undici', { method: 'post', url, headers, body: { bytes: Buffer.from(body), size: body.length, complete: true } }, policy)
      .signature;
  const recorded = call('HTTPS://API.example.com:443/items?b=2&a=1#top', { authorization: 'Bearer one', 'x-request-id': '1' }, '{"n":1}');
  const live = call('https://api.example.com/items?a=1&b=2', { authorization: 'Bearer two', 'x-request-id': '2' }, '{"n":1}');
  assert.deepEqual(live, recorded);
  assert.deepEqual(Object.keys(recorded).sort(), ['body_sha256', 'lib', 'method', 'url']);
  assert.equal(recorded.url, 'https://api.example.com/items?a=1&b=2');
  assert.notDeepEqual(call('https://api.example.com/items?a=1&b=2', {}, '{"n":2}'), recorded, 'another body is another call');
  assert.equal(
    call('https://api.example.com/items?token=abc', {}).url,
    'https://api.example.com/items?token=%5BREDACTED%5D',
    'a secret query parameter is redacted before matching',
  );
});
