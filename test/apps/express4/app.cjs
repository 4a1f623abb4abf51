// Express 4 (installed in this workspace's own node_modules), CommonJS, calling its upstream
// through node:http. The user routes also live under a mounted router, for mount-path templates.
const express = require('express');
const { viaHttp } = require('../framework-upstream.cjs');

const users = express.Router();
users.get('/user/:name', (req, res, next) => {
  viaHttp('GET', `/users/${req.params.name}`).then((user) => res.json(user), next);
});

const app = express();
app.use(users);
app.use('/v1', users);
app.post('/items', express.json(), (req, res, next) => {
  viaHttp('POST', '/items', req.body).then((item) => res.status(201).json(item), next);
});
app.get('/crash', () => {
  throw new Error('express 4 handler crashed');
});

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
