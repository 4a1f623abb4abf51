// One request through each transport and client that timetracer replays: node:http, the global
// fetch, the undici package (6, from its workspace, as it runs on every Node line), pg and
// ioredis. UPSTREAM_URL, DATABASE_URL and REDIS_URL say where the dependencies are.
import http from 'node:http';
import { createRequire } from 'node:module';
import pg from 'pg';
import Redis from 'ioredis';

const undici = createRequire(new URL('./undici6/package.json', import.meta.url))('undici');
const agent = new undici.Agent();
const { UPSTREAM_URL, KEY_PREFIX } = process.env;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
redis.on('error', () => {});

function viaHttp(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve(JSON.parse(text)));
      })
      .on('error', reject);
  });
}

const routes = {
  '/all': async () => ({
    http: await viaHttp(`${UPSTREAM_URL}/http`),
    fetch: await (await fetch(`${UPSTREAM_URL}/fetch`)).json(),
    undici: await (await undici.request(`${UPSTREAM_URL}/undici`, { dispatcher: agent })).body.json(),
    pg: (await pool.query('SELECT $1::int + 1 AS n', [41])).rows[0].n,
    redis: await redis.incr(`${KEY_PREFIX}:counter`),
  }),
  '/fetch': async () => (await fetch(`${UPSTREAM_URL}/fetch`)).json(),
};

const server = http.createServer(async (req, res) => {
  res.setHeader('content-type', 'application/json');
  try {
    res.end(JSON.stringify(await routes[req.url]()));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message, code: error.cause?.code ?? error.code }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
