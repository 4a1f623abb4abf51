// The app every start method runs: each request reads PostgreSQL (pg, hooked as a package) and an
// upstream (fetch, hooked as a builtin), so a start method that misses either hook shows.
const http = require('node:http');
const pg = require('pg');

/** Serves GET /hello/<name>; `greeting` is what the app read at boot. */
function serve({ greeting = 'hello', port = Number(process.env.PORT ?? 0) } = {}) {
  const pool = database();
  const server = http.createServer(async (req, res) => {
    try {
      const name = decodeURIComponent(req.url.split('/')[2] ?? 'nobody');
      const { rows } = await pool.query('SELECT upper($1::text) AS shout', [name]);
      const upstream = await (await fetch(`${process.env.UPSTREAM_URL}/users/${name}`)).json();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ greeting, shout: rows[0].shout, upstream, worker: process.pid }));
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error?.message ?? error));
    }
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(`listening ${server.address().port}`);
    // pm2 (wait_ready) takes a worker as started once it says so.
    process.send?.('ready');
  });
  return server;
}

function database() {
  return new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
}

module.exports = { serve, database };
