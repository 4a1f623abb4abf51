// A CommonJS app whose routes call an upstream through node:http and node:https in every way an
// app does: request and get, the global agent and a keep-alive agent, chunked request bodies,
// streamed and gzip responses, HEAD/204/304, and the failures (refused, timed out).
// Each route answers with JSON describing what the app saw, so record and replay can be compared.
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const zlib = require('node:zlib');

const UPSTREAM = process.env.UPSTREAM_URL;
const TLS_UPSTREAM = process.env.TLS_UPSTREAM_URL;
const TLS_CA = process.env.TLS_CA_FILE && fs.readFileSync(process.env.TLS_CA_FILE);
const REFUSED = process.env.REFUSED_URL;

/** Shared by every inbound request: its sockets are reused across them. */
const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function errorJson(error) {
  return { name: error.name, code: error.code, message: error.message };
}

/** Reads a response as a stream, the way most apps do. */
function readAll(stream, done) {
  const chunks = [];
  stream.on('data', (chunk) => chunks.push(chunk));
  stream.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
}

function seen(res, body) {
  return { status: res.statusCode, body, length: res.headers['content-length'], encoding: res.headers['transfer-encoding'] };
}

/** Sequential calls, each started from the previous one's 'end' callback: the callback style that leaks context when sockets are pooled. */
function sequentialGets(urls, agent, done, results = []) {
  if (results.length === urls.length) return done(results);
  http
    .get(urls[results.length], { agent }, (res) => {
      readAll(res, (body) => {
        results.push(seen(res, JSON.parse(body)));
        sequentialGets(urls, agent, done, results);
      });
    })
    .on('error', (error) => done([...results, { error: errorJson(error) }]));
}

const routes = {
  '/global/request': (url, reply) => {
    const req = http.request(`${UPSTREAM}/items/${url.searchParams.get('id')}`, { method: 'GET' }, (res) =>
      readAll(res, (body) => reply(seen(res, JSON.parse(body)))),
    );
    req.on('error', (error) => reply({ error: errorJson(error) }));
    req.end();
  },
  '/global/get': (url, reply) => {
    // The options form: host, port and path given apart.
    const { hostname, port } = new URL(UPSTREAM);
    http
      .get({ hostname, port, path: `/items/${url.searchParams.get('id')}` }, (res) =>
        readAll(res, (body) => reply(seen(res, JSON.parse(body)))),
      )
      .on('error', (error) => reply({ error: errorJson(error) }));
  },
  '/keepalive': (url, reply) => {
    const id = url.searchParams.get('id');
    const urls = [1, 2, 3].map((n) => `${UPSTREAM}/items/${id}-${n}`);
    sequentialGets(urls, keepAliveAgent, reply);
  },
  '/chunked-upload': (url, reply) => {
    const req = http.request(`${UPSTREAM}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) =>
      readAll(res, (body) => reply(seen(res, JSON.parse(body)))),
    );
    req.on('error', (error) => reply({ error: errorJson(error) }));
    for (const part of ['{"parts":[', '1,', '2,', '3]}']) req.write(part);
    req.end();
  },
  '/stream': (url, reply) => {
    http
      .get(`${UPSTREAM}/stream`, (res) => readAll(res, (body) => reply(seen(res, body))))
      .on('error', (error) => reply({ error: errorJson(error) }));
  },
  '/gzip': (url, reply) => {
    http
      .get(`${UPSTREAM}/gzip`, (res) => {
        readAll(res.pipe(zlib.createGunzip()), (body) =>
          reply({ ...seen(res, JSON.parse(body)), contentEncoding: res.headers['content-encoding'] }),
        );
      })
      .on('error', (error) => reply({ error: errorJson(error) }));
  },
  '/https': (url, reply) => {
    https
      .get(`${TLS_UPSTREAM}/items/${url.searchParams.get('id')}`, { ca: TLS_CA }, (res) =>
        readAll(res, (body) => reply(seen(res, JSON.parse(body)))),
      )
      .on('error', (error) => reply({ error: errorJson(error) }));
  },
  '/statuses': (url, reply) => {
    const results = [];
    const next = (calls) => {
      if (!calls.length) return reply(results);
      const [method, path] = calls[0];
      const req = http.request(`${UPSTREAM}${path}`, { method }, (res) =>
        readAll(res, (body) => {
          results.push({ method, path, status: res.statusCode, body, etag: res.headers.etag, length: res.headers['content-length'] });
          next(calls.slice(1));
        }),
      );
      req.on('error', (error) => reply({ error: errorJson(error) }));
      req.end();
    };
    next([
      ['HEAD', '/items/head'],
      ['DELETE', '/status/204'],
      ['GET', '/status/304'],
    ]);
  },
  '/refused': (url, reply) => {
    http.get(REFUSED, (res) => reply(seen(res, null))).on('error', (error) => reply({ error: errorJson(error) }));
  },
  // Times out through req.setTimeout(), the `timeout` option (`?via=option`) or the agent's (`?via=agent`).
  '/timeout': (url, reply) => {
    const ms = Number(url.searchParams.get('ms'));
    const started = Date.now();
    const via = url.searchParams.get('via');
    const options = via === 'option' ? { timeout: ms } : via === 'agent' ? { agent: new http.Agent({ timeout: ms }) } : {};
    const req = http.get(`${UPSTREAM}/hang`, options, (res) => reply(seen(res, null)));
    if (via) req.on('timeout', () => req.destroy());
    else req.setTimeout(ms, () => req.destroy());
    req.on('error', (error) => reply({ error: errorJson(error), waitedEnough: Date.now() - started >= ms }));
  },
  // Reads the first chunk of a body that never ends, then gives up on it through `req` or `res`.
  '/abort': (url, reply) => {
    const req = http.get(`${UPSTREAM}/partial`, (res) => {
      const seenEvents = [];
      res.once('data', (chunk) => {
        seenEvents.push(`data ${chunk}`);
        if (url.searchParams.get('by') === 'res') res.destroy();
        else req.destroy();
      });
      res.on('aborted', () => seenEvents.push('aborted'));
      res.on('error', (error) => seenEvents.push(`error ${error.code}`));
      res.on('close', () => reply({ status: res.statusCode, events: seenEvents }));
    });
    req.on('error', (error) => reply({ error: errorJson(error) }));
  },
  '/miss': (url, reply) => {
    const req = http.request(`${UPSTREAM}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) =>
      readAll(res, (body) => reply(seen(res, JSON.parse(body)))),
    );
    req.on('error', (error) => reply({ error: errorJson(error) }));
    req.end(JSON.stringify({ n: Number(url.searchParams.get('n')) }));
  },
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  const route = routes[url.pathname];
  if (!route) {
    res.statusCode = 404;
    return res.end('not found');
  }
  route(url, (result) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(result));
  });
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
