// An ESM app whose routes call an upstream through the global fetch: GET, POST with JSON, a
// redirect, concurrent calls, gzip, HEAD, and the failures (refused, timed out, aborted mid-body).
// Each route answers with JSON describing what the app saw, so record and replay can be compared.
import http from 'node:http';

const UPSTREAM = process.env.UPSTREAM_URL;

function errorJson(error) {
  return {
    name: error.name,
    code: error.code,
    message: error.message,
    cause: error.cause && { name: error.cause.name, code: error.cause.code, message: error.cause.message },
  };
}

async function seen(response, read = (r) => r.json()) {
  return {
    status: response.status,
    url: response.url,
    redirected: response.redirected,
    length: response.headers.get('content-length'),
    body: await read(response),
  };
}

const routes = {
  '/get': (url) => fetch(`${UPSTREAM}/items/${url.searchParams.get('id')}`).then((r) => seen(r)),
  '/post': (url) =>
    fetch(`${UPSTREAM}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world', id: url.searchParams.get('id') }),
    }).then((r) => seen(r)),
  '/redirect': (url) => fetch(`${UPSTREAM}/redirect/${url.searchParams.get('id')}`).then((r) => seen(r)),
  // The upstream answers `first` only once told, and the app tells it after `second` has come
  // back: the calls complete in another order than they start. The two identical `/counter`
  // calls get different answers.
  '/all': async () => {
    const calls = ['/order/first', '/order/second', '/items/all', '/counter', '/counter'].map((p) =>
      fetch(`${UPSTREAM}${p}`).then((r) => seen(r)),
    );
    await calls[1];
    await fetch(`${UPSTREAM}/order/release`).then((r) => r.text());
    return Promise.all(calls);
  },
  '/gzip': () => fetch(`${UPSTREAM}/gzip`).then(async (r) => ({ ...(await seen(r)), contentEncoding: r.headers.get('content-encoding') })),
  '/head': () => fetch(`${UPSTREAM}/items/head`, { method: 'HEAD' }).then((r) => seen(r, (res) => res.text())),
  '/refused': () =>
    fetch(process.env.REFUSED_URL).then(
      (r) => seen(r),
      (error) => ({ error: errorJson(error) }),
    ),
  '/timeout': async (url) => {
    const ms = Number(url.searchParams.get('ms'));
    const started = Date.now();
    return fetch(`${UPSTREAM}/hang`, { signal: AbortSignal.timeout(ms) }).then(
      (r) => seen(r),
      (error) => ({ error: errorJson(error), waitedEnough: Date.now() - started >= ms }),
    );
  },
  // Reads the first chunk of a body that never ends, then gives up on it.
  '/abort': async () => {
    const controller = new AbortController();
    const response = await fetch(`${UPSTREAM}/partial`, { signal: controller.signal });
    const reader = response.body.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const error = await reader.read().then(
      () => null,
      (e) => errorJson(e),
    );
    return { status: response.status, first, error };
  },
  '/miss': (url) =>
    fetch(`${UPSTREAM}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: Number(url.searchParams.get('n')) }),
    }).then(
      (r) => seen(r),
      (error) => ({ error: errorJson(error) }),
    ),
};

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://app');
  const route = routes[url.pathname];
  if (!route) {
    res.statusCode = 404;
    return res.end('not found');
  }
  try {
    const result = await route(url);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(result));
  } catch (error) {
    res.statusCode = 500;
    res.end(JSON.stringify(errorJson(error)));
  }
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
