// Express 5, ESM, calling its upstream through global fetch; async handlers whose rejections
// Express 5 routes to its error handler. The user routes also live under a mounted router.
import express from 'express';
import { viaFetch } from './framework-upstream.cjs';

const users = express.Router();
users.get('/user/:name', async (req, res) => {
  res.json(await viaFetch('GET', `/users/${req.params.name}`));
});

const app = express();
app.use(users);
app.use('/v1', users);
app.post('/items', express.json(), async (req, res) => {
  res.status(201).json(await viaFetch('POST', '/items', req.body));
});
app.get('/crash', async () => {
  throw new Error('express 5 handler rejected');
});

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
