// Hono on @hono/node-server as an ES module app, as most Hono apps are: `import` loads Hono's ES
// build. The same routes as ../hono.cjs (a sub-app mounted twice, another answering its own errors
// with onError), calling the upstream through global fetch.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { viaFetch } from '../framework-upstream.cjs';

const users = new Hono();
users.get('/user/:name', async (c) => c.json(await viaFetch('GET', `/users/${c.req.param('name')}`)));

const reports = new Hono();
reports.get('/crash', () => {
  throw new Error('hono sub-app handler crashed');
});
reports.onError((_err, c) => c.json({ failed: true }, 500));

const app = new Hono();
app.route('/', users);
app.route('/v1', users);
app.route('/reports', reports);
app.post('/items', async (c) => c.json(await viaFetch('POST', '/items', await c.req.json()), 201));
app.get('/crash', async () => {
  throw new Error('hono ES module handler rejected');
});

serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
