// Hono on @hono/node-server, as a CommonJS app, calling its upstream through node:http. The user
// routes live in a sub-app mounted twice; another sub-app answers its own errors with onError.
const { serve } = require('@hono/node-server');
const { Hono } = require('hono');
const { viaHttp } = require('./framework-upstream.cjs');

const users = new Hono();
users.get('/user/:name', async (c) => c.json(await viaHttp('GET', `/users/${c.req.param('name')}`)));

const reports = new Hono();
reports.get('/crash', () => {
  throw new Error('hono sub-app handler crashed');
});
reports.onError((_err, c) => c.json({ failed: true }, 500));

const app = new Hono();
app.route('/', users);
app.route('/v1', users);
app.route('/reports', reports);
app.post('/items', async (c) => c.json(await viaHttp('POST', '/items', await c.req.json()), 201));
app.get('/crash', async () => {
  throw new Error('hono handler rejected');
});

serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
