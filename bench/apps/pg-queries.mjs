// The app bench/pg-query-cost.js measures: one route, GET /run?id=<request id>&n=<queries>, that
// runs n queries in sequence through a pg Pool and answers with a checksum of every row it got.
// Every parameter depends only on the request id and the query's index, so a request can be
// recorded and later replayed with the same queries.
//
// DATABASE_URL: the database. BENCH_ITEMS: how many rows the items table holds (ids 1..BENCH_ITEMS).
// BENCH_WITHOUT_PG=1: each query is answered with rows made here, as the database would send
// them, so the app's own per-query work can be timed with no pg and no database.
import http from 'node:http';
import { createHash } from 'node:crypto';
import pg from 'pg';

const ITEMS = Number(process.env.BENCH_ITEMS);
const RANGE = 20;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });

const QUERIES = [
  { sql: 'SELECT id, name, price, created_at FROM items WHERE id = $1', params: (ctx) => [ctx.item] },
  { sql: `SELECT id, name, price, created_at FROM items WHERE id >= $1 ORDER BY id LIMIT ${RANGE}`, params: (ctx) => [ctx.item] },
  {
    sql: 'INSERT INTO orders (request_id, seq, item_id, quantity) VALUES ($1, $2, $3, $4) RETURNING id, created_at',
    params: (ctx) => [ctx.requestId, ctx.index, ctx.item, (ctx.index % 5) + 1],
  },
];

/** The i-th query of a request: which statement, and an item id spread over the table. */
function queryOf(requestId, index, seed) {
  const query = QUERIES[index % QUERIES.length];
  const item = ((seed + index * 7919) % (ITEMS - RANGE)) + 1;
  return { sql: query.sql, params: query.params({ requestId, index, item }) };
}

/** An items row as the bench seeds it (see bench/pg-query-cost.js), typed as pg hands it over. */
function itemRow(id) {
  return { id, name: `item ${id}`, price: ((id * 37) / 100).toFixed(2), created_at: new Date(Date.UTC(2024, 0, 1) + id * 3_600_000) };
}

/** BENCH_WITHOUT_PG: what the database would answer, made in the app. */
async function rowsWithoutPg(sql, params) {
  if (sql.startsWith('INSERT')) return [{ id: params[1], created_at: new Date(Date.UTC(2025, 0, 1)) }];
  if (sql.includes('LIMIT')) return Array.from({ length: RANGE }, (_, k) => itemRow(params[0] + k));
  return [itemRow(params[0])];
}

const run = process.env.BENCH_WITHOUT_PG === '1' ? rowsWithoutPg : async (sql, params) => (await pool.query(sql, params)).rows;

function seedOf(requestId) {
  return createHash('sha256').update(requestId).digest().readUInt32BE(0);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://app');
  const requestId = url.searchParams.get('id');
  const n = Number(url.searchParams.get('n'));
  if (url.pathname !== '/run' || !requestId || !Number.isInteger(n) || n < 1) {
    res.statusCode = 404;
    return res.end();
  }
  try {
    const seed = seedOf(requestId);
    const checksum = createHash('sha256');
    for (let index = 0; index < n; index++) {
      const { sql, params } = queryOf(requestId, index, seed);
      checksum.update(JSON.stringify(await run(sql, params)));
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ queries: n, checksum: checksum.digest('hex') }));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message, code: error.code }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
