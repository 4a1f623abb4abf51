// An Express app on PostgreSQL (pg) and an upstream (fetch), which the bundled-app test bundles
// with esbuild as a deployment would: libraries inside the bundle, or left in node_modules.
import express from 'express';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
// A query as the app loads (not awaited: a CommonJS bundle has no top-level await), whose
// connection opens before the agent has read the bundle.
if (process.env.QUERY_AT_START) pool.query('SELECT 1').catch((error) => console.error(error));

const app = express();
app.get('/users/:id', async (req, res) => {
  const { rows } = await pool.query('SELECT id, name FROM users WHERE id = $1', [Number(req.params.id)]);
  const profile = await fetch(`${process.env.UPSTREAM_URL}/profiles/${req.params.id}`);
  res.json({ user: rows[0], profile: await profile.json() });
});

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
