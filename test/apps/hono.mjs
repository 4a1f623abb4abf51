// Hono on @hono/node-server as an ES module app: `import` loads Hono's ES build. Calls its
// upstream through global fetch.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { viaFetch } from './framework-upstream.cjs';

const app = new Hono();
app.get('/user/:name', async (c) => c.json(await viaFetch('GET', `/users/${c.req.param('name')}`)));
app.get('/crash', () => {
  throw new Error('hono handler threw');
});

serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
