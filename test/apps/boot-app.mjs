// An app that needs its databases before it serves: at start-up it checks its schema and loads its
// settings from PostgreSQL and its feature flags from Redis; then a timer beats every HEARTBEAT_MS
// (a count from PostgreSQL, an INCR in Redis). Its requests insert rows carrying `new Date()` and
// `randomUUID()`, and read them back. DATABASE_URL, REDIS_URL and KEY_PREFIX say where things are.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import Redis from 'ioredis';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const redis = new Redis(process.env.REDIS_URL, { keyPrefix: `${process.env.KEY_PREFIX}:`, maxRetriesPerRequest: 1 });

const schema = await pool.query(`SELECT to_regclass('public.events') IS NOT NULL AS ready`);
if (!schema.rows[0].ready) throw new Error('the events table is missing: run the migrations first');
const settings = Object.fromEntries(
  (await pool.query('SELECT key, value FROM settings ORDER BY key')).rows.map((row) => [row.key, row.value]),
);
const flags = JSON.parse((await redis.get('flags')) ?? '{}');

let beats = 0;
setInterval(
  async () => {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM events');
    const total = await redis.incr('heartbeats');
    console.log(`heartbeat ${++beats} events=${rows[0].n} total=${total}`);
  },
  Number(process.env.HEARTBEAT_MS ?? 1000),
).unref();

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || '{}');
}

const routes = {
  'GET /settings': async () => ({ settings, flags }),
  'POST /events': async (req) => {
    const { name } = await readJson(req);
    const { rows } = await pool.query('INSERT INTO events (id, name, created_at) VALUES ($1, $2, $3) RETURNING id, name, created_at', [
      randomUUID(),
      name,
      new Date(),
    ]);
    await redis.lpush('recent', rows[0].id);
    return rows[0];
  },
  'GET /events': async () => (await pool.query('SELECT id, name, created_at FROM events ORDER BY created_at, name')).rows,
};

const server = http.createServer(async (req, res) => {
  const route = routes[`${req.method} ${req.url}`];
  res.setHeader('content-type', 'application/json');
  if (!route) {
    res.statusCode = 404;
    return res.end('{}');
  }
  try {
    res.end(JSON.stringify(await route(req)));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message, code: error.code }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
