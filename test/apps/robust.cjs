// A CommonJS node:http app used to check that the agent never breaks the app it is loaded into.
const http = require('node:http');

const UPSTREAM = process.env.UPSTREAM_URL;

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req, res, url) {
  try {
    if (url.pathname === '/health') {
      res.end('ok');
    } else if (url.pathname === '/data') {
      const upstream = await fetch(`${UPSTREAM}/data?id=${url.searchParams.get('id') ?? '1'}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: 'upstream', value: await upstream.json() }));
    } else if (url.pathname === '/login') {
      const credentials = JSON.parse(await readBody(req));
      const upstream = await fetch(`${UPSTREAM}/session?token=${url.searchParams.get('token')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials.password}` },
        body: JSON.stringify({ user: credentials.user, password: credentials.password }),
      });
      res.setHeader('set-cookie', 'session=abc123secret; HttpOnly');
      res.setHeader('content-type', 'application/json');
      res.end(await upstream.text());
    } else if (url.pathname === '/status-only') {
      // Looks at the status and never reads the (large) body.
      const status = await new Promise((resolve, reject) => {
        http.get(`${UPSTREAM}/big`, (upstream) => resolve(upstream.statusCode)).on('error', reject);
      });
      const viaFetch = await fetch(`${UPSTREAM}/big`);
      res.end(`http ${status}, fetch ${viaFetch.status} ${viaFetch.headers.get('content-type')}`);
    } else if (url.pathname === '/busy') {
      // Holds the event loop, as a CPU-heavy handler does.
      const until = performance.now() + Number(url.searchParams.get('ms') ?? 100);
      while (performance.now() < until);
      res.end('done');
    } else if (url.pathname === '/huge') {
      // A body of `mb` MiB that gzip takes seconds over.
      res.end(
        require('node:crypto')
          .randomBytes(Number(url.searchParams.get('mb')) * 768 * 1024)
          .toString('base64'),
      );
    } else if (url.pathname === '/fail') {
      res.statusCode = 503;
      res.end('unavailable');
    } else if (url.pathname === '/async-crash') {
      // A crash after a dependency call, outside any try/catch: the process dies as it would without the agent.
      fetch(`${UPSTREAM}/data?id=crash`).then(() => {
        throw new Error('crash after an upstream call');
      });
    } else if (url.pathname === '/hostile-crash') {
      // A crash with a value that throws when looked at: the process dies as it would without the agent.
      fetch(`${UPSTREAM}/data?id=hostile`).then(() => {
        throw hostileValue(url.searchParams.get('kind'));
      });
    } else {
      res.statusCode = 404;
      res.end();
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(`app error: ${error.message}${error.cause ? ` (${error.cause.code})` : ''}`);
  }
}

/** An error whose every field throws when read, or a revoked proxy (even `instanceof` throws on it). */
function hostileValue(kind) {
  if (kind === 'proxy') {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  }
  const error = new Error('hostile');
  for (const key of ['message', 'name', 'code', 'detail']) {
    Object.defineProperty(error, key, {
      enumerable: true,
      get() {
        throw new Error(`reading ${key}`);
      },
    });
  }
  return error;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  // Thrown straight out of the 'request' event: the process dies as it would without the agent.
  if (url.pathname === '/sync-crash') throw new Error('sync crash in handler');
  void handle(req, res, url);
});

// ON_SIGTERM=exit-3: the app shuts down on its own terms, closing its server, then exiting with 3.
if (process.env.ON_SIGTERM === 'exit-3') {
  process.on('SIGTERM', () => {
    console.log('stopping');
    server.close(() => process.exit(3));
  });
}

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
