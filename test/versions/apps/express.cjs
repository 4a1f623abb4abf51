// Express (4, or 5 routing with the router package): a route calling the upstream, and one whose
// handler throws, answered by the app's error handler.
const express = require('express');
const { fetchJson, listening } = require('./probe.cjs');

const app = express();
app.get('/user/:name', (req, res, next) => {
  fetchJson(`/users/${req.params.name}`).then((user) => res.json(user), next);
});
app.get('/crash', () => {
  throw new Error('express handler failed');
});
app.use((error, _req, res, _next) => res.status(500).json({ error: error.message }));

const server = app.listen(0, '127.0.0.1', () => listening(server));
