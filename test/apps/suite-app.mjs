// An app whose code changes between a recording and its replay, the way a regression suite sees
// code change: VARIANT=changed-response doubles a price, VARIANT=skip-call stops making one of two
// calls, VARIANT=extra-call makes one call more. NOISY=1 adds to each price how long it took on a
// monotonic clock, which differs on every run. UPSTREAM_URL is its API; PORT where it listens.
import http from 'node:http';

const { UPSTREAM_URL, VARIANT } = process.env;
const get = async (path) => (await fetch(`${UPSTREAM_URL}${path}`)).json();

const routes = {
  '/price': async () => {
    const started = process.hrtime.bigint();
    const item = await get('/items/1');
    const answer = { id: item.id, price: VARIANT === 'changed-response' ? item.price * 2 : item.price };
    return process.env.NOISY ? { ...answer, took_ns: Number(process.hrtime.bigint() - started) } : answer;
  },
  '/summary': async () => {
    const first = await get('/items/1');
    const second = VARIANT === 'skip-call' ? { price: 0 } : await get('/items/2');
    return { total: first.price + second.price };
  },
  '/profile': async () => {
    const user = await get('/users/1');
    if (VARIANT === 'extra-call') user.avatar = (await get('/users/1/avatar')).url;
    return { name: user.name };
  },
};

const server = http.createServer(async (req, res) => {
  const route = routes[req.url];
  res.setHeader('content-type', 'application/json');
  if (!route) {
    res.statusCode = 404;
    return res.end('{}');
  }
  try {
    res.end(JSON.stringify(await route()));
  } catch (error) {
    res.statusCode = 502;
    res.end(JSON.stringify({ error: error.message }));
  }
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
