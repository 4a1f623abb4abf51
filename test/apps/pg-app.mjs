// An ESM app on pg: pool and client queries in every form pg offers, against DATABASE_URL.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });

/** The JS type of every value, to show replay hands back the same types. */
function typed(row) {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      {
        value: v,
        type: v === null ? 'null' : Buffer.isBuffer(v) ? 'Buffer' : v instanceof Date ? 'Date' : Array.isArray(v) ? 'Array' : typeof v,
      },
    ]),
  );
}

function errorJson(error) {
  return {
    class: error.constructor.name,
    code: error.code,
    detail: error.detail,
    constraint: error.constraint,
    table: error.table,
    severity: error.severity,
    message: error.message,
  };
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || '{}');
}

const routes = {
  'GET /users/1': async () => {
    const result = await pool.query('SELECT * FROM users WHERE id = $1', [1]);
    return {
      rows: result.rows.map(typed),
      rowCount: result.rowCount,
      command: result.command,
      fields: result.fields.map((f) => [f.name, f.dataTypeID]),
    };
  },
  'POST /users': async (req) => {
    const body = await readJson(req);
    const result = await pool.query(
      'INSERT INTO users (name, email, created_at, balance, avatar, tags, profile) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at, avatar, profile',
      [body.name, body.email, new Date(body.createdAt), body.balance, Buffer.from(body.avatar, 'hex'), body.tags, body.profile],
    );
    return result.rows.map(typed);
  },
  'GET /callback': () =>
    new Promise((resolve, reject) => {
      pool.connect((connectError, client, release) => {
        if (connectError) return reject(connectError);
        client.query('SELECT name FROM users WHERE id = $1', [2], (error, result) => {
          release();
          if (error) reject(error);
          else resolve({ name: result.rows[0].name });
        });
      });
    }),
  'POST /transfer': async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE users SET balance = balance - $1 WHERE id = $2', ['10.25', 1]);
      await client.query('UPDATE users SET balance = balance + $1 WHERE id = $2', ['10.25', 2]);
      const { rows } = await client.query('SELECT id, balance FROM users ORDER BY id');
      await client.query('COMMIT');
      return rows;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  },
  'GET /prepared': async () => {
    const byName = { name: 'user-by-id', text: 'SELECT name FROM users WHERE id = $1' };
    const first = await pool.query({ ...byName, values: [1] });
    const second = await pool.query({ ...byName, values: [2] });
    return [first.rows[0].name, second.rows[0].name];
  },
  'GET /cursor': async () => {
    const client = await pool.connect();
    try {
      const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 7) AS g'));
      const batches = [];
      for (let rows = await cursor.read(3); rows.length; rows = await cursor.read(3)) batches.push(rows.map((r) => r.g));
      await cursor.close();
      return batches;
    } finally {
      client.release();
    }
  },
  'GET /stream': async () => {
    const client = await pool.connect();
    try {
      const rows = [];
      for await (const row of client.query(
        new QueryStream('SELECT g, g * 2 AS double FROM generate_series(1, 5) AS g', [], { batchSize: 2 }),
      ))
        rows.push(row);
      return rows;
    } finally {
      client.release();
    }
  },
  'GET /duplicate': async () => {
    try {
      await pool.query('INSERT INTO users (name, email, created_at, balance) VALUES ($1, $2, now(), 0)', ['Ann again', 'ann@example.com']);
      return { inserted: true };
    } catch (error) {
      return { error: errorJson(error) };
    }
  },
  'GET /array-mode': async () => {
    const result = await pool.query({ text: 'SELECT id, name FROM users ORDER BY id', rowMode: 'array' });
    return result.rows;
  },
  'GET /custom-types': async () => {
    // A per-query type parser: numeric as a JS number (pg's default is a string).
    const types = {
      getTypeParser: (oid, format) => (oid === 1700 ? (value) => Number.parseFloat(value) : pg.types.getTypeParser(oid, format)),
    };
    const result = await pool.query({ text: 'SELECT balance FROM users WHERE id = $1', values: [1], types });
    return typed(result.rows[0]);
  },
  'GET /own-client': async () => {
    // A client of its own, connected and ended within the request.
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query('SELECT $1::int + 1 AS two', [1]);
    await client.end();
    return { rows, ended: true };
  },
  'GET /multi': async () => {
    const results = await pool.query('SELECT 1 AS one; SELECT 2 AS two');
    return results.map((r) => r.rows);
  },
  'POST /accounts': async () => {
    const { rows } = await pool.query('INSERT INTO accounts (email, password, api_key) VALUES ($1, $2, $3) RETURNING id', [
      'ann@example.com',
      'hunter2-pass',
      'key-123-secret',
    ]);
    return rows;
  },
  'GET /accounts/check': async () => {
    const { rows } = await pool.query('SELECT id FROM accounts WHERE email = $1 AND password = $2', ['ann@example.com', 'hunter2-pass']);
    return { valid: rows.length === 1 };
  },
  'GET /accounts/keys': async () => (await pool.query('SELECT email, api_key FROM accounts')).rows,
  'GET /random-param': async () => {
    try {
      const result = await pool.query('SELECT $1::text AS request_id', [randomUUID()]);
      return result.rows;
    } catch (error) {
      return { error: { code: error.code, message: error.message } };
    }
  },
};

// A query at start-up, outside any request: recorded in the process cassette, served from it on replay.
try {
  await pool.query('SELECT count(*) FROM users');
  console.log('startup query: ok');
} catch (error) {
  console.log(`startup query: failed ${error.code ?? ''} ${error.message}`);
}

const server = http.createServer(async (req, res) => {
  const route = routes[`${req.method} ${req.url}`];
  if (!route) {
    res.statusCode = 404;
    return res.end();
  }
  try {
    const body = await route(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify(errorJson(error)));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
