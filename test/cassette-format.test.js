// The cassette format's building blocks: typed values, bodies, redaction, files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { decodeValue, encodeValue } from '../dist/src/cassette/codec.js';
import { decodeBody, encodeBody, TruncatedBodyError } from '../dist/src/cassette/body.js';
import { Redactor, unlinkSecrets } from '../dist/src/cassette/redact.js';
import { BodyTap } from '../dist/src/inbound/capture.js';
import { CorruptCassetteError, FileStore, readCassetteFileSync, serialiseCassette } from '../dist/src/cassette/store.js';
import { cassetteRelativePath, pathSlug } from '../dist/src/cassette/names.js';
import { tempDir } from './support/harness.js';

const policy = (maxBytes = 64 * 1024, extra = []) => ({ maxBytes, redactor: new Redactor(extra) });
const captured = (bytes, keep = 1024 * 1024) => {
  const tap = new BodyTap(keep);
  tap.add(Buffer.from(bytes));
  return tap.result();
};

test('typed values survive a trip through JSON with their types', () => {
  const value = {
    when: new Date('2026-11-25T10:00:00.000Z'),
    bytes: Buffer.from([0, 1, 255]),
    big: 12345678901234567890n,
    floats: new Float64Array([1.5, -2]),
    map: new Map([
      ['a', 1],
      [2, new Date(0)],
    ]),
    set: new Set(['x']),
    odd: [Number.NaN, Number.POSITIVE_INFINITY, -0, undefined],
    nested: { $tt: 'looks like a tag', v: 1 },
    plain: { a: [1, 'two', null, true] },
  };
  const json = JSON.parse(JSON.stringify(encodeValue(value)));
  assert.deepEqual(json.plain, { a: [1, 'two', null, true] }, 'plain JSON stays plain');
  const back = decodeValue(json);
  assert.ok(back.when instanceof Date && back.when.getTime() === value.when.getTime());
  assert.ok(Buffer.isBuffer(back.bytes) && back.bytes.equals(value.bytes));
  assert.equal(back.big, value.big);
  assert.ok(back.floats instanceof Float64Array);
  assert.deepEqual([...back.floats], [1.5, -2]);
  assert.ok(back.map instanceof Map && back.map.get(2) instanceof Date);
  assert.ok(back.set instanceof Set && back.set.has('x'));
  assert.ok(Number.isNaN(back.odd[0]));
  assert.equal(back.odd[1], Number.POSITIVE_INFINITY);
  assert.ok(Object.is(back.odd[2], -0));
  assert.equal(back.odd[3], undefined);
  assert.deepEqual(back.nested, { $tt: 'looks like a tag', v: 1 });
});

test('a value with a reference cycle is refused, not written half', () => {
  const looped = { a: 1 };
  looped.self = looped;
  assert.throws(() => encodeValue(looped), /cycle/);
});

test('JSON bodies are kept as values with secrets redacted; exact names only', () => {
  const body = encodeBody(
    captured('{"user":"ann","password":"hunter2","password_hint":"pet","nested":{"Token":"abc"}}'),
    { contentType: 'application/json' },
    policy(),
  );
  assert.equal(body.encoding, 'json');
  assert.deepEqual(body.data, { user: 'ann', password: '[REDACTED]', password_hint: 'pet', nested: { Token: '[REDACTED]' } });
  assert.equal(body.truncated, false);
  assert.equal(body.sha256.length, 64);
  assert.doesNotMatch(JSON.stringify(body), /hunter2|abc/);
});

test('pretty-printed JSON is kept as a value and replayed byte for byte', () => {
  for (const text of ['{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}', '{\n\t"a": "x"\n}\n', '[1,2]\n']) {
    const body = encodeBody(captured(text), { contentType: 'application/json' }, policy());
    assert.equal(body.encoding, 'json', JSON.stringify(text));
    assert.equal(decodeBody(body).toString(), text);
  }
  const irregular = '{ "a" :1}';
  assert.equal(encodeBody(captured(irregular), { contentType: 'application/json' }, policy()).encoding, 'utf8');
});

test('JSON sent under another content type is still redacted', () => {
  const body = encodeBody(captured('{"password":"hunter2"}'), { contentType: 'text/plain' }, policy());
  assert.deepEqual(body.data, { password: '[REDACTED]' });
});

test('multipart fields with secret names are redacted; the random boundary does not change the hash', () => {
  const form = (boundary, password) =>
    [
      `--${boundary}`,
      'Content-Disposition: form-data; name="user"',
      '',
      'ann',
      `--${boundary}`,
      'Content-Type: text/plain',
      'Content-Disposition: form-data; name="password"',
      '',
      password,
      `--${boundary}--`,
      '',
    ].join('\r\n');
  const encode = (boundary, password) =>
    encodeBody(captured(form(boundary, password)), { contentType: `multipart/form-data; boundary=${boundary}` }, policy());
  const one = encode('----formdata-undici-0123', 'hunter2');
  const two = encode('----formdata-undici-9876', 'other-secret');
  assert.doesNotMatch(one.data, /hunter2/);
  assert.match(one.data, /name="password"\r\n\r\n\[REDACTED\]\r\n/);
  assert.match(one.data, /name="user"\r\n\r\nann\r\n/);
  assert.equal(one.sha256, two.sha256, 'same fields, other boundary: the same call');
});

test('JSON that parsing would change (big numbers) is kept as its exact text', () => {
  const text = '{"id":12345678901234567890}';
  const body = encodeBody(captured(text), { contentType: 'application/json' }, policy());
  assert.equal(body.encoding, 'utf8');
  assert.equal(body.data, text);
  assert.equal(decodeBody(body).toString(), text);
});

test('gzip bodies are stored decoded and compressed again on replay', () => {
  const json = { hello: 'world', list: [1, 2, 3] };
  const body = encodeBody(
    captured(zlib.gzipSync(JSON.stringify(json))),
    { contentType: 'application/json', contentEncoding: 'gzip' },
    policy(),
  );
  assert.equal(body.content_encoding, 'gzip');
  assert.deepEqual(body.data, json);
  assert.deepEqual(JSON.parse(zlib.gunzipSync(decodeBody(body)).toString()), json);
});

test('binary bodies are base64 and come back byte for byte', () => {
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]);
  const body = encodeBody(captured(bytes), { contentType: 'image/png' }, policy());
  assert.equal(body.encoding, 'base64');
  assert.ok(decodeBody(body).equals(bytes));
});

test('form bodies lose their secret fields', () => {
  const body = encodeBody(captured('user=ann&password=hunter2'), { contentType: 'application/x-www-form-urlencoded' }, policy());
  assert.equal(body.data, 'user=ann&password=%5BREDACTED%5D');
});

test('bodies over the limit are truncated, marked, sized and hashed, and refuse to replay', () => {
  const text = JSON.stringify({ filler: 'x'.repeat(5000), secret: 's3cr3t' });
  const whole = encodeBody(captured(text), { contentType: 'application/json' }, policy(1024));
  assert.equal(whole.truncated, true);
  assert.equal(whole.size_bytes, Buffer.byteLength(text));
  assert.ok(whole.data.length <= 1024);
  assert.throws(() => decodeBody(whole), TruncatedBodyError);

  // A body longer than what the tap keeps: the start is kept, the rest only counted and hashed.
  const long = JSON.stringify({ password: 'hunter2', filler: 'y'.repeat(10000) });
  const tap = new BodyTap(512);
  for (let i = 0; i < long.length; i += 100) tap.add(Buffer.from(long.slice(i, i + 100)));
  const cut = encodeBody(tap.result(), { contentType: 'application/json' }, policy(512));
  assert.equal(cut.truncated, true);
  assert.equal(cut.size_bytes, long.length);
  assert.match(cut.data, /^\{"password":"\[REDACTED\]"/, 'secrets in the kept start are redacted too');
});

test('headers, query parameters and extra names are redacted, headers in their shape', () => {
  const redactor = new Redactor(['x-tenant']);
  assert.deepEqual(
    redactor.headers({
      authorization: 'Bearer t',
      cookie: 'a=1; b=2',
      'set-cookie': ['a=1; Path=/', 'b=2'],
      'X-Tenant': 'acme',
      'X-Parse-Session-Token': 'r:1',
      accept: '*/*',
    }),
    {
      authorization: 'Bearer [REDACTED]',
      cookie: 'a=[REDACTED]; b=[REDACTED]',
      'set-cookie': ['a=[REDACTED]; Path=/', 'b=[REDACTED]'],
      'X-Tenant': '[REDACTED]',
      'X-Parse-Session-Token': '[REDACTED]',
      accept: '*/*',
    },
  );
  assert.deepEqual(redactor.query({ api_key: 'k', q: 'cats' }), { api_key: '[REDACTED]', q: 'cats' });
});

test("a name is a secret's in any spelling, and when it ends in a word that only names secrets", () => {
  const { value } = new Redactor().json({
    apiKey: 'k1',
    API_KEY: 'k2',
    sessionToken: 'r:abc',
    new_password: 'pw',
    webhookSecret: 's',
    hasPassword: true,
    password_hint: 'pet',
    max_tokens: 50,
    token_type: 'bearer',
  });
  assert.deepEqual(value, {
    apiKey: '[REDACTED]',
    API_KEY: '[REDACTED]',
    sessionToken: '[REDACTED]',
    new_password: '[REDACTED]',
    webhookSecret: '[REDACTED]',
    hasPassword: true,
    password_hint: 'pet',
    max_tokens: 50,
    token_type: 'bearer',
  });
  const cut = new Redactor().textFragment('{"sessionToken":"r:abc","apiKey":"k","n":1');
  assert.equal(cut, '{"sessionToken":"[REDACTED]","apiKey":"[REDACTED]","n":1');
});

test('linked redaction writes one secret the same wherever it is, and hashes bodies as if unlinked', () => {
  const plain = new Redactor();
  const linking = plain.linking();
  const marker = /^\[REDACTED:([0-9a-f]{8})\]$/;
  const { value } = linking.json({ data: { access_token: 'tok-1', refresh_token: 'tok-2' } });
  const headers = linking.headers({ authorization: 'Bearer tok-1' });
  assert.match(value.data.access_token, marker);
  assert.equal(
    headers.authorization,
    `Bearer ${value.data.access_token}`,
    'the token a login answered and the one a later request sends read the same',
  );
  assert.notEqual(value.data.access_token, value.data.refresh_token);
  assert.notEqual(
    plain.linking().json({ token: 'tok-1' }).value.token,
    linking.json({ token: 'tok-1' }).value.token,
    'another process, another key: a link says nothing about the secret',
  );
  assert.equal(
    unlinkSecrets(`a=${encodeURIComponent(value.data.access_token)}&b=${value.data.refresh_token}`),
    'a=%5BREDACTED%5D&b=[REDACTED]',
  );

  const sent = { contentType: 'application/json' };
  const body = JSON.stringify({ user: 'ann', password: 'hunter2' });
  const linked = encodeBody(captured(body), sent, { maxBytes: 1024, redactor: linking });
  const unlinked = encodeBody(captured(body), sent, { maxBytes: 1024, redactor: plain });
  assert.match(linked.data.password, marker);
  assert.equal(linked.sha256, unlinked.sha256, 'replay, redacting without links, finds the request by the same hash');
});

function sampleCassette(overrides = {}) {
  return {
    schema_version: '1.0',
    session: {
      id: '88d76871',
      kind: 'request',
      recorded_at: '2026-01-23T10:00:00.000Z',
      service: 's',
      env: 'test',
      framework: 'node:http',
      node: process.version,
      timetracer: '0',
    },
    request: { method: 'GET', path: '/user/octocat', route: null, query: {}, headers: {}, body: null },
    response: { status: 200, duration_ms: 1, headers: {}, body: null },
    events: [
      {
        eid: 1,
        type: 'db.query',
        start_offset_ms: 0,
        duration_ms: 1,
        signature: { lib: 'pg', sql: 'select $1', params: [new Date(0)] },
        result: { rows: [{ b: Buffer.from('hi') }] },
      },
    ],
    stats: { event_counts: { 'db.query': 1 }, total_ms: 1 },
    ...overrides,
  };
}

test('cassette files are named by day, method, path and id', () => {
  assert.equal(cassetteRelativePath(sampleCassette(), false), path.join('2026-01-23', 'GET__user_octocat__88d76871.json'));
  assert.equal(pathSlug('/'), 'root');
  assert.equal(pathSlug('/a b/<script>/c?x=1'), 'a-b_-script-_c');
});

test('the file store writes atomically, plain or gzip, and reads back the same types', async (t) => {
  const dir = tempDir(t);
  for (const gzip of [false, true]) {
    const store = new FileStore(dir, gzip);
    const file = store.writeSync(store.encode(serialiseCassette(sampleCassette())));
    assert.ok(file.endsWith(gzip ? '.json.gz' : '.json'));
    const back = readCassetteFileSync(file);
    assert.ok(back.events[0].signature.params[0] instanceof Date);
    assert.ok(Buffer.isBuffer(back.events[0].result.rows[0].b));
  }
  const leftovers = fs.readdirSync(path.join(dir, '2026-01-23')).filter((name) => name.includes('.tmp'));
  assert.deepEqual(leftovers, [], 'no temporary file is left behind');
  assert.equal(serialiseCassette(sampleCassette()).text.split('\n')[1], '  "schema_version": "1.0",', 'stable key order, 2-space indent');
});

test('corrupt cassettes are reported in one clear sentence', (t) => {
  const dir = tempDir(t);
  const cases = {
    'not-json.json': '{"schema_version": "1.0", ',
    'array.json': '[]',
    'old.json': JSON.stringify({ ...sampleCassette(), schema_version: '0.9' }),
    'no-events.json': JSON.stringify({ ...sampleCassette(), events: undefined }),
    'bad-event.json': JSON.stringify({ ...sampleCassette(), events: [{ eid: 1, type: 'http.client' }] }),
  };
  const messages = {};
  for (const [name, text] of Object.entries(cases)) {
    fs.writeFileSync(path.join(dir, name), text);
    try {
      readCassetteFileSync(path.join(dir, name));
      assert.fail(`${name} was accepted`);
    } catch (error) {
      assert.ok(error instanceof CorruptCassetteError, `${name}: ${error}`);
      messages[name] = error.message;
    }
  }
  assert.match(messages['not-json.json'], /not-json\.json is not valid JSON/);
  assert.match(messages['array.json'], /is not a cassette/);
  assert.match(messages['old.json'], /schema_version "0\.9"; this timetracer reads 1\.0/);
  assert.match(messages['no-events.json'], /no-events\.json is not a usable cassette: events is not a list$/);
  assert.match(messages['bad-event.json'], /bad-event\.json is not a usable cassette: events\[0\]\.signature is not an object$/);
  assert.throws(() => readCassetteFileSync(path.join(dir, 'missing.json')), /missing\.json: no such file/);
});

test('the file store never writes over a cassette already there', async (t) => {
  const dir = tempDir(t);
  const store = new FileStore(dir, false);
  const first = store.writeSync(store.encode(serialiseCassette(sampleCassette())));
  const twin = sampleCassette({ response: { status: 500, duration_ms: 1, headers: {}, body: null } });
  assert.throws(() => store.writeSync(store.encode(serialiseCassette(twin))), { code: 'EEXIST' });
  assert.equal(readCassetteFileSync(first).response.status, 200, 'the first cassette is intact');
  assert.deepEqual(
    fs.readdirSync(path.dirname(first)).filter((name) => name.includes('.tmp')),
    [],
  );
});

test('the writer gives a cassette whose random name is taken a fresh id', async (t) => {
  const { CassetteWriter } = await import('../dist/src/record/writer.js');
  const dir = tempDir(t);
  const writer = new CassetteWriter({ root: dir, gzip: false });
  // The writer's thread never keeps a process alive (an app's server does): this test does.
  const keepAlive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(keepAlive));
  const files = await new Promise((resolve) => {
    const written = [];
    const done = (file) => written.push(file) === 2 && resolve(written);
    writer.submit(sampleCassette(), done);
    writer.submit(sampleCassette(), done);
  });
  const ids = files.map((file) => readCassetteFileSync(file).session.id);
  assert.equal(new Set(files).size, 2, 'two files');
  assert.equal(new Set(ids).size, 2, 'the second got an id of its own');
  assert.ok(ids.includes('88d76871'));
});

test('on exit the writer waits for the cassettes it was handed', async (t) => {
  const { CassetteWriter } = await import('../dist/src/record/writer.js');
  const dir = tempDir(t);
  const writer = new CassetteWriter({ root: dir, gzip: false });
  const announced = [];
  const paths = Array.from({ length: 50 }, (_, i) => `/p${i}`);
  for (const path of paths) {
    writer.submit(sampleCassette({ request: { method: 'GET', path, route: null, query: {}, headers: {}, body: null } }), (file) =>
      announced.push(file),
    );
  }
  writer.flushSync();
  const written = fs.readdirSync(path.join(dir, '2026-01-23')).filter((name) => name.endsWith('.json'));
  assert.equal(written.length, paths.length);
  assert.equal(announced.length, paths.length, 'every cassette written is announced');
});

test('when the disk falls behind, the writer drops new cassettes and says how many, instead of holding them', async (t) => {
  const { CassetteWriter } = await import('../dist/src/record/writer.js');
  const dir = tempDir(t);
  // Ten cassettes may wait; a hundred are handed over in one turn of the event loop, before the
  // writer's thread can confirm any, as when requests come faster than files can be made.
  const writer = new CassetteWriter({ root: dir, gzip: false, maxPending: 10 });
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = (text) => lines.push(String(text).trimEnd()) > 0;
  const announced = [];
  try {
    for (let i = 0; i < 100; i++) {
      writer.submit(
        sampleCassette({ request: { method: 'GET', path: `/p${i}`, route: null, query: {}, headers: {}, body: null } }),
        (file) => announced.push(file),
      );
    }
    writer.flushSync();
  } finally {
    process.stderr.write = write;
  }
  const written = fs.readdirSync(path.join(dir, '2026-01-23')).filter((name) => name.endsWith('.json'));
  assert.equal(written.length, 10, 'the ten that could wait are written');
  assert.equal(announced.length, 10);
  assert.deepEqual(lines, [
    'timetracer [WARN] cassettes are being written slower than they are recorded; dropping new ones (the app is unaffected)',
    'timetracer [WARN] 90 cassette(s) were dropped because the disk could not keep up',
  ]);
});

test('a body tap keeps the first bytes and hashes all of them, whatever the chunks', () => {
  const chunks = [Buffer.from('0123456789'), 'abcdefghij', Buffer.from('KLMNOPQRST'), 'é and more text', new Uint8Array([1, 2, 3])];
  const whole = Buffer.concat(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk))));
  const tap = new BodyTap(15);
  for (const chunk of chunks) tap.add(chunk);
  const result = tap.result();
  assert.deepEqual(result.bytes, whole.subarray(0, 15));
  assert.equal(result.size, whole.length);
  assert.equal(result.complete, false);
  assert.equal(result.sha256, createHash('sha256').update(whole).digest('hex'));
});

test("a number written as text (a BigInt, an Extended JSON $numberLong such as a cursor id) is not taken for a card's", () => {
  const digits = '4111111111111111'; // Luhn-valid
  const cassette = sampleCassette({
    events: [
      {
        ...sampleCassette().events[0],
        result: { rows: [{ big: BigInt(digits), reply: { cursor: { id: { $numberLong: digits } } }, typed: digits }] },
      },
    ],
  });
  const { text } = serialiseCassette(cassette, { redactor: new Redactor() });
  const [row] = decodeValue(JSON.parse(text)).events[0].result.rows;
  assert.equal(row.big, BigInt(digits));
  assert.deepEqual(row.reply, { cursor: { id: { $numberLong: digits } } });
  assert.equal(row.typed, '[REDACTED]', 'a card number the app handled as text is still redacted');
});
