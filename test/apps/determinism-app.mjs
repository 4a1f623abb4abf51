// A sign-up service that makes up what services make up: ids (uuid, nanoid, crypto.randomUUID),
// timestamps, a JWT, password hashes (bcryptjs in JavaScript; bcrypt, whose native code is handed
// its salt by JavaScript; @node-rs/bcrypt, whose native code draws its own), random numbers and
// bytes, and stores them in PostgreSQL, passing the id through a Redis queue on the way (a
// blocking pop: its client, ioredis, reads the clock for the pop's deadline, given the
// blockingTimeout option). POST /login checks a password against the stored hash, read back under
// a column named as a secret. EXTRA_READS=n reads the clock n more times at the end of each sign-up.
import http from 'node:http';
import crypto from 'node:crypto';
import { hash as rustBcryptHash } from '@node-rs/bcrypt';
import bcrypt from 'bcrypt';
import bcryptjs from 'bcryptjs';
import Redis from 'ioredis';
import jwt from 'jsonwebtoken';
import { nanoid } from 'nanoid';
import pg from 'pg';
import { v4 as uuidv4 } from 'uuid';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const redis = new Redis(process.env.REDIS_URL, { keyPrefix: `${process.env.KEY_PREFIX}:`, blockingTimeout: 5000, maxRetriesPerRequest: 1 });
const extraReads = Number(process.env.EXTRA_READS ?? 0);

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || '{}');
}

async function signUp({ email, password }) {
  const id = uuidv4();
  const startedAt = Date.now();
  await redis.rpush('signups', id);
  const [, queued] = await redis.blpop('signups', 1);
  const account = {
    id: queued,
    short_id: nanoid(),
    email,
    js_hash: bcryptjs.hashSync(password, 4),
    native_hash: await bcrypt.hash(password, 4),
    rust_hash: await rustBcryptHash(password, 4),
    signed_claims: jwt.sign({ sub: id }, 'not-a-secret', { expiresIn: '1h' }),
    created_at: new Date(),
    lucky: Math.random(),
    web_id: globalThis.crypto.randomUUID(),
    nonce: crypto.randomBytes(8).toString('hex'),
    waited_ms: Date.now() - startedAt,
  };
  const { rows } = await pool.query(
    `INSERT INTO accounts (id, short_id, email, js_hash, native_hash, rust_hash, signed_claims, created_at, lucky, web_id, nonce)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [
      account.id,
      account.short_id,
      account.email,
      account.js_hash,
      account.native_hash,
      account.rust_hash,
      account.signed_claims,
      account.created_at,
      account.lucky,
      account.web_id,
      account.nonce,
    ],
  );
  for (let i = 0; i < extraReads; i++) Date.now();
  return { ...rows[0], claims: jwt.decode(account.signed_claims), waited_ms: account.waited_ms };
}

/** Checks a password against the stored hash, read back under a column named as a secret (redacted in cassettes). */
async function logIn({ email, password }) {
  const { rows } = await pool.query('SELECT native_hash AS password FROM accounts WHERE email = $1', [email]);
  return { ok: rows.length === 1 && (await bcrypt.compare(password, rows[0].password)) };
}

const server = http.createServer(async (req, res) => {
  res.setHeader('content-type', 'application/json');
  try {
    if (req.method === 'POST' && req.url === '/signup') return res.end(JSON.stringify(await signUp(await readJson(req))));
    if (req.method === 'POST' && req.url === '/login') return res.end(JSON.stringify(await logIn(await readJson(req))));
    if (req.url === '/accounts')
      return res.end(JSON.stringify((await pool.query('SELECT id, email, created_at FROM accounts ORDER BY created_at')).rows));
    res.statusCode = 404;
    res.end('{}');
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify({ error: error.message, code: error.code }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
