// Writes N synthetic cassettes for trying the dashboard and measuring it on a large directory:
// a made-up shop API (products, orders, users, sessions, search) whose requests make pg queries,
// HTTP calls and Redis commands, with varied methods, statuses, failures and timings, recorded
// over the last few days. They go through timetracer's own FileStore, so they are real cassettes
// (schema 1.0, one file per request in its day's folder), and the same seed writes the same ones.
//
// Usage: npm run build && node bench/generate-cassettes.js --dir D --count N [--days 14] [--seed 1] [--gzip]
import { createHash } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FileStore, serialiseCassette } from '../dist/src/cassette/store.js';
import { SCHEMA_VERSION } from '../dist/src/cassette/schema.js';
import { TIMETRACER_VERSION } from '../dist/src/version.js';

const DAY_MS = 86_400_000;
/** Writes in flight at once: enough to keep the disk busy without holding every cassette in memory. */
const CONCURRENT_WRITES = 64;

const { values: options } = parseArgs({
  options: {
    dir: { type: 'string' },
    count: { type: 'string' },
    days: { type: 'string', default: '14' },
    seed: { type: 'string', default: '1' },
    gzip: { type: 'boolean', default: false },
  },
});

function wholeNumber(name, min) {
  const value = Number(options[name]);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`generate-cassettes: --${name} must be a whole number of at least ${min}, not ${JSON.stringify(options[name])}\n`);
    process.exit(2);
  }
  return value;
}

if (!options.dir) {
  process.stderr.write('generate-cassettes: --dir is required (usage: --dir D --count N [--days 14] [--seed 1] [--gzip])\n');
  process.exit(2);
}
const COUNT = wholeNumber('count', 1);
const DAYS = wholeNumber('days', 1);
const SEED = wholeNumber('seed', 0);

/** mulberry32: a small seeded generator, so a seed always writes the same cassettes. */
function randomSource(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    /** Roughly log-normal milliseconds around `typical`: most calls quick, a few slow. */
    latency: (typical) => Math.round(typical * Math.exp((next() + next() + next() - 1.5) * 1.2) * 1000) / 1000,
    chance: (p) => next() < p,
  };
}

function body(value) {
  const text = JSON.stringify(value);
  return {
    encoding: 'json',
    data: value,
    truncated: false,
    size_bytes: Buffer.byteLength(text),
    sha256: createHash('sha256').update(text).digest('hex'),
  };
}

function jsonHeaders(text) {
  return { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) };
}

const STATUS_TEXT = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  402: 'Payment Required',
  404: 'Not Found',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/**
 * Builds one request's dependency calls in order, each starting a little after the previous one
 * ended (or alongside it, for calls made concurrently).
 */
class CallLog {
  constructor(random) {
    this.random = random;
    this.events = [];
    this.clock = random.latency(1.5);
  }

  add(type, typical, signature, request, outcome, { concurrent = false } = {}) {
    const previous = this.events[this.events.length - 1];
    const start = concurrent && previous ? previous.start_offset_ms + this.random.latency(0.3) : this.clock + this.random.latency(0.4);
    const duration = this.random.latency(typical);
    this.clock = Math.max(this.clock, start + duration);
    this.events.push({
      eid: this.events.length + 1,
      type,
      start_offset_ms: Math.round(start * 1000) / 1000,
      duration_ms: duration,
      signature,
      ...(request && { request }),
      ...outcome,
    });
  }

  sql(sql, params, rows, { command = `SELECT ${rows.length}`, error } = {}) {
    const fields = rows.length
      ? Object.keys(rows[0]).map((name, i) => ({
          name,
          tableID: 16390,
          columnID: i + 1,
          dataTypeID: 25,
          dataTypeSize: -1,
          dataTypeModifier: -1,
          format: 'text',
        }))
      : [];
    const outcome = error
      ? { error }
      : {
          result: {
            results: [{ command, fields, rows: rows.map((row) => Object.values(row).map((v) => (v === null ? null : String(v)))) }],
            replies: [
              [
                'parseComplete',
                'bindComplete',
                fields.length ? 'rowDescription' : 'noData',
                ...(rows.length ? [`dataRow*${rows.length}`] : []),
                'commandComplete',
                'readyForQuery:I',
              ],
            ],
          },
        };
    this.add('db.query', 2.5, { lib: 'pg', sql, params }, undefined, outcome);
  }

  http(lib, method, url, status, responseValue, { requestValue, typical = 60, concurrent = false, error } = {}) {
    const requestBody = requestValue === undefined ? null : body(requestValue);
    const signature = { lib, method, url, ...(requestBody && { body_sha256: requestBody.sha256 }) };
    const request = {
      headers: {
        accept: 'application/json',
        'user-agent': lib === 'fetch' ? 'node' : 'shop-api/2.3',
        ...(requestBody && { 'content-type': 'application/json' }),
      },
      body: requestBody,
    };
    const text = JSON.stringify(responseValue);
    const outcome = error
      ? { error }
      : {
          result: {
            status,
            status_text: STATUS_TEXT[status] ?? '',
            headers: {
              ...jsonHeaders(text),
              date: 'Tue, 24 Nov 2026 10:00:00 GMT',
              'x-request-id': createHash('md5')
                .update(url + this.clock)
                .digest('hex')
                .slice(0, 16),
            },
            body: body(responseValue),
          },
        };
    this.add('http.client', typical, signature, request, outcome, { concurrent });
  }

  redis(command, args, reply) {
    this.add('redis', 0.6, { lib: 'ioredis', command, args }, undefined, { result: { reply } });
  }
}

const NAMES = ['octocat', 'torvalds', 'gaearon', 'sindresorhus', 'tj', 'yyx990803', 'addyosmani', 'mojombo', 'defunkt', 'pjhyett'];
const CATEGORIES = ['books', 'garden', 'kitchen', 'outdoor', 'toys', 'audio'];
const PAYMENTS = 'https://payments.internal:8443';
const SEARCH = 'http://search.internal:9200';
const GITHUB = 'https://api.github.com';

function product(id, random) {
  return {
    id,
    name: `${random.pick(['Classic', 'Compact', 'Deluxe', 'Eco', 'Travel'])} ${random.pick(['kettle', 'lamp', 'tent', 'speaker', 'novel', 'planter'])}`,
    price: (random.int(199, 25000) / 100).toFixed(2),
    stock: random.int(0, 400),
  };
}

/** The shop's endpoints: each says what a request to it calls, and what it answers. */
const ENDPOINTS = [
  {
    weight: 30,
    method: 'GET',
    route: '/api/products',
    build(random, calls) {
      const category = random.pick(CATEGORIES);
      const page = random.int(1, 5);
      const rows = Array.from({ length: random.int(2, 6) }, () => product(random.int(1, 5000), random));
      calls.redis('GET', [`products:${category}:${page}`], null);
      calls.sql(
        'SELECT id, name, price, stock FROM products WHERE category = $1 ORDER BY name LIMIT 20 OFFSET $2',
        [category, String((page - 1) * 20)],
        rows,
      );
      calls.redis('SET', [`products:${category}:${page}`, '[cached page]', 'EX', '60'], 'OK');
      return { path: '/api/products', query: { category, page: String(page) }, status: 200, response: { items: rows, page } };
    },
  },
  {
    weight: 22,
    method: 'GET',
    route: '/api/products/:id',
    build(random, calls) {
      const id = random.int(1, 5000);
      const found = random.chance(0.9);
      calls.sql('SELECT id, name, price, stock FROM products WHERE id = $1', [String(id)], found ? [product(id, random)] : []);
      return {
        path: `/api/products/${id}`,
        status: found ? 200 : 404,
        response: found ? { id, available: true } : { error: 'Product not found' },
      };
    },
  },
  {
    weight: 14,
    method: 'POST',
    route: '/api/orders',
    build(random, calls) {
      const order = { product_id: random.int(1, 5000), quantity: random.int(1, 4), customer: random.pick(NAMES) };
      const amount = random.int(500, 90000);
      calls.sql('BEGIN', [], [], { command: 'BEGIN' });
      calls.sql(
        'INSERT INTO orders (product_id, quantity, customer) VALUES ($1, $2, $3) RETURNING id',
        [String(order.product_id), String(order.quantity), order.customer],
        [{ id: random.int(10000, 99999) }],
        { command: 'INSERT 0 1' },
      );
      const outcome = random.next();
      if (outcome < 0.05) {
        calls.http('fetch', 'POST', `${PAYMENTS}/v1/charges`, 0, null, {
          requestValue: { amount, currency: 'eur' },
          typical: 220,
          error: { name: 'Error', message: 'read ECONNRESET', code: 'ECONNRESET', origin: 'dependency' },
        });
        calls.sql('ROLLBACK', [], [], { command: 'ROLLBACK' });
        return {
          path: '/api/orders',
          body: order,
          status: 502,
          response: { error: 'Payment service unavailable' },
          error: { name: 'PaymentError', message: 'charge failed: read ECONNRESET' },
        };
      }
      if (outcome < 0.12) {
        calls.http(
          'fetch',
          'POST',
          `${PAYMENTS}/v1/charges`,
          402,
          { error: { code: 'card_declined', message: 'Your card was declined.' } },
          { requestValue: { amount, currency: 'eur' }, typical: 180 },
        );
        calls.sql('ROLLBACK', [], [], { command: 'ROLLBACK' });
        return { path: '/api/orders', body: order, status: 402, response: { error: 'Card declined' } };
      }
      const charge = `ch_${createHash('sha1').update(String(random.next())).digest('hex').slice(0, 14)}`;
      calls.http(
        'fetch',
        'POST',
        `${PAYMENTS}/v1/charges`,
        201,
        { id: charge, amount, currency: 'eur', status: 'succeeded' },
        { requestValue: { amount, currency: 'eur' }, typical: 180 },
      );
      calls.sql('UPDATE orders SET charge_id = $1, status = $2 WHERE id = $3', [charge, 'paid', String(random.int(10000, 99999))], [], {
        command: 'UPDATE 1',
      });
      calls.sql('COMMIT', [], [], { command: 'COMMIT' });
      return { path: '/api/orders', body: order, status: 201, response: { ok: true, charge } };
    },
  },
  {
    weight: 14,
    method: 'GET',
    route: '/api/users/:login',
    build(random, calls) {
      const login = random.chance(0.85) ? random.pick(NAMES) : `nonexistent-user-${random.int(1000, 99999)}`;
      const known = NAMES.includes(login);
      calls.sql(
        'SELECT login, plan, created_at FROM accounts WHERE login = $1',
        [login],
        known ? [{ login, plan: random.pick(['free', 'pro']), created_at: '2024-03-02T10:00:00Z' }] : [],
      );
      calls.http(
        'http',
        'GET',
        `${GITHUB}/users/${login}`,
        known ? 200 : 404,
        known ? { login, public_repos: random.int(1, 300), followers: random.int(0, 250000) } : { message: 'Not Found' },
        { typical: 110, concurrent: true },
      );
      // The bug the README's demo shows: an unknown user crashes the handler.
      return known
        ? { path: `/api/users/${login}`, status: 200, response: { login, repos: random.int(1, 300) } }
        : {
            path: `/api/users/${login}`,
            status: 500,
            response: { error: 'Internal Server Error' },
            error: { name: 'TypeError', message: "Cannot read properties of undefined (reading 'slice')" },
          };
    },
  },
  {
    weight: 8,
    method: 'PUT',
    route: '/api/users/:login/profile',
    build(random, calls) {
      const login = random.pick(NAMES);
      const valid = random.chance(0.85);
      const profile = valid
        ? { display_name: `${login[0].toUpperCase()}${login.slice(1)}`, bio: 'Building things.' }
        : { display_name: '' };
      if (valid)
        calls.sql('UPDATE accounts SET display_name = $1, bio = $2 WHERE login = $3', [profile.display_name, profile.bio, login], [], {
          command: 'UPDATE 1',
        });
      return {
        path: `/api/users/${login}/profile`,
        body: profile,
        status: valid ? 200 : 422,
        response: valid ? { ok: true } : { error: 'display_name must not be empty' },
      };
    },
  },
  {
    weight: 6,
    method: 'DELETE',
    route: '/api/sessions/:id',
    build(random, calls) {
      const id = createHash('sha1').update(String(random.next())).digest('hex').slice(0, 12);
      const deleted = random.int(0, 1);
      calls.redis('DEL', [`session:${id}`], deleted);
      return { path: `/api/sessions/${id}`, status: deleted ? 204 : 404, response: deleted ? null : { error: 'No such session' } };
    },
  },
  {
    weight: 6,
    method: 'GET',
    route: '/api/search',
    build(random, calls) {
      const q = random.pick(['kettle', 'camping tent', 'usb-c', 'gift ideas', 'sale', 'garden hose']);
      const down = random.chance(0.06);
      const hits = random.int(0, 40);
      calls.http(
        'fetch',
        'POST',
        `${SEARCH}/products/_search`,
        down ? 503 : 200,
        down ? { error: 'cluster_block_exception' } : { took: random.int(2, 40), hits: { total: hits } },
        { requestValue: { query: { match: { name: q } }, size: 20 }, typical: 35 },
      );
      return {
        path: '/api/search',
        query: { q },
        status: down ? 503 : 200,
        response: down ? { error: 'Search is unavailable' } : { q, total: hits },
      };
    },
  },
];
const TOTAL_WEIGHT = ENDPOINTS.reduce((sum, e) => sum + e.weight, 0);

function chooseEndpoint(random) {
  let ticket = random.next() * TOTAL_WEIGHT;
  for (const endpoint of ENDPOINTS) {
    ticket -= endpoint.weight;
    if (ticket < 0) return endpoint;
  }
  return ENDPOINTS[0];
}

/** The i-th cassette: the same for the same seed. */
function cassette(i, now) {
  const random = randomSource(SEED * 1_000_003 + i);
  const endpoint = chooseEndpoint(random);
  const calls = new CallLog(random);
  const built = endpoint.build(random, calls);
  const duration = Math.round((calls.clock + random.latency(2)) * 1000) / 1000;
  const requestBody = built.body === undefined ? null : body(built.body);
  const responseBody = built.response === null ? null : body(built.response);
  const responseText = built.response === null ? '' : JSON.stringify(built.response);
  const eventCounts = {};
  for (const event of calls.events) eventCounts[event.type] = (eventCounts[event.type] ?? 0) + 1;
  return {
    schema_version: SCHEMA_VERSION,
    session: {
      // Multiplying by an odd constant is a bijection on 32-bit numbers: every cassette's id is its own.
      id: ((Math.imul(i + 1, 0x9e3779b1) ^ SEED) >>> 0).toString(16).padStart(8, '0'),
      kind: 'request',
      recorded_at: new Date(now - random.next() * DAYS * DAY_MS).toISOString(),
      service: 'shop-api',
      env: 'production',
      framework: 'express',
      node: process.version,
      timetracer: TIMETRACER_VERSION,
      entry: 'server.js',
    },
    request: {
      method: endpoint.method,
      path: built.path,
      route: endpoint.route,
      query: built.query ?? {},
      headers: {
        host: 'shop.example.com',
        'user-agent': random.pick(['Mozilla/5.0 (X11; Linux x86_64)', 'shop-ios/5.2.1', 'curl/8.5.0']),
        accept: 'application/json',
        authorization: '[REDACTED]',
        ...(requestBody && { 'content-type': 'application/json', 'content-length': String(requestBody.size_bytes) }),
      },
      body: requestBody,
    },
    response: {
      status: built.status,
      duration_ms: duration,
      headers: built.response === null ? {} : jsonHeaders(responseText),
      body: responseBody,
      ...(built.error && { error: built.error }),
    },
    events: calls.events,
    stats: { event_counts: eventCounts, total_ms: duration },
  };
}

const store = new FileStore(path.resolve(options.dir), options.gzip);
const now = Date.now();
const started = performance.now();
let next = 0;
async function writer() {
  while (next < COUNT) store.writeSync(store.encode(serialiseCassette(cassette(next++, now))));
}
await Promise.all(Array.from({ length: Math.min(CONCURRENT_WRITES, COUNT) }, writer));
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`wrote ${COUNT} cassettes to ${options.dir} in ${seconds.toFixed(1)} s (${Math.round(COUNT / seconds)}/s)\n`);
