// A CommonJS app whose requests share a one-connection pool: queries queue behind each other's.
const http = require('node:http');
const { Pool } = require('pg');

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 });

const server = http.createServer((req, res) => {
  const id = new URL(req.url, 'http://app').searchParams.get('id');
  // Callback style on purpose: the callbacks run where the pool hands the client over.
  pool.query('SELECT $1::text AS first', [`first-${id}`], (error, first) => {
    if (error) {
      res.statusCode = 500;
      return res.end(`${error.code} ${error.message}`);
    }
    pool.query('SELECT $1::text AS second', [`second-${id}`], (error2, second) => {
      if (error2) {
        res.statusCode = 500;
        return res.end(`${error2.code} ${error2.message}`);
      }
      res.end(JSON.stringify([first.rows[0].first, second.rows[0].second]));
    });
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
