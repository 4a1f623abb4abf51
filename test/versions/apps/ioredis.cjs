// ioredis: a key set (expiring by itself) and read back, on the Redis at REDIS_URL.
const Redis = require('ioredis');
const { serve } = require('./probe.cjs');

const redis = new Redis(process.env.REDIS_URL);
const key = `${process.env.KEY_PREFIX}:greeting`;

serve({
  'GET /greeting': async () => {
    await redis.set(key, 'hello', 'EX', 60);
    return { value: await redis.get(key) };
  },
});
