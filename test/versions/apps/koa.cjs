// Koa with @koa/router: a route calling the upstream, and one whose middleware rejects.
const Koa = require('koa');
const Router = require('@koa/router');
const { fetchJson, listening } = require('./probe.cjs');

const router = new Router();
router.get('/user/:name', async (ctx) => {
  ctx.body = await fetchJson(`/users/${ctx.params.name}`);
});
router.get('/crash', async () => {
  throw new Error('koa handler failed');
});

const app = new Koa();
app.silent = true;
app.use(router.routes());
const server = app.listen(0, '127.0.0.1', () => listening(server));
