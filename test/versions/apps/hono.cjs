// Hono (its CommonJS build) on @hono/node-server: a route calling the upstream, and one whose
// handler throws.
const { serve } = require('@hono/node-server');
const { Hono } = require('hono');
const { fetchJson } = require('./probe.cjs');

const app = new Hono();
app.get('/user/:name', async (c) => c.json(await fetchJson(`/users/${c.req.param('name')}`)));
app.get('/crash', () => {
  throw new Error('hono handler failed');
});

serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
