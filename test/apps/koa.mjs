// Koa 2 with @koa/router, as an ES module app, calling its upstream through global fetch.
import Router from '@koa/router';
import Koa from 'koa';
import { viaFetch } from './framework-upstream.cjs';

/** A tiny JSON body reader, as apps without a body-parser package write. */
async function jsonBody(ctx, next) {
  if (ctx.is('application/json')) {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    ctx.request.body = JSON.parse(text);
  }
  await next();
}

const router = new Router();
router.get('/user/:name', async (ctx) => {
  ctx.body = await viaFetch('GET', `/users/${ctx.params.name}`);
});
router.post('/items', jsonBody, async (ctx) => {
  ctx.status = 201;
  ctx.body = await viaFetch('POST', '/items', ctx.request.body);
});
router.get('/crash', async () => {
  throw new Error('koa middleware rejected');
});

const app = new Koa();
app.use(router.routes());
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
