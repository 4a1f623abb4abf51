// Hono on @hono/node-server as an ES module app, as most Hono apps are: `import` loads Hono's ES
// build. The same routes as ../hono.cjs, calling the upstream through global fetch.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { viaFetch } from '../framework-upstream.cjs';
import { honoApp } from '../hono-routes.cjs';

const app = honoApp(Hono, viaFetch, 'hono ES module handler rejected');
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`listening ${info.port}`));
