// An Express app on ioredis, for whichever ioredis major the caller hands it (see ioredis5/ and
// ioredis6.cjs): strings, hashes, pipelines, multi, Lua, blocking commands, scanStream, errors
// and a cache in front of an HTTP API. REDIS_PORT, KEY_PREFIX (each test its own) and API_URL
// come from the environment.
const { once } = require('node:events');
const express = require('express');

module.exports = function start(Redis) {
  const options = {
    host: '127.0.0.1',
    port: Number(process.env.REDIS_PORT),
    keyPrefix: process.env.KEY_PREFIX,
    connectionName: 'timetracer-test',
    maxRetriesPerRequest: 1,
  };
  const redis = new Redis(options);
  // Connects on its first command, from inside a request.
  const lazy = new Redis({ ...options, lazyConnect: true });
  const prefix = process.env.KEY_PREFIX;

  redis.defineCommand('sumKeys', {
    numberOfKeys: 2,
    lua: "return tonumber(redis.call('get', KEYS[1]) or 0) + tonumber(redis.call('get', KEYS[2]) or 0) + tonumber(ARGV[1])",
  });

  const app = express();
  app.use(express.json());

  /** The JS type of a value, so the response shows replay hands back the same types. */
  const typed = (value) => ({
    value: Buffer.isBuffer(value) ? value.toString('base64') : value,
    type: value === null ? 'null' : Buffer.isBuffer(value) ? 'Buffer' : Array.isArray(value) ? 'Array' : typeof value,
  });
  const errorJson = (error) =>
    error && { class: error.constructor.name, name: error.name, message: error.message, command: error.command?.name };

  app.get('/strings', async (req, res) => {
    await redis.set('greeting', 'hello', 'EX', 60);
    const counter = await redis.incrby('counter', 5);
    res.json({
      greeting: typed(await redis.get('greeting')),
      buffer: typed(await redis.getBuffer('greeting')),
      missing: typed(await redis.get('nothing-here')),
      counter: typed(counter),
      ttl: (await redis.ttl('greeting')) > 0,
      exists: await redis.exists('greeting', 'nothing-here'),
    });
  });

  app.post('/users/:id', async (req, res) => {
    const key = `user:${req.params.id}`;
    await redis.hset(key, { name: req.body.name, password: req.body.password, visits: 0 });
    await redis.hincrby(key, 'visits', 1);
    const user = await redis.hgetall(key);
    res.json({
      fields: Object.keys(user).sort(),
      name: user.name,
      visits: user.visits,
      password: (await redis.hget(key, 'password')) === req.body.password ? 'stored' : 'other',
    });
  });

  app.get('/pipeline', async (req, res) => {
    const results = await redis
      .pipeline()
      .set('p:a', '1')
      .incr('p:a')
      .get('p:a')
      .lpush('p:list', 'x', 'y')
      .lrange('p:list', 0, -1)
      .hget('nothing', 'x')
      .exec();
    res.json(results.map(([error, value]) => [errorJson(error), value]));
  });

  app.get('/multi', async (req, res) => {
    await redis.set('m:text', 'not a number');
    const results = await redis.multi().incr('m:n').incr('m:text').sadd('m:set', 'a', 'b').smembers('m:set').exec();
    res.json(results.map(([error, value]) => [errorJson(error), Array.isArray(value) ? value.sort() : value]));
  });

  app.get('/lua', async (req, res) => {
    await redis.mset('lua:a', '2', 'lua:b', '3');
    const sum = await redis.sumKeys('lua:a', 'lua:b', 10);
    const direct = await redis.eval("return {KEYS[1], ARGV[1], redis.call('get', KEYS[1])}", 1, 'lua:a', 'arg');
    res.json({ sum, direct });
  });

  app.get('/error', async (req, res) => {
    await redis.set('plain', 'text');
    try {
      await redis.hget('plain', 'field');
      res.json({ error: null });
    } catch (error) {
      res.status(500).json({ error: errorJson(error) });
    }
  });

  app.get('/blocking', async (req, res) => {
    await redis.rpush('queue', 'job-1');
    const popped = await redis.blpop('queue', 1);
    const timedOut = await redis.blpop('empty-queue', 0.05);
    res.json({ popped, timedOut });
  });

  app.get('/scan', async (req, res) => {
    await redis.mset(...Array.from({ length: 30 }, (_, i) => [`scan:${i}`, String(i)]).flat());
    const keys = [];
    for await (const batch of redis.scanStream({ match: `${prefix}scan:*`, count: 10 })) keys.push(...batch);
    res.json({ count: keys.length, first: keys.sort()[0] });
  });

  app.get('/call', async (req, res) => {
    const sent = await redis.call('set', 'call:k', 'v');
    const got = await redis.call('get', 'call:k');
    const lazyPing = await lazy.ping();
    res.json({ sent, got, lazyPing, lazyStatus: lazy.status });
  });

  // Cache-aside in front of an HTTP API: the first request fills the cache, the next reads it.
  app.get('/profile/:name', async (req, res) => {
    const key = `profile:${req.params.name}`;
    const cached = await redis.get(key);
    if (cached) return res.json({ source: 'cache', profile: JSON.parse(cached) });
    const profile = await (await fetch(`${process.env.API_URL}/profiles/${req.params.name}`)).json();
    await redis.set(key, JSON.stringify(profile), 'EX', 300);
    res.json({ source: 'api', profile });
  });

  // A subscriber connection made in the request, on a channel and a pattern, a message published
  // to both, then the connection dropped.
  app.get('/pubsub', async (req, res) => {
    const channel = `${prefix}news`;
    const sub = redis.duplicate();
    const subscribed = await sub.subscribe(channel);
    const psubscribed = await sub.psubscribe(`${prefix}ne*`);
    const received = once(sub, 'message');
    const patternReceived = once(sub, 'pmessage');
    const receivers = await redis.publish(channel, 'hello subscribers');
    const [[from, message], [pattern, patternFrom, patternMessage]] = await Promise.all([received, patternReceived]);
    const ended = once(sub, 'end');
    sub.disconnect();
    await ended;
    res.json({
      subscribed,
      psubscribed,
      receivers,
      message: { from, message },
      pmessage: { pattern, from: patternFrom, message: patternMessage },
      status: sub.status,
    });
  });

  // With the offline queue off, a command before the client is ready is refused without being sent.
  app.get('/offline-queue-off', async (req, res) => {
    const client = new Redis({ ...options, enableOfflineQueue: false });
    const early = await client.get('early').catch((error) => error.message);
    await once(client, 'ready');
    const later = await client.get('greeting');
    await client.quit();
    res.json({ early, later });
  });

  // What it sends differs from run to run: replay cannot find it.
  app.get('/visit', async (req, res) => {
    // A value made anew on every run that determinism leaves live: a monotonic clock. Not the
    // digits alone, which are now and then a Luhn-valid number that redaction hides as a card's.
    res.json({ stored: await redis.set('last-visit', `at ${process.hrtime.bigint()}`) });
  });

  app.post('/shutdown', async (req, res) => {
    res.json({ quit: await redis.quit(), status: redis.status });
  });

  const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  redis.on('ready', () => console.log('redis ready'));
};
