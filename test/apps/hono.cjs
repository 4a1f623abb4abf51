// Hono on @hono/node-server, as a CommonJS app, calling its upstream through node:http.
const { serve } = require('@hono/node-server');
const { Hono } = require('hono');
const { viaHttp } = require('./framework-upstream.cjs');
const { honoApp } = require('./hono-routes.cjs');

const app = honoApp(Hono, viaHttp, 'hono handler rejected');
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
