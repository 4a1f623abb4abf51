// An app that carries secrets everywhere a request can: POST /canary takes them in its headers,
// cookies, query and JSON body, passes them on to an upstream (headers, body), PostgreSQL
// (parameters, a hashed one, rows read back, a unique violation quoting the value) and Redis
// (commands in upper and lower case, values under secret-named keys), and answers with some in
// its own cookies and body. POST /form and POST /multipart take them as form fields. The
// redaction canary test plants a distinct secret in each place and greps every byte written.
import http from 'node:http';
import Redis from 'ioredis';
import pg from 'pg';

const { UPSTREAM_URL, DATABASE_URL, REDIS_URL, KEY_PREFIX } = process.env;
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const redis = new Redis(REDIS_URL, { keyPrefix: `${KEY_PREFIX}:`, maxRetriesPerRequest: 1 });

async function canary(s) {
  const upstream = await fetch(`${UPSTREAM_URL}/session`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${s.outboundToken}`,
      'x-api-key': s.outboundApiKey,
      'x-trace': s.outboundJwt,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ grant: 'password', password: s.upstreamPassword }),
  });
  const session = await upstream.json();

  await pool.query('INSERT INTO canary_users (email, password, api_token) VALUES ($1, md5($2), $3)', [s.email, s.sqlPassword, s.sqlToken]);
  const { rows } = await pool.query('SELECT password, api_token FROM canary_users WHERE email = $1', [s.email]);
  const duplicate = await pool
    .query('INSERT INTO canary_users (email, password, api_token) VALUES ($1, $2, $3)', [`${s.email}.2`, 'x', s.sqlToken])
    .then(
      () => 'inserted',
      (error) => error.code,
    );

  await redis.call('HSET', 'user', 'password', s.redisUpperPassword);
  const upper = await redis.call('HGET', 'user', 'password');
  await redis.hset('user', 'session_token', s.redisLowerPassword);
  const lower = await redis.hget('user', 'session_token');
  await redis.set('user:api_key', s.redisKeyedSecret);
  const keyed = await redis.get('user:api_key');
  const auth = await redis.call('AUTH', s.redisAuthPassword).then(
    () => 'ok',
    (error) => error.message.split(' ')[0],
  );

  return {
    upstream: Object.keys(session).sort(),
    rows: rows.length,
    duplicate,
    redis: [upper === s.redisUpperPassword, lower === s.redisLowerPassword, keyed === s.redisKeyedSecret, auth],
  };
}

const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const url = new URL(req.url, 'http://app');
  res.setHeader('content-type', 'application/json');
  try {
    if (url.pathname === '/canary') {
      const secrets = JSON.parse(body);
      const summary = await canary(secrets);
      res.setHeader('set-cookie', `sid=${secrets.responseCookieToken}; Path=/; HttpOnly`);
      res.end(JSON.stringify({ ...summary, refresh_token: secrets.responseToken, query: url.searchParams.size }));
    } else if (url.pathname === '/form' || url.pathname === '/multipart') {
      res.end(JSON.stringify({ received: body.length }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message }));
  }
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
