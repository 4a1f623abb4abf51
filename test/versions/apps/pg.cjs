// pg: a parameterised query through a Pool (pg-pool), and one the server fails, on the
// PostgreSQL at DATABASE_URL.
const { Pool } = require('pg');
const { serve } = require('./probe.cjs');

const pool = new Pool({ connectionString: process.env.DATABASE_URL });

serve({
  'GET /sum': async () => (await pool.query('SELECT $1::int + $2::int AS sum', [40, 2])).rows[0],
  'GET /ratio': async () => (await pool.query('SELECT 1 / $1::int AS ratio', [0])).rows[0],
});
