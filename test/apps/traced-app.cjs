// An Express app on PostgreSQL, calling an upstream through node:http and through fetch: the
// libraries both timetracer and an observability agent (OpenTelemetry, dd-trace) wrap.
const http = require('node:http');
const express = require('express');
const pg = require('pg');

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
const app = express();

function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve(JSON.parse(text)));
      })
      .on('error', reject);
  });
}

app.get('/users/:name', async (req, res) => {
  const { rows } = await pool.query('SELECT upper($1::text) AS shout', [req.params.name]);
  const profile = await getJson(`${process.env.UPSTREAM_URL}/profiles/${req.params.name}`);
  const repos = await (await fetch(`${process.env.UPSTREAM_URL}/repos/${req.params.name}`)).json();
  res.json({ shout: rows[0].shout, profile, repos });
});

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
