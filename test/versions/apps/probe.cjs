// What the probe apps share: the upstream they call and the line the runner waits for. Copied
// next to each app into the folder holding the library version under test.
const http = require('node:http');

/** The upstream's JSON answer for `path`, through the global fetch. */
exports.fetchJson = async function fetchJson(path) {
  const response = await fetch(`${process.env.UPSTREAM_URL}${path}`);
  return response.json();
};

/** The upstream's URL for `path`. */
exports.upstreamUrl = (path) => `${process.env.UPSTREAM_URL}${path}`;

/** Says on stdout that `server` listens, and on which port. */
exports.listening = function listening(server) {
  console.log(`listening ${server.address().port}`);
};

/**
 * A node:http server for the probes of client libraries: `routes` maps `METHOD /path` to an
 * async function of the request's JSON body, whose value is the JSON answer; an error is a 500
 * naming it.
 */
exports.serve = function serve(routes) {
  const server = http.createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const route = routes[`${req.method} ${req.url}`];
    res.setHeader('content-type', 'application/json');
    try {
      if (!route) throw Object.assign(new Error(`no route ${req.method} ${req.url}`), { status: 404 });
      res.end(JSON.stringify(await route(text ? JSON.parse(text) : undefined)));
    } catch (error) {
      res.statusCode = error.status ?? 500;
      res.end(JSON.stringify({ error: error.message, code: error.code }));
    }
  });
  server.listen(0, '127.0.0.1', () => exports.listening(server));
};
