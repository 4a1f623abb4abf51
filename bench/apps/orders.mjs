// The app of bench/run.js's scenario (b): GET /orders/<id> reads the order and its item from
// PostgreSQL (two queries through a pg Pool), its customer from an HTTP API (one fetch) and
// three things from Redis (ioredis), and answers with them together. It only reads, so every
// request can be recorded once and replayed any number of times.
//
//   DATABASE_URL  the database, with the tables bench/run.js creates (orders, items)
//   UPSTREAM_URL  the customer API: examples/github-proxy/upstream.js (GET /users/<login>)
//   REDIS_URL     Redis (keys it reads may be missing: an order with no status yet reads null)
// Prints `listening <port>` once it listens on a free port.
import http from 'node:http';
import Redis from 'ioredis';
import pg from 'pg';

const UPSTREAM_URL = process.env.UPSTREAM_URL;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 });

async function order(id) {
  const {
    rows: [found],
  } = await pool.query('SELECT id, customer, item_id, quantity FROM orders WHERE id = $1', [id]);
  if (!found) return { status: 404, body: { error: 'no such order' } };
  const {
    rows: [item],
  } = await pool.query('SELECT id, name, price FROM items WHERE id = $1', [found.item_id]);
  const customer = await (await fetch(`${UPSTREAM_URL}/users/${found.customer}`)).json();
  const [status, views, flags] = await Promise.all([
    redis.get(`order:${id}:status`),
    redis.pfcount(`order:${id}:views`),
    redis.smembers(`customer:${found.customer}:flags`),
  ]);
  return {
    status: 200,
    body: { id: found.id, quantity: found.quantity, item, customer: { login: customer.login, name: customer.name }, status, views, flags },
  };
}

const server = http.createServer(async (req, res) => {
  const match = /^\/orders\/(\d+)$/.exec(req.url);
  let answer;
  try {
    answer = match ? await order(Number(match[1])) : { status: 404, body: { error: 'Not Found' } };
  } catch (error) {
    answer = { status: 500, body: { error: error.message } };
  }
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer.body));
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
