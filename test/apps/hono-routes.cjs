// The routes of the Hono test apps, for the CommonJS and the ES build alike (the app passes its
// own `Hono`): user routes in a sub-app mounted twice, another sub-app answering its own errors
// with onError. `call(method, path, body)` reaches the upstream.
function honoApp(Hono, call, crashMessage) {
  const users = new Hono();
  users.get('/user/:name', async (c) => c.json(await call('GET', `/users/${c.req.param('name')}`)));

  const reports = new Hono();
  reports.get('/crash', () => {
    throw new Error('hono sub-app handler crashed');
  });
  reports.onError((_err, c) => c.json({ failed: true }, 500));

  const app = new Hono();
  app.route('/', users);
  app.route('/v1', users);
  app.route('/reports', reports);
  app.post('/items', async (c) => c.json(await call('POST', '/items', await c.req.json()), 201));
  app.get('/crash', async () => {
    throw new Error(crashMessage);
  });
  return app;
}

module.exports = { honoApp };
