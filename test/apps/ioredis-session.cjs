// express-session with connect-redis 7 storing sessions through ioredis: a real library on top.
// Session ids are derived from the user name (genid) so that a replayed login writes the same
// key: a random id would be a new argument on every run (see the README on values made up anew).
const { createHash } = require('node:crypto');
const express = require('express');
const session = require('express-session');
const RedisStore = require('connect-redis').default;
const Redis = require('ioredis');

const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: 1 });
const app = express();
app.use(express.json());
app.use(
  session({
    store: new RedisStore({ client: redis, prefix: `${process.env.KEY_PREFIX}sess:` }),
    secret: 'test secret',
    resave: false,
    saveUninitialized: false,
    genid: (req) => createHash('sha256').update(String(req.body?.user)).digest('hex').slice(0, 24),
  }),
);

app.post('/login', (req, res) => {
  req.session.user = req.body.user;
  res.json({ user: req.session.user });
});

app.get('/me', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ user: req.session.user ?? null, views: req.session.views });
});

const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
