// The app of bench/run.js's scenario (c): GET /report answers a JSON body of about 256 KB, the
// rows of a report under its owner, who comes from an HTTP API (one small fetch, so the request
// has a dependency call). The rows are made once at start-up: what is measured is carrying a
// large body, not making it.
//
//   UPSTREAM_URL  the API: examples/github-proxy/upstream.js (GET /users/octocat)
// Prints `listening <port>` once it listens on a free port.
import http from 'node:http';

const UPSTREAM_URL = process.env.UPSTREAM_URL;
const BODY_BYTES = 256 * 1024;

/** JSON rows, as many as fit in BODY_BYTES with room left for the owner around them. */
function reportRows() {
  const rows = [];
  let bytes = 2;
  for (let id = 1; ; id++) {
    const row = JSON.stringify({
      id,
      sku: `SKU-${String(id).padStart(6, '0')}`,
      name: `product ${id}`,
      price: ((id * 37) % 10_000) / 100,
      stock: (id * 7919) % 500,
    });
    if (bytes + row.length + 1 > BODY_BYTES - 200) return `[${rows.join(',')}]`;
    rows.push(row);
    bytes += row.length + 1;
  }
}

const ROWS = reportRows();

const server = http.createServer(async (req, res) => {
  if (req.url !== '/report') {
    res.writeHead(404, { 'content-type': 'application/json' });
    return res.end('{"error":"Not Found"}');
  }
  try {
    const owner = await (await fetch(`${UPSTREAM_URL}/users/octocat`)).json();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"owner":${JSON.stringify({ login: owner.login, name: owner.name })},"rows":${ROWS}}`);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: error.message }));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
