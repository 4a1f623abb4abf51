// An ES module app with top-level await: it reads its greeting from PostgreSQL before it listens.
import { database, serve } from './greeter.cjs';

const pool = database();
const { rows } = await pool.query("SELECT 'hello from ' || current_database() AS greeting");
await pool.end();
serve({ greeting: rows[0].greeting });
